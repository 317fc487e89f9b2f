// cryo exec: run another process in a running container: `exec [options] ID [COMMAND ARGS...]`
// or `exec --process process.json ID`. Flags end at the id (Go flag order), so the command's
// own flags (`sh -c ...`) are left alone.
#include "cli/options.h"
#include "cli/values.h"

namespace cryo::cli {

namespace {

constexpr FlagSpec k_flags[] = {
    { .name = "console-socket",
      .kind = FlagKind::Value,
      .help = "path to an AF_UNIX socket which will receive the master end of the console's pseudoterminal" },
    { .name = "cwd", .kind = FlagKind::Value, .help = "current working directory in the container" },
    { .name = "env", .alias = "e", .kind = FlagKind::List, .help = "set environment variables" },
    { .name = "tty", .alias = "t", .help = "allocate a pseudo-TTY" },
    { .name = "user", .alias = "u", .kind = FlagKind::Value, .help = "UID (format: <uid>[:<gid>])" },
    { .name = "additional-gids", .alias = "g", .kind = FlagKind::List, .help = "additional gids" },
    { .name = "process", .alias = "p", .kind = FlagKind::Value, .help = "path to the process.json" },
    { .name = "detach", .alias = "d", .help = "detach from the container's process" },
    { .name = "pid-file", .kind = FlagKind::Value, .help = "specify the file to write the process id to" },
    { .name = "process-label", .kind = FlagKind::Value, .help = "set the asm process label for the process" },
    { .name = "apparmor", .kind = FlagKind::Value, .help = "set the apparmor profile for the process" },
    { .name = "no-new-privs", .help = "set the no new privileges value for the process" },
    { .name = "cap",
      .alias = "c",
      .kind = FlagKind::List,
      .help = "add a capability to the bounding set for the process" },
    { .name = "preserve-fds",
      .kind = FlagKind::Value,
      .help = "pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)",
      .fallback = "0" },
    { .name = "cgroup",
      .kind = FlagKind::List,
      .help = "run the process in an (existing) sub-cgroup(s); format is [<controller>:]<cgroup>" },
    { .name = "ignore-paused", .help = "allow exec in a paused container" },
};

Result<int> run_exec(Invocation const& invocation)
{
    TRY(require_args(invocation, ArgCount::Min, 1));
    auto options = TRY(exec_options(invocation));
    return runtime::exec(invocation.context, options);
}

} // namespace

Result<runtime::ExecOptions> exec_options(Invocation const& invocation)
{
    auto const& args = invocation.args;
    auto const& positionals = args.positionals();
    runtime::ExecOptions options {
        .id = TRY(container_id(invocation)),
        .process_json = {},
        .args = std::vector<std::string>(positionals.begin() + 1, positionals.end()),
        .env = args.values("env"),
        .cwd = args.value_or("cwd", ""),
        .user = args.value("user"),
        .additional_gids = args.values("additional-gids"),
        .caps = args.values("cap"),
        .tty = args.flag("tty"),
        .console_socket = args.value_or("console-socket", ""),
        .pid_file = args.value_or("pid-file", ""),
        .detach = args.flag("detach"),
        .no_new_privs = args.flag("no-new-privs"),
        .preserve_fds = 0,
        .apparmor = args.value_or("apparmor", ""),
        .process_label = args.value_or("process-label", ""),
        // runc takes --cgroup once per controller ("cpu:sub", "memory:sub") or once for all;
        // the runtime gets them comma-joined in the order given.
        .cgroup = {},
    };
    // `exec ID -- cmd -flags`: the "--" only separates; runc drops it too.
    if (!options.args.empty() && options.args.front() == "--")
        options.args.erase(options.args.begin());
    for (auto const& cgroup : args.values("cgroup"))
        options.cgroup += (options.cgroup.empty() ? "" : ",") + cgroup;
    if (auto fds = args.value("preserve-fds")) {
        auto count = TRY(parse_int(*fds).context("--preserve-fds"));
        if (count < 0 || count > 65536)
            return Error::format("--preserve-fds: {} is out of range", count);
        options.preserve_fds = static_cast<int>(count);
    }
    for (auto const& gid : options.additional_gids) {
        auto number = parse_uint(gid);
        if (number.is_error() || number.value() > 0xFFFFFFFFu)
            return Error::format("invalid additional-gids value \"{}\"", gid);
    }
    // The runtime reads the --process file itself (runtime/exec.cpp): pass its path.
    if (auto path = args.value("process")) {
        if (path->empty())
            return Error::make("--process: empty path");
        options.process_json = *path;
    } else if (options.args.empty()) {
        return Error::make("exec: args must not be empty (give a command or --process)");
    }
    return options;
}

extern constinit VerbSpec const verb_exec {
    .name = "exec",
    .summary = "execute new process inside the container",
    .usage = "[command options] <container-id> <command> [command options]  ||  -p process.json <container-id>",
    .description = "Runs a process in a running container, joining its namespaces and cgroup. Without\n"
                   "   --detach it waits and exits with the process's status.",
    .flags = k_flags,
    .order = ArgOrder::FlagsFirst,
    .run = run_exec,
};

} // namespace cryo::cli
