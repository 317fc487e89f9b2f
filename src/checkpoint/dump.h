// Dump of a bare process tree (cryo dump -t PID -D DIR): freeze, collect, copy pages, write
// the image, then kill the tree or let it run. Every error leaves the tree running as it was.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "base/error.h"
#include "checkpoint/files.h"

namespace cryo::checkpoint {

class ImageWriter;

struct DumpOptions {
    int pid { 0 };
    std::string images_dir;
    bool leave_running { false };
    // Test hook: fail at this step ("signals": during collection, with a scratch page mapped
    // in the process; "pages": after the first page file is written; "snapshot": after the
    // thaw, while the write-protect snapshots are in place).
    std::string inject_failure;
    // Page compression: "none", "zstd" or "lz4".
    std::string compression { "none" };
    // --sync: fsync the image before returning (image.h Durability::Synced); by default it
    // is only atomic, as CRIU's and runc's images are never fsynced.
    bool sync { false };
    // --tcp-established: established TCP connections are dumped (TCP_REPAIR), not refused.
    bool tcp_established { false };
    // --file-locks: flock, POSIX and OFD locks are dumped (and re-acquired at restore); without
    // it a tree holding one is refused, naming the process and the lock (CRIU's semantics).
    bool file_locks { false };
    // --ext-unix-sk: a unix socket connected to a named socket outside the tree is dumped
    // and reconnected to that name at restore (CRIU's meaning); without it, refused.
    bool ext_unix_sk { false };
    // --shell-job: the tree may sit in a process group or session led from outside it (a
    // command started by a shell); without it such a tree is refused (pidns.h).
    bool shell_job { false };
    // A container's dump: the files its runtime gave the init as fds 0-2. Descriptions of
    // them are marked wherever they sit (FileDescription::stdio_mask), so that a restore
    // reattaches them to its own stdio; without it, restore takes the root's fds 0-2.
    std::optional<RuntimeStdio> runtime_stdio {};
};

// Container checkpoints: runs while the tree is still frozen, after its pages are written
// and before the image is committed (namespace state, the container's config). An error
// fails the dump like any other step: the tree runs on.
using WhileFrozen = std::function<Result<void>(ImageWriter&)>;

struct DumpStats {
    int processes { 0 };
    int threads { 0 };
    uint64_t pages { 0 };
    uint64_t bytes { 0 }; // page bytes written
    double freeze_ms { 0 };
    double collect_ms { 0 };
    double copy_ms { 0 }; // copying pages out of the tree while frozen (with snapshots:
                          // planning and write-protecting them)
    double pages_ms { 0 }; // copying and writing pages
    double kill_ms { 0 }; // killing the tree and waiting for its exit, which includes the
                          // kernel freeing its memory (not --leave-running)
    double frozen_ms { 0 }; // from the first seize to the thaw/kill (--leave-running: the
                            // thaw comes before the pages are copied (snapshot) or written)
    double total_ms { 0 };
    // --leave-running write-protect snapshots (wp_snapshot.h): processes dumped through one,
    // pages the fault handler saved (written by the tree before cryo had read them), pages
    // copied while frozen (areas that could not be write-protected).
    int snapshot_processes { 0 };
    uint64_t snapshot_pages_saved { 0 };
    uint64_t snapshot_pages_frozen { 0 };
};

Result<DumpStats> dump(DumpOptions const& options, WhileFrozen const& while_frozen = {});

// The statistics record of a dump (log::stats): `what` names it ("dump 1234", "checkpoint web").
void log_dump_stats(std::string_view what, DumpStats const& stats);

} // namespace cryo::checkpoint
