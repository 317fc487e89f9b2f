// Pure parsers of cgroup control files (v1 and v2) and of mountinfo, fixture-tested. They
// accept what the kernel prints and skip lines they do not understand rather than failing,
// since new kernels add keys.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cgroup/manager.h"
#include "cgroup/stats.h"

namespace cryo::cgroup {

inline constexpr uint64_t unlimited = UINT64_MAX;

// "123\n" -> 123; "max" -> unlimited; anything else -> nullopt.
std::optional<uint64_t> parse_value(std::string_view text);
// "MAJOR:MINOR" -> the pair; nullopt when either part is not a number.
std::optional<std::pair<uint64_t, uint64_t>> parse_device(std::string_view text);
// "key value\n..." (memory.stat, cpu.stat, memory.events, cpuacct.stat).
std::map<std::string, uint64_t> parse_flat_keyed(std::string_view text);
// "1 2 3\n" (cpuacct.usage_percpu) or one number per line (cgroup.procs).
std::vector<uint64_t> parse_list(std::string_view text);
// v1 blkio "8:0 Read 4096" lines; the trailing "Total N" line without a device is dropped.
std::vector<BlkioEntry> parse_blkio_v1(std::string_view text);
// v2 io.stat "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=5 dios=6" -> runc's shape.
BlkioStats parse_io_stat(std::string_view text);
// v1 freezer.state: "THAWED", "FREEZING", "FROZEN".
std::optional<FreezerState> parse_freezer_state(std::string_view text);
// "hugetlb.2MB.limit_in_bytes" -> "2MB" (the page size part of a hugetlb file name).
std::optional<std::string> hugetlb_page_size(std::string_view file);

// cgroup mounts under fs_root found in mountinfo text. A cgroup2 mount at fs_root itself
// comes first and alone means a pure v2 host. v1 controllers come from the super options
// ("rw,cpu,cpuacct" -> cpu, cpuacct; "name=systemd" kept as is); a v2 mount's controllers
// are left empty (they live in its cgroup.controllers file).
std::vector<Hierarchy> parse_cgroup_mounts(std::string_view mountinfo, std::string const& fs_root);

// Splits a cgroupsPath into a normalised absolute path: relative paths go under
// relative_parent, "//" and "." collapse, ".." and empty paths are refused.
Result<std::string> normalize_cgroup_path(std::string const& path);

} // namespace cryo::cgroup
