// Plan, then apply: Resources -> the ordered list of control-file writes, as plain data.
// Pure functions (no I/O), unit-tested; the backends apply a plan in a thin loop. Order
// inside a plan matters (memsw vs memory limit, period before quota, device rules).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "cgroup/resources.h"

namespace cryo::cgroup {

struct Write {
    // Hierarchy key: a v1 controller ("memory", "cpu", ...), or "" for the v2 unified
    // hierarchy. On a v1 host with hugetlb in the unified mount, hugetlb writes use
    // controller "hugetlb" and v2 file names.
    std::string controller {};
    std::string file {}; // "memory.limit_in_bytes"
    std::string value {}; // written with one write(2)
    // A missing (ENOENT) or unsupported (EOPNOTSUPP) file is skipped rather than an error
    // (cpu.cfs_burst_us 0 on kernels without burst, the deprecated kmem limits).
    bool skip_if_missing { false };
    // Tried when `file` does not exist (blkio.weight -> blkio.bfq.weight).
    std::string fallback_file {};
    std::string fallback_value {}; // value for fallback_file; empty: `value`
    bool operator==(Write const&) const = default;
};

using WritePlan = std::vector<Write>;

struct V1PlanInput {
    // memory.limit_in_bytes before this plan; decides whether memsw goes first. nullopt:
    // unknown, taken as unlimited (a fresh cgroup).
    std::optional<int64_t> current_memory_limit {};
    // hugetlb lives in the cgroup2 unified mount (hybrid host): use hugetlb.<size>.max.
    bool hugetlb_v2 { false };
};

Result<WritePlan> plan_v1(Resources const& resources, V1PlanInput const& input = {});
// Device rules are validated but not in the plan: v2 enforces them with an eBPF program.
Result<WritePlan> plan_v2(Resources const& resources);

// v1 device rules for a running container, as the difference between the kernel's current
// state (devices.list) and the state the rules produce, so devices that stay allowed are
// never denied in between and no "a" rule is written (the kernel refuses those once the
// cgroup has children). nullopt when the difference cannot be known (the current state
// allows all by default, whose exceptions devices.list does not show): then the rules
// are written in order as at create.
Result<std::optional<WritePlan>> plan_v1_device_update(std::vector<DeviceRule> const& rules,
                                                       std::string_view devices_list);

// v1 controllers a container joins whatever its resources (pause, ps, stats, limits).
std::vector<std::string> const& v1_core_controllers();
// Extra v1 controllers `resources` need (hugetlb, net_cls, net_prio).
std::vector<std::string> v1_extra_controllers(Resources const& resources);
// v2 controllers to enable in the parents' cgroup.subtree_control for `resources`.
std::vector<std::string> v2_controllers(Resources const& resources);

// cpu.shares (2..262144) -> cpu.weight (1..10000), as runc and crun convert.
uint64_t shares_to_weight(uint64_t shares);
// blkio weight (10..1000) -> io.weight (1..10000).
uint64_t blkio_weight_to_io_weight(uint64_t weight);
// OCI memory+swap -> v2 memory.swap.max value ("max" or bytes of swap alone); nullopt when
// nothing is to be written.
Result<std::optional<std::string>> v2_swap_max(std::optional<int64_t> limit, std::optional<int64_t> swap);
// Whether the rules, applied in order over a default of "allow everything", deny any
// access. On v2 only restricting rules need an eBPF device program (device_program.h).
bool device_rules_restrict(std::vector<DeviceRule> const& rules);
// "c 1:3 rwm", "a *:* rwm".
Result<std::string> device_rule_line(DeviceRule const& rule);

} // namespace cryo::cgroup
