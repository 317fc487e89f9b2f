// cryo kill: send a signal (name or number; SIGTERM by default) to the container's init,
// or with --all to every process in its cgroup.
#include "cli/options.h"
#include "oci/names.h"

namespace cryo::cli {

namespace {

constexpr FlagSpec k_flags[] = {
    { .name = "all", .alias = "a", .help = "send the signal to all processes in the container" },
};

Result<int> run_kill(Invocation const& invocation)
{
    auto options = TRY(kill_options(invocation));
    TRY(runtime::kill(invocation.context, options));
    return 0;
}

} // namespace

Result<runtime::KillOptions> kill_options(Invocation const& invocation)
{
    TRY(require_args(invocation, ArgCount::Min, 1));
    TRY(require_args(invocation, ArgCount::Max, 2));
    auto const& positionals = invocation.args.positionals();
    runtime::KillOptions options {
        .id = TRY(container_id(invocation)),
        .signal = 15,
        .all = invocation.args.flag("all"),
    };
    if (positionals.size() == 2)
        options.signal = TRY(oci::parse_signal(positionals[1]));
    return options;
}

extern constinit VerbSpec const verb_kill {
    .name = "kill",
    .summary = "kill sends the specified signal (default: SIGTERM) to the container's init process",
    .usage = "[command options] <container-id> [signal]",
    .description = "The signal is a name (KILL, SIGKILL) or a number (9).",
    .flags = k_flags,
    .run = run_kill,
};

} // namespace cryo::cli
