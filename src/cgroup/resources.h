// cgroup::Resources: the limits a cgroup gets, with OCI linux.resources semantics but no
// dependency on oci/. Every scalar is std::optional: absent means "leave as is", which is
// not the same as 0. Shaped like oci::Resources so the runtime converts field by field.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cryo::cgroup {

struct MemoryResources {
    std::optional<int64_t> limit {}; // bytes; -1 = unlimited
    std::optional<int64_t> reservation {}; // soft limit (v1) / memory.low (v2)
    std::optional<int64_t> swap {}; // memory+swap as in OCI and v1; -1 = unlimited
    std::optional<int64_t> kernel {}; // deprecated by the kernel; best effort on v1
    std::optional<int64_t> kernel_tcp {}; // v1 only
    std::optional<uint64_t> swappiness {}; // v1 only (ignored on v2, as runc does)
    std::optional<bool> disable_oom_killer {}; // v1 only
    bool operator==(MemoryResources const&) const = default;
};

struct CpuResources {
    std::optional<uint64_t> shares {}; // v1 cpu.shares; v2 cpu.weight (converted)
    std::optional<int64_t> quota {}; // microseconds per period; <= 0 = unlimited
    std::optional<uint64_t> burst {}; // microseconds
    std::optional<uint64_t> period {}; // microseconds
    std::optional<int64_t> realtime_runtime {}; // v1 only
    std::optional<uint64_t> realtime_period {}; // v1 only
    std::optional<std::string> cpus {}; // "0-3,7"
    std::optional<std::string> mems {};
    std::optional<int64_t> idle {}; // 0 or 1
    bool operator==(CpuResources const&) const = default;
};

struct PidsResources {
    std::optional<int64_t> limit {}; // > 0: that many tasks; <= 0: unlimited ("max")
    bool operator==(PidsResources const&) const = default;
};

struct WeightDevice {
    int64_t major { 0 };
    int64_t minor { 0 };
    std::optional<uint16_t> weight {};
    std::optional<uint16_t> leaf_weight {};
    bool operator==(WeightDevice const&) const = default;
};

struct ThrottleDevice {
    int64_t major { 0 };
    int64_t minor { 0 };
    uint64_t rate { 0 }; // bytes or ios per second; 0 removes the limit
    bool operator==(ThrottleDevice const&) const = default;
};

struct BlockIoResources {
    std::optional<uint16_t> weight {}; // 10..1000
    std::optional<uint16_t> leaf_weight {}; // v1 only
    std::vector<WeightDevice> weight_device {};
    std::vector<ThrottleDevice> throttle_read_bps_device {};
    std::vector<ThrottleDevice> throttle_write_bps_device {};
    std::vector<ThrottleDevice> throttle_read_iops_device {};
    std::vector<ThrottleDevice> throttle_write_iops_device {};
    bool operator==(BlockIoResources const&) const = default;
};

struct HugepageLimit {
    std::string page_size {}; // "2MB", "1GB" (the kernel's hugetlb.<size>.* naming)
    uint64_t limit { 0 }; // bytes
    bool operator==(HugepageLimit const&) const = default;
};

// A device access rule, applied in order (later rules win). Absent type/major/minor mean
// all ('a', '*'); absent access means "rwm".
struct DeviceRule {
    bool allow { false };
    std::optional<std::string> type {}; // "a", "b", "c"
    std::optional<int64_t> major {};
    std::optional<int64_t> minor {};
    std::optional<std::string> access {};
    bool operator==(DeviceRule const&) const = default;
};

struct InterfacePriority {
    std::string name {};
    uint32_t priority { 0 };
    bool operator==(InterfacePriority const&) const = default;
};

struct NetworkResources {
    std::optional<uint32_t> class_id {}; // v1 net_cls only
    std::vector<InterfacePriority> priorities {}; // v1 net_prio only
    bool operator==(NetworkResources const&) const = default;
};

struct Resources {
    std::optional<MemoryResources> memory {};
    std::optional<CpuResources> cpu {};
    std::optional<PidsResources> pids {};
    std::optional<BlockIoResources> block_io {};
    std::vector<HugepageLimit> hugepage_limits {}; // empty: untouched
    std::vector<DeviceRule> devices {}; // empty: untouched
    std::optional<NetworkResources> network {};
    std::map<std::string, std::string> unified {}; // v2 file -> value; an error on v1
    bool operator==(Resources const&) const = default;
};

} // namespace cryo::cgroup
