// cryo checkpoint [flags] ID: checkpoint a container with runc's flags (runtime::checkpoint).
// cryo checkpoint inspect DIR [--format json]: print an image for people or scripts.
// Flags runc has that cryo does not implement yet are refused by name, never ignored.
#include "checkpoint/inspect.h"
#include "cli/options.h"
#include "cli/values.h"

namespace cryo::cli {

namespace {

constexpr FlagSpec k_flags[] = {
    { .name = "image-path", .kind = FlagKind::Value, .help = "directory for the image (default: ./checkpoint)" },
    { .name = "work-path", .kind = FlagKind::Value, .help = "directory for dump.log" },
    { .name = "leave-running", .kind = FlagKind::Bool, .help = "let the container run on after the checkpoint" },
    { .name = "tcp-established",
      .kind = FlagKind::Bool,
      .help = "dump established TCP connections (TCP_REPAIR; refused without it)" },
    { .name = "ext-unix-sk",
      .kind = FlagKind::Bool,
      .help = "dump unix sockets connected to a named socket outside the container; restore reconnects them by name" },
    { .name = "shell-job",
      .kind = FlagKind::Bool,
      .help = "accepted: a container's stdio is always re-attached on restore" },
    { .name = "file-locks",
      .kind = FlagKind::Bool,
      .help = "checkpoint file locks (without it, a container holding one is refused)" },
    { .name = "pre-dump", .kind = FlagKind::Bool, .help = "memory pre-dump (not supported yet)" },
    { .name = "parent-path",
      .kind = FlagKind::Value,
      .help = "parent image of an incremental dump (not supported yet)" },
    { .name = "manage-cgroups-mode",
      .kind = FlagKind::Value,
      .help = "soft, full, strict or ignore",
      .fallback = "soft" },
    { .name = "empty-ns", .kind = FlagKind::Value, .help = "namespaces to leave empty (not supported yet)" },
    { .name = "auto-dedup", .kind = FlagKind::Bool, .help = "page deduplication (not supported yet)" },
    { .name = "lazy-pages", .kind = FlagKind::Bool, .help = "lazy migration (not supported yet)" },
    { .name = "page-server", .kind = FlagKind::Value, .help = "ADDRESS:PORT of a page server (not supported yet)" },
    { .name = "status-fd", .kind = FlagKind::Value, .help = "fd that gets a \\0 once the dump is done" },
    { .name = "format", .alias = "f", .kind = FlagKind::Value, .help = "inspect: text or json", .fallback = "text" },
};

Result<int> run_inspect(Invocation const& invocation)
{
    auto const& positionals = invocation.args.positionals();
    if (positionals.size() != 2)
        return Error::make("checkpoint inspect: exactly one image directory is required");
    auto format = invocation.args.value_or("format", "text");
    if (format != "text" && format != "json")
        return Error::format("invalid format option \"{}\" (text or json)", format);
    auto text = TRY(checkpoint::inspect_image(
        positionals[1], format == "json" ? checkpoint::InspectFormat::Json : checkpoint::InspectFormat::Text));
    print_out(text);
    return 0;
}

} // namespace

// Flags of checkpoint and restore that cryo does not implement: an error naming the first.
Result<void> refuse_unsupported(ParsedArgs const& args, std::string_view verb, std::span<std::string_view const> bools,
                                std::span<std::string_view const> values)
{
    for (auto name : bools)
        if (args.flag(name))
            return Error::format("{}: --{} is not supported yet", verb, name);
    for (auto name : values)
        if (args.value(name))
            return Error::format("{}: --{} is not supported yet", verb, name);
    return {};
}

namespace {

Result<int> run_checkpoint(Invocation const& invocation)
{
    auto const& args = invocation.args;
    auto const& positionals = args.positionals();
    if (!positionals.empty() && positionals[0] == "inspect")
        return run_inspect(invocation);
    auto id = TRY(container_id(invocation));
    constexpr std::string_view bools[] = { "pre-dump", "auto-dedup", "lazy-pages" };
    constexpr std::string_view values[] = { "parent-path", "empty-ns", "page-server" };
    TRY(refuse_unsupported(args, "checkpoint", bools, values));
    // Before the initializer: a TRY returning from inside it would skip destroying the
    // members already built (g++ 12 leaks them; LeakSanitizer found it).
    auto cgroups_mode = TRY(runtime::parse_cgroups_mode(args.value_or("manage-cgroups-mode", "soft")));
    runtime::CheckpointOptions options {
        .id = id,
        .image_path = args.value_or("image-path", ""),
        .work_path = args.value_or("work-path", ""),
        .leave_running = args.flag("leave-running"),
        .file_locks = args.flag("file-locks"),
        .tcp_established = args.flag("tcp-established"),
        .ext_unix_sk = args.flag("ext-unix-sk"),
        .cgroups_mode = cgroups_mode,
        .status_fd = -1,
    };
    if (auto fd = args.value("status-fd")) {
        auto n = TRY(parse_int(*fd).context("--status-fd"));
        if (n < 0 || n > 1 << 20)
            return Error::format("--status-fd: {} is out of range", n);
        options.status_fd = static_cast<int>(n);
    }
    TRY(runtime::checkpoint(invocation.context, options));
    return 0;
}

} // namespace

extern constinit VerbSpec const verb_checkpoint {
    .name = "checkpoint",
    .summary = "checkpoint a running container (or inspect an image: checkpoint inspect DIR)",
    .usage = "[--image-path DIR] [--work-path DIR] [--leave-running] <container-id> | inspect DIR [--format json]",
    .flags = k_flags,
    .run = run_checkpoint,
};

} // namespace cryo::cli
