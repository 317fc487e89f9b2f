// cryo dump: checkpoint any process tree (not a container) into an image directory, then kill
// it, or let it run on with --leave-running. CRIU's flag names.
#include "checkpoint/dump.h"
#include "base/log.h"
#include "cli/options.h"
#include "cli/values.h"

namespace cryo::cli {

namespace {

constexpr FlagSpec k_flags[] = {
    { .name = "tree", .alias = "t", .kind = FlagKind::Value, .help = "pid of the root of the tree to dump" },
    { .name = "images-dir", .alias = "D", .kind = FlagKind::Value, .help = "directory to write the image to" },
    { .name = "leave-running", .kind = FlagKind::Bool, .help = "let the tree run on after the dump" },
    { .name = "shell-job",
      .kind = FlagKind::Bool,
      .help = "the tree may be in a process group or session led from outside it (a shell's job); restored into the "
              "caller's" },
    { .name = "tcp-established",
      .kind = FlagKind::Bool,
      .help = "dump established TCP connections (loopback, TCP_REPAIR)" },
    { .name = "file-locks",
      .kind = FlagKind::Bool,
      .help = "dump flock, POSIX and OFD locks (without it a tree holding one is refused)" },
    { .name = "ext-unix-sk",
      .kind = FlagKind::Bool,
      .help = "dump unix sockets connected to a named socket outside the tree; restore reconnects them by name" },
    { .name = "sync",
      .kind = FlagKind::Bool,
      .help = "fsync the image before returning (by default it is atomic, not synced)" },
    { .name = "compress", .kind = FlagKind::Value, .help = "page compression: none, zstd or lz4", .fallback = "none" },
};

Result<int> run_dump(Invocation const& invocation)
{
    TRY(require_args(invocation, ArgCount::Exact, 0));
    auto const& args = invocation.args;
    auto tree = args.value("tree");
    auto dir = args.value("images-dir");
    if (!tree)
        return Error::make("dump: --tree PID is required");
    if (!dir)
        return Error::make("dump: --images-dir DIR is required");
    auto pid = TRY(parse_int(*tree).context("dump: --tree"));
    auto compress = args.value_or("compress", "none");
    if (compress != "none" && compress != "zstd" && compress != "lz4")
        return Error::format("dump: --compress {}: unknown compression (none, zstd or lz4)", compress);
    auto stats = TRY(checkpoint::dump({ .pid = static_cast<int>(pid),
                                        .images_dir = *dir,
                                        .leave_running = args.flag("leave-running"),
                                        .inject_failure = {},
                                        .compression = compress,
                                        .sync = args.flag("sync"),
                                        .tcp_established = args.flag("tcp-established"),
                                        .file_locks = args.flag("file-locks"),
                                        .ext_unix_sk = args.flag("ext-unix-sk"),
                                        .shell_job = args.flag("shell-job") })
                         .context("dump {}", pid));
    checkpoint::log_dump_stats(fmt::format("dump {}", pid), stats);
    return 0;
}

} // namespace

extern constinit VerbSpec const verb_dump {
    .name = "dump",
    .summary = "checkpoint a process tree (not a container) into an image directory",
    .usage = "-t PID -D DIR [--leave-running] [--shell-job] [--tcp-established] [--file-locks] [--ext-unix-sk] "
             "[--compress zstd|lz4|none]",
    .flags = k_flags,
    .run = run_dump,
};

} // namespace cryo::cli
