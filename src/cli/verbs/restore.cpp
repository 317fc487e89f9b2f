// cryo restore [flags] ID: restore a container from its checkpoint image with runc's flags
// (runtime::restore). cryo restore -D DIR (no id): re-create a process tree dumped by
// `cryo dump`, with its pids; without --detach cryo waits and exits with the root's status.
#include <span>

#include "base/log.h"
#include "checkpoint/restore.h"
#include "cli/options.h"
#include "cli/values.h"
#include "sys/file.h"

namespace cryo::cli {

Result<void> refuse_unsupported(ParsedArgs const& args, std::string_view verb, std::span<std::string_view const> bools,
                                std::span<std::string_view const> values);

namespace {

constexpr FlagSpec k_flags[] = {
    { .name = "images-dir",
      .alias = "D",
      .kind = FlagKind::Value,
      .help = "process tree: directory holding the image" },
    { .name = "bundle", .alias = "b", .kind = FlagKind::Value, .help = "container: bundle directory", .fallback = "." },
    { .name = "detach", .alias = "d", .kind = FlagKind::Bool, .help = "return once it runs again" },
    { .name = "pid-file", .kind = FlagKind::Value, .help = "write the (init's) pid to this file" },
    { .name = "console-socket", .kind = FlagKind::Value, .help = "container: unix socket that gets the pty master" },
    { .name = "no-subreaper", .kind = FlagKind::Bool, .help = "container: do not become a subreaper while waiting" },
    { .name = "no-pivot", .kind = FlagKind::Bool, .help = "container: no pivot_root (ramdisk roots)" },
    { .name = "image-path", .kind = FlagKind::Value, .help = "container: image directory (default: ./checkpoint)" },
    { .name = "work-path", .kind = FlagKind::Value, .help = "container: directory for restore.log" },
    { .name = "network",
      .kind = FlagKind::Value,
      .help = "container: none|host|bridge[:...] instead of the image's network (e.g. bridge: a new address)" },
    { .name = "tcp-established",
      .kind = FlagKind::Bool,
      .help = "accepted: connections in the image are restored (TCP_REPAIR) in the container's network namespace" },
    { .name = "ext-unix-sk",
      .kind = FlagKind::Bool,
      .help = "accepted as runc's: the image says which unix sockets to reconnect by name" },
    { .name = "shell-job", .kind = FlagKind::Bool, .help = "accepted: stdio is always re-attached" },
    { .name = "file-locks", .kind = FlagKind::Bool, .help = "accepted: images never hold file locks" },
    { .name = "manage-cgroups-mode",
      .kind = FlagKind::Value,
      .help = "soft, full, strict or ignore",
      .fallback = "soft" },
    { .name = "empty-ns", .kind = FlagKind::Value, .help = "namespaces to leave empty (not supported yet)" },
    { .name = "lazy-pages", .kind = FlagKind::Bool, .help = "lazy migration (not supported yet)" },
};

Result<int> restore_tree(Invocation const& invocation)
{
    auto const& args = invocation.args;
    auto dir = args.value("images-dir");
    if (!dir)
        return Error::make("restore: a container id, or --images-dir DIR for a process tree, is required");
    if (args.value("network"))
        return Error::format("restore {}: --network is for containers; a process tree keeps its own network namespace",
                             *dir);
    auto restored = TRY(checkpoint::restore({ .images_dir = *dir }).context("restore {}", *dir));
    checkpoint::log_restore_stats(fmt::format("restore {}", *dir), restored.root.pid(), restored.stats);
    if (auto pid_file = args.value("pid-file"))
        TRY(sys::write_file_atomic(*pid_file, fmt::format("{}", restored.root.pid())).context("pid file"));
    if (args.flag("detach")) {
        restored.root.release();
        return 0;
    }
    auto status = TRY(restored.root.wait());
    return sys::exit_code_of(status);
}

Result<int> run_restore(Invocation const& invocation)
{
    if (invocation.args.positionals().empty())
        return restore_tree(invocation);
    auto options = TRY(restore_options(invocation));
    TRY(require_systemd_if_requested(invocation.context));
    return runtime::restore(invocation.context, options);
}

} // namespace

Result<runtime::ContainerRestoreOptions> restore_options(Invocation const& invocation)
{
    auto const& args = invocation.args;
    auto id = TRY(container_id(invocation));
    if (args.value("images-dir"))
        return Error::format("restore {}: -D/--images-dir is for process trees; a container's image is --image-path",
                             id);
    constexpr std::string_view bools[] = { "lazy-pages" };
    constexpr std::string_view values[] = { "empty-ns" };
    TRY(refuse_unsupported(args, "restore", bools, values));
    runtime::ContainerRestoreOptions options;
    options.create.id = id;
    options.create.bundle = args.value_or("bundle", ".");
    if (options.create.bundle.empty())
        options.create.bundle = ".";
    options.create.pid_file = args.value_or("pid-file", "");
    options.create.console_socket = args.value_or("console-socket", "");
    options.create.no_pivot = args.flag("no-pivot");
    options.create.no_subreaper = args.flag("no-subreaper");
    options.create.detach = args.flag("detach");
    // cryo's own: a --network here wins over the image's (runtime::network_restore).
    options.create.extras.network = args.value_or("network", "");
    options.image_path = args.value_or("image-path", "");
    options.work_path = args.value_or("work-path", "");
    options.cgroups_mode = TRY(runtime::parse_cgroups_mode(args.value_or("manage-cgroups-mode", "soft")));
    return options;
}

extern constinit VerbSpec const verb_restore {
    .name = "restore",
    .summary = "restore a container from a checkpoint (or a process tree: restore -D DIR)",
    .usage = "[--image-path DIR] [--bundle B] [--network N] [--detach] [--pid-file F] <container-id> | -D DIR [-d] "
             "[--pid-file F]",
    .flags = k_flags,
    .run = run_restore,
};

} // namespace cryo::cli
