// cryo restore -D DIR: re-create a process tree dumped by `cryo dump`, with its pids. Without
// --detach cryo waits and exits with the root's status. Restoring containers (runc's
// `restore <container-id>`) is not implemented here yet.
#include "checkpoint/restore.h"
#include "base/log.h"
#include "cli/options.h"
#include "sys/file.h"

namespace cryo::cli {

namespace {

constexpr FlagSpec k_flags[] = {
    { .name = "images-dir", .alias = "D", .kind = FlagKind::Value, .help = "directory holding the image" },
    { .name = "detach", .alias = "d", .kind = FlagKind::Bool, .help = "return once the tree runs again" },
    { .name = "pid-file", .kind = FlagKind::Value, .help = "write the root's pid to this file" },
};

Result<int> run_restore(Invocation const& invocation)
{
    auto const& args = invocation.args;
    if (!args.positionals().empty())
        return Error::format("restore {}: restoring containers is not supported yet (use -D DIR for a process tree)",
            args.positionals()[0]);
    auto dir = args.value("images-dir");
    if (!dir)
        return Error::make("restore: --images-dir DIR is required");
    auto restored = TRY(checkpoint::restore({ .images_dir = *dir }).context("restore {}", *dir));
    log::info("restore {}: pid {}, {} pages, memory {:.1f} ms, total {:.1f} ms", *dir, restored.root.pid(),
        restored.stats.pages, restored.stats.memory_ms, restored.stats.total_ms);
    if (auto pid_file = args.value("pid-file"))
        TRY(sys::write_file_atomic(*pid_file, fmt::format("{}", restored.root.pid())).context("pid file"));
    if (args.flag("detach")) {
        restored.root.release();
        return 0;
    }
    auto status = TRY(restored.root.wait());
    return sys::exit_code_of(status);
}

} // namespace

extern constinit VerbSpec const verb_restore {
    .name = "restore",
    .summary = "restore a process tree from an image directory written by dump",
    .usage = "-D DIR [-d] [--pid-file F]",
    .flags = k_flags,
    .run = run_restore,
};

} // namespace cryo::cli
