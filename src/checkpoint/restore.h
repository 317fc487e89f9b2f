// Restore of a bare process tree (cryo restore -D DIR): re-creates each process with its pid
// (clone3 set_tid), then rebuilds it from outside with ptrace and remote syscalls run from a
// scratch page (address space, vDSO, mm layout, files, signals, limits, credentials,
// registers), unmaps the scratch page last and lets it go. A failure kills what was created.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"
#include "checkpoint/model.h"
#include "sys/process.h"

namespace cryo::checkpoint {

struct RestoreOptions {
    std::string images_dir;
};

// A container restore (restore(options, &into)).
struct RestoreInto {
    // The host pid of a process
    // the runtime created as pid 1 of the container's new namespaces and parked in pause(),
    // a child of cryo. The image's root (pid 1 in its namespace) is rebuilt in it; the other
    // processes are forked inside with their ids in that namespace (ns_pids.json). Files the
    // image names by path resolve under its root; the old runtime's stdio becomes the fds 0-2
    // the parked process holds (the restore's stdio or console), as runc does.
    int into_pid { 0 };
    // The number of a pidfd of cryo open in `into_pid` (inherited across its clone): the
    // restored processes take their files from cryo through it, since cryo's pid means
    // nothing inside the new pid namespace.
    int into_cryo_pidfd { -1 };
    // The image marks the old runtime's stdio (FileDescription::stdio_mask; dumped with
    // DumpOptions::runtime_stdio). Without marks, the root's fds 0-2 are taken for it.
    bool stdio_marked { false };
    // Runs before the image's files are opened (cryo opens them in `into_pid`'s network
    // namespace): namespace state sockets need, such as links and addresses.
    std::function<Result<void>()> before_files;
    // Runs once every process exists and is rebuilt, before any of them runs (namespace
    // state such as SysV IPC objects). An error fails the restore.
    std::function<Result<void>()> before_resume;
};

struct RestoreStats {
    uint64_t pages { 0 };
    uint64_t bytes { 0 };
    double read_ms { 0 };
    double memory_ms { 0 };
    double total_ms { 0 };
};

struct RestoredTree {
    sys::ChildProcess root; // kills the tree's root when dropped unless released (empty for
                            // a container restore: the runtime holds its init)
    RestoreStats stats;
};

// The statistics record of a restore (log::stats): `what` names it ("restore DIR"), `pid` the
// restored root as the caller sees it.
void log_restore_stats(std::string_view what, int pid, RestoreStats const& stats);

// `into`: a container restore (nullptr: a bare tree in cryo's pid namespace).
Result<RestoredTree> restore(RestoreOptions const& options, RestoreInto const* into = nullptr);

// Pure helpers (unit-tested).
struct Range {
    uint64_t start;
    uint64_t end;
};
// Lowest page-aligned address >= floor where `size` bytes fit without touching any range.
Result<uint64_t> find_gap(std::vector<Range> occupied, uint64_t size, uint64_t floor);
// Address ranges to munmap so that only `keep` stays mapped below `limit`.
std::vector<Range> unmap_plan(std::vector<Range> keep, uint64_t limit);
// A container restore: paths of the tree's files become paths through the parked init's root
// (/proc/INTO_PID/root/...), and the old runtime's stdio descriptions (marked ones when
// `stdio_marked`, else the root's fds 0-2) become the parked init's fds 0-2 reopened through
// /proc (restore_plan.cpp says how they are matched).
void prepare_container_paths(std::vector<Process>& processes, int into_pid, bool stdio_marked = false);

} // namespace cryo::checkpoint
