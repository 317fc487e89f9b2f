// cgroup statistics, close to runc's `events --stats` data, filled from v1 or v2 files.
// Numbers are raw kernel values; an unlimited limit is reported as the kernel does on v1
// (e.g. 9223372036854771712) and as UINT64_MAX ("max") on v2. A section is absent when
// its controller is not present for this cgroup.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

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
    // What the numbers count: "bytes", "count", "mcpu" (thousandths of a CPU), "ns", "B/s",
    // "ops/s". Empty from the Stats-only overload below.
    std::string unit {};
    // False when nothing counts refusals of this resource (the kernel keeps no counter, e.g.
    // EMFILE, or the row is an accounting total): failcnt is then shown as "-", not 0.
    bool failcnt_counted { true };
    bool operator==(Beancounter const&) const = default;
};

// Derives the beancounter rows from stats (pure; the caller adds disk and file counts).
std::vector<Beancounter> beancounters(Stats const& stats);

// Settings shown as barrier/limit that Stats does not carry (limits, not counters).
struct LimitSettings {
    std::optional<uint64_t> cpu_quota_us {}; // v1 cpu.cfs_quota_us / v2 cpu.max; nullopt = no cap
    uint64_t cpu_period_us { 0 };
    // Per-device throttles: v1 blkio.throttle.{read,write}_{bps,iops}_device, v2 io.max.
    // `op` is "rbps", "wbps", "riops" or "wiops".
    std::vector<BlkioEntry> io_max {};
    // v1 pids.peak (kernels since 6.1 have it on v1 too; Stats reads it only on v2).
    std::optional<uint64_t> pids_peak {};
    bool operator==(LimitSettings const&) const = default;
};

// Pure parsers of those files. v1 quota "-1" and v2 "max" mean no cap.
void parse_v1_cpu_limit(std::string_view quota, std::string_view period, LimitSettings& out);
void parse_v2_cpu_max(std::string_view cpu_max, LimitSettings& out);
// v1 "8:0 1048576" lines of one throttle file; `op` names the file's kind.
void parse_v1_throttle(std::string_view text, std::string const& op, LimitSettings& out);
// v2 io.max "8:0 rbps=1048576 wbps=max riops=max wiops=100": entries that are not "max".
void parse_v2_io_max(std::string_view text, LimitSettings& out);
// Reads them for the manager's cgroup (missing files are no limit).
class Manager;
Result<LimitSettings> read_limit_settings(Manager const& manager);

// What cryo counts itself over the container's processes (walking /proc/PID/fd).
struct ProcessFiles {
    uint64_t processes { 0 };
    uint64_t files { 0 }; // every open fd of every process
    uint64_t sockets { 0 }; // those that are sockets
    // The process closest to its RLIMIT_NOFILE (highest fds/soft-limit ratio): its open fds
    // and its soft and hard limits (unlimited when RLIM_INFINITY).
    uint64_t busiest_files { 0 };
    uint64_t busiest_soft { UINT64_MAX };
    uint64_t busiest_hard { UINT64_MAX };
    bool operator==(ProcessFiles const&) const = default;
};
// Adds one process to the totals.
void add_process_files(ProcessFiles& into, uint64_t files, uint64_t sockets, uint64_t soft, uint64_t hard);
// "Max open files  1024  4096  files" of /proc/PID/limits -> {soft, hard}; "unlimited" maps
// to UINT64_MAX.
std::optional<std::pair<uint64_t, uint64_t>> parse_nofile_limits(std::string_view proc_limits);

// What a previous `cryo beancounters` saw, kept in the container's state dir: the time, the
// cumulative counters rates are computed from ("cputime", "io.rbytes.8:0", ...) and each
// resource's maxheld ("maxheld.numfile"), so maxheld of what no kernel file tracks is the
// highest value any sample saw.
struct BeancounterSample {
    uint64_t time_ns { 0 }; // CLOCK_BOOTTIME
    std::map<std::string, uint64_t> values {};
    bool operator==(BeancounterSample const&) const = default;
};
std::string format_sample(BeancounterSample const& sample);
// nullopt when the text is not a sample (a corrupt file only loses history).
std::optional<BeancounterSample> parse_sample(std::string_view text);

// Disk space of the container's writable layer (runtime's container_disk_usage).
struct DiskSpace {
    uint64_t used { 0 };
    uint64_t limit { 0 }; // 0 = none
    bool operator==(DiskSpace const&) const = default;
};

struct BeancounterInput {
    Stats stats {};
    LimitSettings limits {};
    std::optional<ProcessFiles> files {}; // nullopt: no process (stopped container)
    std::optional<DiskSpace> disk {}; // nullopt: not from an image / unknown
    uint64_t now_ns { 0 }; // CLOCK_BOOTTIME
    uint64_t started_ns { 0 }; // when the container's init started, same clock
    std::optional<BeancounterSample> previous {};
};

// Rates (cpu in mcpu, io in B/s and ops/s) are averaged since the previous sample when it is
// at least min_rate_interval old, otherwise since the container started.
inline constexpr uint64_t min_rate_interval_ns = 1'000'000'000;

struct BeancounterView {
    std::vector<Beancounter> rows {};
    BeancounterSample sample {}; // what to keep for the next call
};
// Every row for one container (pure). See docs/beancounters.md for each column's source.
BeancounterView beancounters(BeancounterInput const& input);

} // namespace cryo::cgroup
