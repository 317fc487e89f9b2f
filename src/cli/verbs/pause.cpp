// cryo pause: pause suspends all processes inside the container (cgroup freezer).
#include "cli/options.h"

namespace cryo::cli {

namespace {

Result<int> run_pause(Invocation const& invocation)
{
    TRY(require_args(invocation, ArgCount::Exact, 1));
    auto id = TRY(container_id(invocation));
    TRY(runtime::pause(invocation.context, id));
    return 0;
}

} // namespace

extern constinit VerbSpec const verb_pause {
    .name = "pause",
    .summary = "pause suspends all processes inside the container",
    .usage = "<container-id>",
    .flags = {},
    .run = run_pause,
};

} // namespace cryo::cli
