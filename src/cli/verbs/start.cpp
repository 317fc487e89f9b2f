// cryo start: the created container executes its user process.
#include "cli/options.h"

namespace cryo::cli {

namespace {

Result<int> run_start(Invocation const& invocation)
{
    TRY(require_args(invocation, ArgCount::Exact, 1));
    auto id = TRY(container_id(invocation));
    TRY(runtime::start(invocation.context, id));
    return 0;
}

} // namespace

extern constinit VerbSpec const verb_start {
    .name = "start",
    .summary = "executes the user defined process in a created container",
    .usage = "<container-id>",
    .flags = {},
    .run = run_start,
};

} // namespace cryo::cli
