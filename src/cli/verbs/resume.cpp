// cryo resume: resumes all processes that have been previously paused (cgroup freezer).
#include "cli/options.h"

namespace cryo::cli {

namespace {

Result<int> run_resume(Invocation const& invocation)
{
    TRY(require_args(invocation, ArgCount::Exact, 1));
    auto id = TRY(container_id(invocation));
    TRY(runtime::resume(invocation.context, id));
    return 0;
}

} // namespace

extern constinit VerbSpec const verb_resume {
    .name = "resume",
    .summary = "resumes all processes that have been previously paused",
    .usage = "<container-id>",
    .flags = {},
    .run = run_resume,
};

} // namespace cryo::cli
