// cryo run: create + start; without --detach, waits and exits with the process's status.
#include "cli/options.h"

namespace cryo::cli {

namespace {

constexpr FlagSpec k_flags[] = {
    { .name = "bundle",
      .alias = "b",
      .kind = FlagKind::Value,
      .help = "path to the root of the bundle directory, defaults to the current directory" },
    { .name = "console-socket",
      .kind = FlagKind::Value,
      .help = "path to an AF_UNIX socket which will receive the master end of the console's pseudoterminal" },
    { .name = "detach", .alias = "d", .help = "detach from the container's process" },
    { .name = "keep", .help = "do not delete the container after it exits" },
    { .name = "pid-file", .kind = FlagKind::Value, .help = "specify the file to write the process id to" },
    { .name = "no-subreaper", .help = "disable the use of the subreaper used to reap reparented processes" },
    { .name = "no-pivot", .help = "do not use pivot_root to jail the process inside rootfs" },
    { .name = "no-new-keyring", .help = "do not create a new session keyring for the container" },
    { .name = "preserve-fds",
      .kind = FlagKind::Value,
      .help = "pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)",
      .fallback = "0" },
    CRYO_EXTRA_CREATE_FLAGS,
};

Result<int> run_run(Invocation const& invocation)
{
    TRY(require_args(invocation, ArgCount::Exact, 1));
    auto options = TRY(create_options(invocation));
    TRY(require_systemd_if_requested(invocation.context));
    return runtime::run(invocation.context, options);
}

} // namespace

extern constinit VerbSpec const verb_run {
    .name = "run",
    .summary = "create and run a container",
    .usage = "[command options] <container-id>",
    .description = "Creates and starts a container from the bundle. Without --detach it waits for the\n"
                   "   container's process and exits with its status (128+N if killed by signal N).",
    .flags = k_flags,
    .run = run_run,
};

} // namespace cryo::cli
