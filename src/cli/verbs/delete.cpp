// cryo delete: remove a stopped container's resources; --force kills a running one first.
#include "cli/options.h"

namespace cryo::cli {

namespace {

constexpr FlagSpec k_flags[] = {
    { .name = "force", .alias = "f", .help = "forcibly deletes the container if it is still running (uses SIGKILL)" },
};

Result<int> run_delete(Invocation const& invocation)
{
    auto options = TRY(delete_options(invocation));
    TRY(runtime::remove(invocation.context, options));
    return 0;
}

} // namespace

Result<runtime::DeleteOptions> delete_options(Invocation const& invocation)
{
    TRY(require_args(invocation, ArgCount::Exact, 1));
    return runtime::DeleteOptions {
        .id = TRY(container_id(invocation)),
        .force = invocation.args.flag("force"),
    };
}

extern constinit VerbSpec const verb_delete {
    .name = "delete",
    .summary = "delete any resources held by the container often used with detached container",
    .usage = "[command options] <container-id>",
    .flags = k_flags,
    .run = run_delete,
};

} // namespace cryo::cli
