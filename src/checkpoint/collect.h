// Collecting one frozen process into the model (dump side, Linux-specific): ids, credentials,
// registers and xsave of every thread, memory areas, mm layout, signal actions (by remote
// rt_sigaction), rlimits, cwd/root/umask/comm, open files. Objects cryo cannot restore are
// refused here with one error naming them, before anything is written.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "checkpoint/freeze.h"
#include "checkpoint/model.h"
#include "sys/procfs.h"

namespace cryo::checkpoint {

class SocketDefaults;

struct CollectOptions {
    // Test hook: fail at a named step (inject_failure == step) to prove that a failed dump
    // leaves the tree as it was. Steps: "signals" (while a scratch page is mapped in the process).
    std::string inject_failure;
    // /proc/PID/smaps read before the freeze (it walks every page table: about 28 ms for 2 GiB,
    // which would be frozen time), used when the frozen process still has exactly those areas;
    // read again while frozen otherwise. What it gives (grows-down, MADV_HUGEPAGE, huge pages
    // present) only a madvise on a whole area in between could change, and only huge-page
    // use depends on it.
    std::vector<sys::SmapsEntry> const* smaps_before_freeze { nullptr };
    // Leave what smaps gives unset: the caller reads smaps of the frozen tree beside the page
    // copy and sets it with apply_smaps before the image is written (a dump that kills the
    // tree: its total time counts, not its frozen time).
    bool smaps_later { false };
    // A container's dump: what its runtime gave the init as fds 0-2 (files.h).
    RuntimeStdio const* runtime_stdio { nullptr };
};

// Pure: sets what smaps gives each area (grows-down; huge: MADV_HUGEPAGE or huge pages
// present) from the entry that starts where it does; an area without one has neither.
void apply_smaps(std::vector<MemoryArea>& areas, std::vector<sys::SmapsEntry> const& smaps);

// Pure: whether `smaps` (read earlier) describes exactly the areas `maps` shows.
bool same_areas(std::vector<sys::MapsEntry> const& maps, std::vector<sys::SmapsEntry> const& smaps);

// `socket_defaults`: what fresh sockets show, shared by every process of one dump
// (socket_options.h: one fresh socket per network namespace and kind for the whole tree).
Result<Process> collect_process(FrozenProcess& frozen, SocketDefaults& socket_defaults, CollectOptions const& options);

} // namespace cryo::checkpoint
