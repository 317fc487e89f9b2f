// cryo features: the OCI runtime features document (what this build supports).
#include "oci/features.h"
#include "cli/options.h"

namespace cryo::cli {

namespace {

Result<int> run_features(Invocation const& invocation)
{
    TRY(require_args(invocation, ArgCount::Exact, 0));
    // Both cgroup backends are built in; the systemd driver is not (see --systemd-cgroup).
    oci::FeaturesInput input;
    input.cgroup_v1 = true;
    input.cgroup_v2 = true;
    input.cgroup_systemd = false;
    input.cgroup_systemd_user = false;
    input.seccomp_enabled = true;
    input.apparmor_enabled = false;
    input.selinux_enabled = false;
    auto json = oci::features_json(input);
    if (json.empty() || json.back() != '\n')
        json += '\n';
    print_out(json);
    return 0;
}

} // namespace

extern constinit VerbSpec const verb_features {
    .name = "features",
    .summary = "show the enabled features",
    .usage = "",
    .flags = {},
    .run = run_features,
};

} // namespace cryo::cli
