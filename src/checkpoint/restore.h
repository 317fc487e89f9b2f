// Restore of a bare process tree (cryo restore -D DIR): re-creates each process with its pid
// (clone3 set_tid), then rebuilds it from outside with ptrace and remote syscalls run from a
// scratch page (address space, vDSO, mm layout, files, signals, limits, credentials,
// registers), unmaps the scratch page last and lets it go. A failure kills what was created.
#pragma once

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

struct RestoreStats {
    uint64_t pages { 0 };
    uint64_t bytes { 0 };
    double read_ms { 0 };
    double memory_ms { 0 };
    double total_ms { 0 };
};

struct RestoredTree {
    sys::ChildProcess root; // kills the tree's root when dropped unless released
    RestoreStats stats;
};

Result<RestoredTree> restore(RestoreOptions const& options);

// Pure helpers (unit-tested).
struct Range {
    uint64_t start;
    uint64_t end;
};
// Lowest page-aligned address >= floor where `size` bytes fit without touching any range.
Result<uint64_t> find_gap(std::vector<Range> occupied, uint64_t size, uint64_t floor);
// Address ranges to munmap so that only `keep` stays mapped below `limit`.
std::vector<Range> unmap_plan(std::vector<Range> keep, uint64_t limit);

} // namespace cryo::checkpoint
