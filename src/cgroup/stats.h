// cgroup statistics, close to runc's `events --stats` data, filled from v1 or v2 files.
// Numbers are raw kernel values; an unlimited limit is reported as the kernel does on v1
// (e.g. 9223372036854771712) and as UINT64_MAX ("max") on v2. A section is absent when
// its controller is not present for this cgroup.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cryo::cgroup {

// One memory counter: v1 memory.{,memsw.,kmem.,kmem.tcp.}{usage,max_usage,limit}_in_bytes
// and failcnt; v2 memory.current / memory.peak / memory.max / events "max".
struct MemoryEntry {
    uint64_t usage { 0 };
    uint64_t max_usage { 0 };
    uint64_t limit { 0 };
    uint64_t failcnt { 0 };
    bool operator==(MemoryEntry const&) const = default;
};

struct MemoryStats {
    uint64_t cache { 0 };
    MemoryEntry usage {};
    MemoryEntry swap {}; // v1: memsw (memory+swap); v2: swap.current + current
    MemoryEntry kernel {}; // v1 only
    MemoryEntry kernel_tcp {}; // v1 only
    // Where reclaim pressure starts below the hard limit: v2 memory.high, v1
    // memory.soft_limit_in_bytes.
    uint64_t barrier { 0 };
    std::map<std::string, uint64_t> stats {}; // memory.stat as is
    // v2 memory.events (low, high, max, oom, oom_kill); v1 memory.oom_control
    // (oom_kill_disable, under_oom, oom_kill).
    std::map<std::string, uint64_t> events {};
    bool operator==(MemoryStats const&) const = default;
};

struct CpuUsage {
    uint64_t total { 0 }; // nanoseconds
    std::vector<uint64_t> percpu {};
    std::vector<uint64_t> percpu_kernel {};
    std::vector<uint64_t> percpu_user {};
    uint64_t kernel { 0 }; // nanoseconds
    uint64_t user { 0 }; // nanoseconds
    bool operator==(CpuUsage const&) const = default;
};

struct CpuThrottling {
    uint64_t periods { 0 };
    uint64_t throttled_periods { 0 };
    uint64_t throttled_time { 0 }; // nanoseconds
    bool operator==(CpuThrottling const&) const = default;
};

struct CpuStats {
    CpuUsage usage {};
    CpuThrottling throttling {};
    bool operator==(CpuStats const&) const = default;
};

struct PidsStats {
    uint64_t current { 0 };
    uint64_t peak { 0 }; // v2 pids.peak when the kernel has it
    uint64_t limit { 0 }; // 0 = unlimited (runc's convention)
    uint64_t failcnt { 0 }; // v2 pids.events "max"
    bool operator==(PidsStats const&) const = default;
};

// A v1 blkio line "8:0 Read 4096" or a v2 io.stat field mapped to the same shape.
struct BlkioEntry {
    uint64_t major { 0 };
    uint64_t minor { 0 };
    std::string op {}; // "Read", "Write", "Sync", "Async", "Discard", "Total"
    uint64_t value { 0 };
    bool operator==(BlkioEntry const&) const = default;
};

struct BlkioStats {
    std::vector<BlkioEntry> io_service_bytes_recursive {};
    std::vector<BlkioEntry> io_serviced_recursive {};
    bool operator==(BlkioStats const&) const = default;
};

struct HugetlbStats {
    uint64_t usage { 0 };
    uint64_t max_usage { 0 };
    uint64_t limit { 0 };
    uint64_t failcnt { 0 };
    bool operator==(HugetlbStats const&) const = default;
};

struct Stats {
    std::optional<MemoryStats> memory {};
    std::optional<CpuStats> cpu {};
    std::optional<PidsStats> pids {};
    std::optional<BlkioStats> blkio {};
    std::map<std::string, HugetlbStats> hugetlb {}; // page size ("2MB") -> stats
    bool operator==(Stats const&) const = default;
};

// The beancounter view (OpenVZ style): for each resource, what is held now, the most held
// since creation, the soft barrier and hard limit, and how often the limit refused.
// UINT64_MAX means unlimited.
struct Beancounter {
    std::string resource {}; // "memory", "swap", "kmem", "pids", "hugetlb.2MB", ...
    uint64_t held { 0 };
    uint64_t maxheld { 0 };
    uint64_t barrier { 0 };
    uint64_t limit { 0 };
    uint64_t failcnt { 0 };
    bool operator==(Beancounter const&) const = default;
};

// Derives the beancounter rows from stats (pure; the caller adds disk and file counts).
std::vector<Beancounter> beancounters(Stats const& stats);

} // namespace cryo::cgroup
