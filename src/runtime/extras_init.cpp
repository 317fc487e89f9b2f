// --init and the run.cryo.init annotation: cryo-init runs as the container's pid 1. The
// binary is bind-mounted read-only from the host (nothing is copied into the rootfs) and
// prefixes process.args:
//   wrap mode   (--init, or run.cryo.init=wrap):   [INIT, "--", ARGS...]
//   system mode (run.cryo.init=system):            [INIT, "--system", "--services", FILE]
// where FILE is run.cryo.init.services or /etc/cryo-init/services; process.args is not run
// in system mode (the services are). See docs/cryo-init.md.
#include <climits>
#include <cstdlib>
#include <unistd.h>

#include "oci/spec.h"
#include "runtime/extras.h"
#include "sys/file.h"

namespace cryo::runtime {

namespace {

constexpr char k_mode_annotation[] = "run.cryo.init";
constexpr char k_services_annotation[] = "run.cryo.init.services";
constexpr char k_default_services[] = "/etc/cryo-init/services";

enum class InitMode { None, Wrap, System };

Result<InitMode> init_mode(Extras const& extras, oci::Spec const& spec)
{
    auto it = spec.annotations.find(k_mode_annotation);
    if (it == spec.annotations.end())
        return extras.init ? InitMode::Wrap : InitMode::None;
    if (it->second == "system")
        return InitMode::System;
    if (it->second == "wrap" || it->second == "true")
        return InitMode::Wrap;
    if (it->second == "false" || it->second.empty())
        return extras.init ? InitMode::Wrap : InitMode::None;
    return Error::format("annotation {}: {:?} is not one of system, wrap, true, false", k_mode_annotation, it->second);
}

// $CRYO_INIT, else cryo-init next to the cryo executable, else ../libexec/cryo/cryo-init
// (an installed layout).
Result<std::string> find_init_binary()
{
    if (char const* configured = std::getenv("CRYO_INIT"); configured && *configured) {
        if (::access(configured, X_OK) != 0)
            return Error::from_errno(fmt::format("cryo-init at {} ($CRYO_INIT)", configured));
        return std::string(configured);
    }
    char self[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return Error::from_errno("find cryo-init: readlink /proc/self/exe");
    std::string dir(self, static_cast<size_t>(n));
    dir.erase(dir.rfind('/'));
    std::string candidates[] = { dir + "/cryo-init", dir + "/../libexec/cryo/cryo-init" };
    for (auto const& candidate : candidates)
        if (::access(candidate.c_str(), X_OK) == 0)
            return candidate;
    return Error::format("cryo-init not found: looked for {} and {} (build the cryo-init target, or set $CRYO_INIT)",
                         candidates[0], candidates[1]);
}

// Where the binary appears inside: on the spec's /dev tmpfs when there is one (the mount
// point then lives in that tmpfs, so the rootfs is not written at all), else at the root.
std::string init_destination(oci::Spec const& spec)
{
    for (auto const& mount : spec.mounts)
        if (mount.destination == "/dev" && mount.type == "tmpfs")
            return "/dev/.cryo-init";
    return "/.cryo-init";
}

} // namespace

Result<void> init_amend_spec(Context const&, Extras const& extras, ExtrasRun const&, oci::Spec& spec)
{
    auto mode = TRY(init_mode(extras, spec));
    if (mode == InitMode::None)
        return {};
    if (!spec.process || (mode == InitMode::Wrap && spec.process->args.empty()))
        return Error::make("--init: config.json has no process.args to run under cryo-init");
    auto binary = TRY(find_init_binary());
    auto destination = init_destination(spec);
    // Read-only and nodev: the container can run the binary but not change it (and while
    // it runs as pid 1, writing it fails with ETXTBSY anyway).
    spec.mounts.push_back(oci::Mount {
        .destination = destination,
        .type = "bind",
        .source = binary,
        .options = { "bind", "ro", "nosuid", "nodev" },
    });
    auto& args = spec.process->args;
    if (mode == InitMode::System) {
        auto services = spec.annotations.find(k_services_annotation);
        std::string file = services == spec.annotations.end() ? k_default_services : services->second;
        if (file.empty() || file.front() != '/')
            return Error::format("annotation {}: {:?} is not an absolute path", k_services_annotation, file);
        args = { destination, "--system", "--services", file };
    } else {
        args.insert(args.begin(), { destination, "--" });
    }
    return {};
}

} // namespace cryo::runtime
