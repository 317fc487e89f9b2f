#include "cgroup/plan.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <map>

#include <fmt/format.h>

namespace cryo::cgroup {

namespace {

// Page sizes name files ("hugetlb.2MB.max"): refuse anything that could leave the directory.
Result<void> check_page_size(std::string const& size)
{
    bool ok = !size.empty() && std::all_of(size.begin(), size.end(), [](unsigned char c) { return std::isalnum(c); });
    if (!ok)
        return Error::format("invalid hugepage size \"{}\"", size);
    return {};
}

std::string device_number(int64_t major, int64_t minor)
{
    return fmt::format("{}:{}", major, minor);
}

void add(WritePlan& plan, std::string controller, std::string file, std::string value, bool skip_if_missing = false)
{
    plan.push_back(Write { .controller = std::move(controller),
                           .file = std::move(file),
                           .value = std::move(value),
                           .skip_if_missing = skip_if_missing });
}

// v1 memory: memory.memsw.limit_in_bytes must stay >= memory.limit_in_bytes at every step,
// so the kernel refuses (EINVAL) a raise of memory above the current memsw, and a cut of
// memsw below the current memory. Raise memsw first when growing, memory first when
// shrinking.
void plan_v1_memory(WritePlan& plan, MemoryResources const& memory, V1PlanInput const& input)
{
    auto limit = memory.limit;
    auto swap = memory.swap;
    bool implied_swap = false;
    // Unlimited memory with swap unspecified means unlimited swap too (as runc does): a
    // finite memsw left over would otherwise still cap the container.
    if (limit == -1 && !swap) {
        swap = -1;
        implied_swap = true;
    }
    auto write_limit = [&] {
        if (limit)
            add(plan, "memory", "memory.limit_in_bytes", std::to_string(*limit));
    };
    auto write_swap = [&] {
        if (swap)
            add(plan, "memory", "memory.memsw.limit_in_bytes", std::to_string(*swap), implied_swap);
    };
    int64_t current = input.current_memory_limit.value_or(std::numeric_limits<int64_t>::max());
    if (current < 0)
        current = std::numeric_limits<int64_t>::max();
    bool swap_first = limit && swap && (*swap == -1 || *limit == -1 || current < *limit);
    if (swap_first) {
        write_swap();
        write_limit();
    } else {
        write_limit();
        write_swap();
    }
    if (memory.reservation)
        add(plan, "memory", "memory.soft_limit_in_bytes", std::to_string(*memory.reservation));
    // Kernel memory limits are deprecated; newer kernels drop or refuse them.
    if (memory.kernel)
        add(plan, "memory", "memory.kmem.limit_in_bytes", std::to_string(*memory.kernel), true);
    if (memory.kernel_tcp)
        add(plan, "memory", "memory.kmem.tcp.limit_in_bytes", std::to_string(*memory.kernel_tcp));
    if (memory.swappiness)
        add(plan, "memory", "memory.swappiness", std::to_string(*memory.swappiness));
    if (memory.disable_oom_killer)
        add(plan, "memory", "memory.oom_control", *memory.disable_oom_killer ? "1" : "0");
}

void plan_v1_cpu(WritePlan& plan, CpuResources const& cpu)
{
    // 0 means "unset" for these in OCI and runc; the kernel refuses 0 anyway.
    if (cpu.shares && *cpu.shares != 0)
        add(plan, "cpu", "cpu.shares", std::to_string(*cpu.shares));
    // Period before quota: the kernel checks quota against the period in force.
    if (cpu.period && *cpu.period != 0)
        add(plan, "cpu", "cpu.cfs_period_us", std::to_string(*cpu.period));
    if (cpu.quota && *cpu.quota != 0)
        add(plan, "cpu", "cpu.cfs_quota_us", std::to_string(*cpu.quota < 0 ? -1 : *cpu.quota));
    // Burst is checked against the quota, so after it; a 0 burst needs no kernel support.
    if (cpu.burst)
        add(plan, "cpu", "cpu.cfs_burst_us", std::to_string(*cpu.burst), *cpu.burst == 0);
    if (cpu.realtime_period && *cpu.realtime_period != 0)
        add(plan, "cpu", "cpu.rt_period_us", std::to_string(*cpu.realtime_period));
    if (cpu.realtime_runtime && *cpu.realtime_runtime != 0)
        add(plan, "cpu", "cpu.rt_runtime_us", std::to_string(*cpu.realtime_runtime));
    if (cpu.idle)
        add(plan, "cpu", "cpu.idle", std::to_string(*cpu.idle));
    if (cpu.cpus && !cpu.cpus->empty())
        add(plan, "cpuset", "cpuset.cpus", *cpu.cpus);
    if (cpu.mems && !cpu.mems->empty())
        add(plan, "cpuset", "cpuset.mems", *cpu.mems);
}

std::string pids_value(int64_t limit)
{
    return limit > 0 ? std::to_string(limit) : "max";
}

void plan_v1_blkio(WritePlan& plan, BlockIoResources const& io)
{
    // Kernels with BFQ and without CFQ expose the weight as blkio.bfq.weight only.
    if (io.weight && *io.weight != 0)
        plan.push_back(Write { .controller = "blkio",
                               .file = "blkio.weight",
                               .value = std::to_string(*io.weight),
                               .fallback_file = "blkio.bfq.weight" });
    if (io.leaf_weight && *io.leaf_weight != 0)
        add(plan, "blkio", "blkio.leaf_weight", std::to_string(*io.leaf_weight));
    for (auto const& device : io.weight_device) {
        auto number = device_number(device.major, device.minor);
        if (device.weight)
            plan.push_back(Write { .controller = "blkio",
                                   .file = "blkio.weight_device",
                                   .value = fmt::format("{} {}", number, *device.weight),
                                   .fallback_file = "blkio.bfq.weight_device" });
        if (device.leaf_weight)
            add(plan, "blkio", "blkio.leaf_weight_device", fmt::format("{} {}", number, *device.leaf_weight));
    }
    auto throttle = [&](std::vector<ThrottleDevice> const& devices, char const* file) {
        for (auto const& device : devices)
            add(plan, "blkio", file, fmt::format("{} {}", device_number(device.major, device.minor), device.rate));
    };
    throttle(io.throttle_read_bps_device, "blkio.throttle.read_bps_device");
    throttle(io.throttle_write_bps_device, "blkio.throttle.write_bps_device");
    throttle(io.throttle_read_iops_device, "blkio.throttle.read_iops_device");
    throttle(io.throttle_write_iops_device, "blkio.throttle.write_iops_device");
}

Result<void> check_unified_key(std::string const& key)
{
    if (key.empty() || key.find('/') != std::string::npos || key[0] == '.' || key.find('.') == std::string::npos)
        return Error::format("invalid unified cgroup file \"{}\"", key);
    return {};
}

// The v1 device controller's state: a default and exceptions keyed by "c 1:3" (with '*'
// for wildcards), each holding access bits (r=1, w=2, m=4).
struct DeviceState {
    bool allow_by_default { true };
    std::map<std::string, unsigned> exceptions {};
};

unsigned access_bits(std::string_view access)
{
    unsigned bits = 0;
    for (char c : access)
        bits |= c == 'r' ? 1u : c == 'w' ? 2u : c == 'm' ? 4u : 0u;
    return bits;
}

std::string access_letters(unsigned bits)
{
    std::string out;
    if (bits & 1u)
        out += 'r';
    if (bits & 2u)
        out += 'w';
    if (bits & 4u)
        out += 'm';
    return out;
}

// What the kernel does with one rule (security/device_cgroup.c, devcgroup_update_access):
// "a" resets to a default; otherwise an allow adds to exceptions under default-deny and
// removes from them under default-allow, and a deny the reverse.
void apply_rule(DeviceState& state, DeviceRule const& rule, std::string const& line)
{
    if (rule.type.value_or("a") == "a") {
        state = DeviceState { .allow_by_default = rule.allow };
        return;
    }
    auto space = line.rfind(' ');
    auto key = line.substr(0, space);
    auto bits = access_bits(line.substr(space + 1));
    bool add = rule.allow != state.allow_by_default;
    auto& held = state.exceptions[key];
    held = add ? (held | bits) : (held & ~bits);
    if (held == 0)
        state.exceptions.erase(key);
}

} // namespace

Result<std::optional<WritePlan>> plan_v1_device_update(std::vector<DeviceRule> const& rules,
                                                       std::string_view devices_list)
{
    DeviceState target;
    for (auto const& rule : rules)
        apply_rule(target, rule, TRY(device_rule_line(rule)));
    DeviceState current { .allow_by_default = false };
    while (!devices_list.empty()) {
        auto end = devices_list.find('\n');
        auto line = devices_list.substr(0, end);
        devices_list = end == std::string_view::npos ? std::string_view {} : devices_list.substr(end + 1);
        if (line.empty())
            continue;
        auto space = line.rfind(' ');
        if (space == std::string_view::npos)
            return std::optional<WritePlan> {};
        auto key = std::string(line.substr(0, space));
        if (key == "a *:*")
            return std::optional<WritePlan> {}; // default allow: exceptions not listed
        current.exceptions[key] |= access_bits(line.substr(space + 1));
    }
    if (target.allow_by_default)
        return std::optional<WritePlan> {};
    WritePlan plan;
    // Grants first, then removals: a device that stays allowed never loses access.
    for (auto const& [key, bits] : target.exceptions) {
        auto it = current.exceptions.find(key);
        unsigned missing = bits & ~(it == current.exceptions.end() ? 0u : it->second);
        if (missing)
            add(plan, "devices", "devices.allow", key + " " + access_letters(missing));
    }
    for (auto const& [key, bits] : current.exceptions) {
        auto it = target.exceptions.find(key);
        unsigned extra = bits & ~(it == target.exceptions.end() ? 0u : it->second);
        if (extra)
            add(plan, "devices", "devices.deny", key + " " + access_letters(extra));
    }
    return std::optional<WritePlan>(std::move(plan));
}

uint64_t shares_to_weight(uint64_t shares)
{
    if (shares == 0)
        return 0;
    // Linear map of [2, 262144] onto [1, 10000]; out-of-range shares are clamped first,
    // as the v1 kernel would.
    shares = std::clamp<uint64_t>(shares, 2, 262144);
    return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t blkio_weight_to_io_weight(uint64_t weight)
{
    if (weight == 0)
        return 0;
    weight = std::clamp<uint64_t>(weight, 10, 1000);
    return 1 + (weight - 10) * 9999 / 990;
}

Result<std::optional<std::string>> v2_swap_max(std::optional<int64_t> limit, std::optional<int64_t> swap)
{
    if (!swap) {
        // As on v1: unlimited memory with swap unspecified lifts the swap limit as well.
        if (limit == -1)
            return std::optional<std::string>("max");
        return std::optional<std::string> {};
    }
    if (*swap == -1)
        return std::optional<std::string>("max");
    if (*swap == 0)
        return std::optional<std::string> {}; // 0 is "unset" in OCI
    if (!limit || *limit == 0 || *limit == -1)
        return Error::make("memory.swap needs a memory.limit on cgroup v2 (swap is memory+swap)");
    if (*swap < *limit)
        return Error::format("memory.swap ({}) must be at least memory.limit ({})", *swap, *limit);
    return std::optional<std::string>(std::to_string(*swap - *limit));
}

bool device_rules_restrict(std::vector<DeviceRule> const& rules)
{
    // Conservative: everything stays allowed only while the last deny is followed by an
    // allow of all devices with all access.
    bool all_allowed = true;
    for (auto const& rule : rules) {
        bool everything = (!rule.type || *rule.type == "a") && !rule.major && !rule.minor;
        std::string access = rule.access.value_or("rwm");
        bool full_access = access.find('r') != std::string::npos && access.find('w') != std::string::npos
            && access.find('m') != std::string::npos;
        if (!rule.allow)
            all_allowed = false;
        else if (everything && full_access)
            all_allowed = true;
    }
    return !all_allowed;
}

Result<std::string> device_rule_line(DeviceRule const& rule)
{
    std::string type = rule.type.value_or("a");
    if (type != "a" && type != "b" && type != "c")
        return Error::format("invalid device rule type \"{}\"", type);
    std::string access = rule.access.value_or("rwm");
    if (access.empty())
        access = "rwm";
    for (char c : access)
        if (c != 'r' && c != 'w' && c != 'm')
            return Error::format("invalid device rule access \"{}\"", access);
    auto number = [](std::optional<int64_t> n) { return n && *n >= 0 ? std::to_string(*n) : std::string("*"); };
    return fmt::format("{} {}:{} {}", type, number(rule.major), number(rule.minor), access);
}

std::vector<std::string> const& v1_core_controllers()
{
    static std::vector<std::string> const core { "cpu",     "cpuacct", "cpuset", "memory",
                                                 "devices", "freezer", "blkio",  "pids" };
    return core;
}

std::vector<std::string> v1_extra_controllers(Resources const& resources)
{
    std::vector<std::string> extra;
    if (!resources.hugepage_limits.empty())
        extra.push_back("hugetlb");
    if (resources.network && resources.network->class_id)
        extra.push_back("net_cls");
    if (resources.network && !resources.network->priorities.empty())
        extra.push_back("net_prio");
    return extra;
}

std::vector<std::string> v2_controllers(Resources const& resources)
{
    std::vector<std::string> controllers { "cpu", "cpuset", "io", "memory", "pids", "hugetlb" };
    for (auto const& [key, value] : resources.unified) {
        auto controller = key.substr(0, key.find('.'));
        if (controller != "cgroup"
            && std::find(controllers.begin(), controllers.end(), controller) == controllers.end())
            controllers.push_back(controller);
    }
    return controllers;
}

Result<WritePlan> plan_v1(Resources const& resources, V1PlanInput const& input)
{
    if (!resources.unified.empty())
        return Error::make("unified cgroup resources need cgroup v2, this host uses v1");
    WritePlan plan;
    if (resources.memory)
        plan_v1_memory(plan, *resources.memory, input);
    if (resources.cpu)
        plan_v1_cpu(plan, *resources.cpu);
    if (resources.pids && resources.pids->limit)
        add(plan, "pids", "pids.max", pids_value(*resources.pids->limit));
    if (resources.block_io)
        plan_v1_blkio(plan, *resources.block_io);
    for (auto const& hugepage : resources.hugepage_limits) {
        TRY(check_page_size(hugepage.page_size));
        auto file = input.hugetlb_v2 ? fmt::format("hugetlb.{}.max", hugepage.page_size)
                                     : fmt::format("hugetlb.{}.limit_in_bytes", hugepage.page_size);
        add(plan, "hugetlb", std::move(file), std::to_string(hugepage.limit));
    }
    for (auto const& rule : resources.devices) {
        auto line = TRY(device_rule_line(rule));
        add(plan, "devices", rule.allow ? "devices.allow" : "devices.deny", std::move(line));
    }
    if (resources.network) {
        if (resources.network->class_id)
            add(plan, "net_cls", "net_cls.classid", std::to_string(*resources.network->class_id));
        for (auto const& priority : resources.network->priorities)
            add(plan, "net_prio", "net_prio.ifpriomap", fmt::format("{} {}", priority.name, priority.priority));
    }
    return plan;
}

Result<WritePlan> plan_v2(Resources const& resources)
{
    WritePlan plan;
    if (auto const& memory = resources.memory) {
        // Swap first: with the combined OCI value it is computed from the new limit, and
        // v2 has no ordering constraint between the two files.
        auto swap = TRY(v2_swap_max(memory->limit, memory->swap));
        if (swap)
            add(plan, "", "memory.swap.max", *swap);
        if (memory->limit)
            add(plan, "", "memory.max", *memory->limit < 0 ? "max" : std::to_string(*memory->limit));
        if (memory->reservation)
            add(plan, "", "memory.low", *memory->reservation < 0 ? "max" : std::to_string(*memory->reservation));
        // kernel, kernel_tcp, swappiness and disable_oom_killer have no v2 equivalent; like
        // runc, they are ignored rather than failing every container that carries them.
    }
    if (auto const& cpu = resources.cpu) {
        if ((cpu->realtime_runtime && *cpu->realtime_runtime != 0)
            || (cpu->realtime_period && *cpu->realtime_period != 0))
            return Error::make("realtime cpu limits are not supported on cgroup v2");
        if (cpu->shares && *cpu->shares != 0)
            add(plan, "", "cpu.weight", std::to_string(shares_to_weight(*cpu->shares)));
        bool has_quota = cpu->quota && *cpu->quota != 0;
        bool has_period = cpu->period && *cpu->period != 0;
        if (has_quota || has_period) {
            std::string value = has_quota && *cpu->quota > 0 ? std::to_string(*cpu->quota) : "max";
            if (has_period)
                value += " " + std::to_string(*cpu->period);
            add(plan, "", "cpu.max", std::move(value));
        }
        if (cpu->burst)
            add(plan, "", "cpu.max.burst", std::to_string(*cpu->burst), *cpu->burst == 0);
        if (cpu->idle)
            add(plan, "", "cpu.idle", std::to_string(*cpu->idle));
        if (cpu->cpus && !cpu->cpus->empty())
            add(plan, "", "cpuset.cpus", *cpu->cpus);
        if (cpu->mems && !cpu->mems->empty())
            add(plan, "", "cpuset.mems", *cpu->mems);
    }
    if (resources.pids && resources.pids->limit)
        add(plan, "", "pids.max", pids_value(*resources.pids->limit));
    if (auto const& io = resources.block_io) {
        // io.bfq.weight takes blkio's scale; io.weight (io.cost) its own.
        if (io->weight && *io->weight != 0)
            plan.push_back(
                Write { .controller = "",
                        .file = "io.bfq.weight",
                        .value = std::to_string(*io->weight),
                        .fallback_file = "io.weight",
                        .fallback_value = fmt::format("default {}", blkio_weight_to_io_weight(*io->weight)) });
        for (auto const& device : io->weight_device) {
            if (!device.weight)
                continue;
            auto number = device_number(device.major, device.minor);
            plan.push_back(
                Write { .controller = "",
                        .file = "io.bfq.weight",
                        .value = fmt::format("{} {}", number, *device.weight),
                        .fallback_file = "io.weight",
                        .fallback_value = fmt::format("{} {}", number, blkio_weight_to_io_weight(*device.weight)) });
        }
        auto throttle = [&](std::vector<ThrottleDevice> const& devices, char const* key) {
            for (auto const& device : devices) {
                auto rate = device.rate == 0 ? std::string("max") : std::to_string(device.rate);
                add(plan, "", "io.max", fmt::format("{} {}={}", device_number(device.major, device.minor), key, rate));
            }
        };
        throttle(io->throttle_read_bps_device, "rbps");
        throttle(io->throttle_write_bps_device, "wbps");
        throttle(io->throttle_read_iops_device, "riops");
        throttle(io->throttle_write_iops_device, "wiops");
    }
    for (auto const& hugepage : resources.hugepage_limits) {
        TRY(check_page_size(hugepage.page_size));
        add(plan, "", fmt::format("hugetlb.{}.max", hugepage.page_size), std::to_string(hugepage.limit));
    }
    // Device rules are no file on v2: the backend attaches an eBPF program for them.
    for (auto const& rule : resources.devices)
        TRY(device_rule_line(rule));
    // Unified entries last, so that they override anything derived above.
    for (auto const& [key, value] : resources.unified) {
        TRY(check_unified_key(key));
        add(plan, "", key, value);
    }
    return plan;
}

} // namespace cryo::cgroup
