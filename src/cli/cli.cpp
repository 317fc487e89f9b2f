#include "cli/cli.h"

#include <vector>

namespace cryo::cli {

namespace {

constexpr FlagSpec k_global_flags[] = {
    { .name = "root", .kind = FlagKind::Value, .help = "root directory for container state" },
    { .name = "log", .kind = FlagKind::Value, .help = "log file" },
    { .name = "log-format", .kind = FlagKind::Value, .help = "text or json" },
    { .name = "debug", .kind = FlagKind::Bool, .help = "enable debug logging" },
    { .name = "systemd-cgroup", .kind = FlagKind::Bool, .help = "use systemd for cgroups" },
    // runc's globals that containerd or scripts may pass; cryo has no use for them.
    { .name = "criu", .kind = FlagKind::Value, .help = "ignored (runc compatibility)" },
    { .name = "rootless", .kind = FlagKind::Value, .help = "ignored (runc compatibility)" },
    { .name = "version", .alias = "v", .kind = FlagKind::Bool, .help = "print the version" },
};

Result<log::Format> parse_log_format(std::string_view text)
{
    if (text == "text")
        return log::Format::Text;
    if (text == "json")
        return log::Format::Json;
    return Error::format("unknown log-format \"{}\"", text);
}

} // namespace

Result<CommandLine> parse_command_line(std::span<std::string const> args, log::Config* log_config)
{
    CommandLine out;
    auto global = TRY(parse_global_args(k_global_flags, args));
    auto const& flags = global.args;

    if (auto root = flags.value("root")) {
        if (root->empty())
            return Error::make("--root cannot be empty");
        out.invocation.context.root = *root;
    }
    out.invocation.context.debug = flags.flag("debug");
    out.invocation.context.systemd_cgroup = flags.flag("systemd-cgroup");
    out.log.path = flags.value_or("log", "");
    out.log.min_level = out.invocation.context.debug ? log::Level::Debug : log::Level::Warning;
    auto format = parse_log_format(flags.value_or("log-format", "text"));
    if (format)
        out.log.format = format.value();
    if (log_config)
        *log_config = out.log;
    if (format.is_error())
        return format.release_error();

    if (flags.flag("version")) {
        out.action = CommandLine::Action::Version;
        return out;
    }
    auto rest = args.subspan(global.consumed);
    if (flags.help_requested() || rest.empty()) {
        out.action = CommandLine::Action::ProgramHelp;
        return out;
    }

    std::string_view verb_name = rest[0];
    bool help_verb = verb_name == "help" || verb_name == "h";
    if (help_verb) {
        if (rest.size() < 2) {
            out.action = CommandLine::Action::ProgramHelp;
            return out;
        }
        verb_name = rest[1];
    }
    VerbSpec const* verb = find_verb(verb_name);
    if (!verb)
        return Error::format("unknown command \"{}\" (see cryo --help)", verb_name);
    out.invocation.verb = verb;
    if (help_verb) {
        out.action = CommandLine::Action::VerbHelp;
        return out;
    }

    auto parsed = parse_args(verb->flags, rest.subspan(1), verb->order);
    if (parsed.is_error())
        return parsed.release_error().add_context(std::string(verb->name));
    out.invocation.args = parsed.release_value();
    if (out.invocation.args.help_requested())
        out.action = CommandLine::Action::VerbHelp;
    return out;
}

int cryo_main(int argc, char** argv)
{
    std::vector<std::string> args;
    args.reserve(argc > 0 ? static_cast<size_t>(argc - 1) : 0);
    for (int i = 1; i < argc; ++i)
        args.emplace_back(argv[i]);

    // Logging is configured as soon as the global flags are known, so that even a usage
    // error in the verb's flags reaches the --log file that containerd's shim and conmon read.
    log::Config log_config;
    auto parsed = parse_command_line(args, &log_config);
    log::configure(log_config);
    if (parsed.is_error()) {
        log::fatal_error(parsed.error().message());
        return 1;
    }
    auto& command = parsed.value();

    switch (command.action) {
    case CommandLine::Action::ProgramHelp:
        print_out(program_help());
        return 0;
    case CommandLine::Action::VerbHelp:
        print_out(verb_help(*command.invocation.verb));
        return 0;
    case CommandLine::Action::Version:
        print_out(version_text());
        return 0;
    case CommandLine::Action::Run:
        break;
    }

    auto status = command.invocation.verb->run(command.invocation);
    if (status.is_error()) {
        log::fatal_error(status.error().message());
        return 1;
    }
    return status.value();
}

} // namespace cryo::cli
