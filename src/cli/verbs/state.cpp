// cryo state: print the OCI state of one container as JSON.
#include "cli/options.h"

namespace cryo::cli {

namespace {

Result<int> run_state(Invocation const& invocation)
{
    TRY(require_args(invocation, ArgCount::Exact, 1));
    auto id = TRY(container_id(invocation));
    auto json = TRY(runtime::state_json(invocation.context, id));
    if (json.empty() || json.back() != '\n')
        json += '\n';
    print_out(json);
    return 0;
}

} // namespace

extern constinit VerbSpec const verb_state {
    .name = "state",
    .summary = "output the state of a container",
    .usage = "<container-id>",
    .flags = {},
    .run = run_state,
};

} // namespace cryo::cli
