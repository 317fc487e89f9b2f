// cryo enter: an interactive shell (or the command given) inside a running container, on a
// new pty that cryo relays to this terminal: `exec --tty` without a console socket, with
// /bin/sh as the default command and our $TERM passed in so full-screen programs work.
#include <cstdlib>

#include "cli/options.h"
#include "cli/values.h"

namespace cryo::cli {

namespace {

constexpr FlagSpec k_flags[] = {
    { .name = "user", .alias = "u", .kind = FlagKind::Value, .help = "UID (format: <uid>[:<gid>])" },
    { .name = "env", .alias = "e", .kind = FlagKind::List, .help = "set environment variables" },
    { .name = "cwd", .alias = "w", .kind = FlagKind::Value, .help = "current working directory in the container" },
};

Result<int> run_enter(Invocation const& invocation)
{
    TRY(require_args(invocation, ArgCount::Min, 1));
    auto const& args = invocation.args;
    auto const& positionals = args.positionals();
    std::vector<std::string> command(positionals.begin() + 1, positionals.end());
    if (!command.empty() && command.front() == "--")
        command.erase(command.begin());
    if (command.empty())
        command = { "/bin/sh" };
    std::vector<std::string> env;
    if (char const* term = std::getenv("TERM"); term && *term)
        env.push_back(std::string("TERM=") + term);
    for (auto const& e : args.values("env"))
        env.push_back(e);
    runtime::ExecOptions options {
        .id = TRY(container_id(invocation)),
        .process_json = {},
        .args = std::move(command),
        .env = std::move(env),
        .cwd = args.value_or("cwd", ""),
        .user = args.value("user"),
        .additional_gids = {},
        .caps = {},
        .tty = true,
        .console_socket = {},
        .pid_file = {},
        .detach = false,
        .no_new_privs = false,
        .preserve_fds = 0,
        .apparmor = {},
        .process_label = {},
        .cgroup = {},
    };
    return runtime::exec(invocation.context, options);
}

} // namespace

extern constinit VerbSpec const verb_enter {
    .name = "enter",
    .summary = "enter opens an interactive shell (or runs a command) inside a running container on a pty",
    .usage = "[command options] <container-id> [command [args...]]",
    .description = "Runs /bin/sh (or the command given) in the container's namespaces and cgroup on a new\n"
                   "   pseudo-terminal relayed to this one (as `exec --tty`), and exits with its status.",
    .flags = k_flags,
    .order = ArgOrder::FlagsFirst,
    .run = run_enter,
};

} // namespace cryo::cli
