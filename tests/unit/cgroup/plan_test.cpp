// Plans as data: exactly which file gets which value, in which order, for a Resources.
#include <gtest/gtest.h>

#include "cgroup/plan.h"

using namespace cryo;
using namespace cryo::cgroup;

namespace {

// "controller:file=value" per write, for compact exact comparisons.
std::vector<std::string> lines(WritePlan const& plan)
{
    std::vector<std::string> out;
    for (auto const& write : plan)
        out.push_back(write.controller + ":" + write.file + "=" + write.value);
    return out;
}

std::vector<std::string> v1(Resources const& resources, V1PlanInput const& input = {})
{
    auto plan = plan_v1(resources, input);
    EXPECT_TRUE(plan.has_value()) << (plan ? "" : plan.error().message());
    return plan ? lines(*plan) : std::vector<std::string> {};
}

std::vector<std::string> v2(Resources const& resources)
{
    auto plan = plan_v2(resources);
    EXPECT_TRUE(plan.has_value()) << (plan ? "" : plan.error().message());
    return plan ? lines(*plan) : std::vector<std::string> {};
}

using Lines = std::vector<std::string>;

} // namespace

TEST(CgroupPlanV1, EmptyResourcesWriteNothing)
{
    EXPECT_EQ(v1({}), Lines {});
    EXPECT_EQ(v2({}), Lines {});
}

TEST(CgroupPlanV1, FullResources)
{
    Resources r;
    r.memory = MemoryResources { .limit = 1 << 30,
                                 .reservation = 512 << 20,
                                 .swap = 2LL << 30,
                                 .kernel_tcp = 64 << 20,
                                 .swappiness = 0,
                                 .disable_oom_killer = true };
    r.cpu = CpuResources { .shares = 512,
                           .quota = 50000,
                           .burst = 10000,
                           .period = 100000,
                           .realtime_runtime = 950000,
                           .realtime_period = 1000000,
                           .cpus = "0-1",
                           .mems = "0",
                           .idle = 1 };
    r.pids = PidsResources { .limit = 100 };
    r.block_io = BlockIoResources {
        .weight = 500,
        .leaf_weight = 300,
        .weight_device = { WeightDevice { .major = 8, .minor = 0, .weight = 600, .leaf_weight = 200 } },
        .throttle_read_bps_device = { ThrottleDevice { .major = 8, .minor = 0, .rate = 1048576 } },
        .throttle_write_iops_device = { ThrottleDevice { .major = 8, .minor = 16, .rate = 300 } },
    };
    r.hugepage_limits = { HugepageLimit { .page_size = "2MB", .limit = 4 << 20 } };
    r.devices = { DeviceRule { .allow = false, .access = "rwm" },
                  DeviceRule { .allow = true, .type = "c", .major = 1, .minor = 3, .access = "rwm" },
                  DeviceRule { .allow = true, .type = "c", .major = 136, .access = "rw" } };
    r.network = NetworkResources { .class_id = 0x100001,
                                   .priorities = { InterfacePriority { .name = "eth0", .priority = 5 } } };
    EXPECT_EQ(v1(r),
              (Lines {
                  "memory:memory.limit_in_bytes=1073741824",
                  "memory:memory.memsw.limit_in_bytes=2147483648",
                  "memory:memory.soft_limit_in_bytes=536870912",
                  "memory:memory.kmem.tcp.limit_in_bytes=67108864",
                  "memory:memory.swappiness=0",
                  "memory:memory.oom_control=1",
                  "cpu:cpu.shares=512",
                  "cpu:cpu.cfs_period_us=100000",
                  "cpu:cpu.cfs_quota_us=50000",
                  "cpu:cpu.cfs_burst_us=10000",
                  "cpu:cpu.rt_period_us=1000000",
                  "cpu:cpu.rt_runtime_us=950000",
                  "cpu:cpu.idle=1",
                  "cpuset:cpuset.cpus=0-1",
                  "cpuset:cpuset.mems=0",
                  "pids:pids.max=100",
                  "blkio:blkio.weight=500",
                  "blkio:blkio.leaf_weight=300",
                  "blkio:blkio.weight_device=8:0 600",
                  "blkio:blkio.leaf_weight_device=8:0 200",
                  "blkio:blkio.throttle.read_bps_device=8:0 1048576",
                  "blkio:blkio.throttle.write_iops_device=8:16 300",
                  "hugetlb:hugetlb.2MB.limit_in_bytes=4194304",
                  "devices:devices.deny=a *:* rwm",
                  "devices:devices.allow=c 1:3 rwm",
                  "devices:devices.allow=c 136:* rw",
                  "net_cls:net_cls.classid=1048577",
                  "net_prio:net_prio.ifpriomap=eth0 5",
              }));
}

TEST(CgroupPlanV1, HugetlbInUnifiedMountUsesV2Names)
{
    Resources r { .hugepage_limits = { HugepageLimit { .page_size = "1GB", .limit = 1 << 30 } } };
    EXPECT_EQ(v1(r, { .hugetlb_v2 = true }), Lines { "hugetlb:hugetlb.1GB.max=1073741824" });
}

TEST(CgroupPlanV1, MemswOrderDependsOnDirection)
{
    Resources raise { .memory = MemoryResources { .limit = 256 << 20, .swap = 512 << 20 } };
    // Growing from 64 MiB: memsw first, or memory would exceed the old memsw.
    EXPECT_EQ(v1(raise, { .current_memory_limit = 64 << 20 }),
              (Lines { "memory:memory.memsw.limit_in_bytes=536870912", "memory:memory.limit_in_bytes=268435456" }));
    // Shrinking from 1 GiB: memory first, or memsw would drop below the old memory.
    EXPECT_EQ(v1(raise, { .current_memory_limit = 1 << 30 }),
              (Lines { "memory:memory.limit_in_bytes=268435456", "memory:memory.memsw.limit_in_bytes=536870912" }));
    // A fresh cgroup is unlimited: like shrinking.
    EXPECT_EQ(v1(raise),
              (Lines { "memory:memory.limit_in_bytes=268435456", "memory:memory.memsw.limit_in_bytes=536870912" }));
    // Unlimited swap always goes first.
    Resources unlimited_swap { .memory = MemoryResources { .limit = 256 << 20, .swap = -1 } };
    EXPECT_EQ(v1(unlimited_swap, { .current_memory_limit = 1 << 30 }),
              (Lines { "memory:memory.memsw.limit_in_bytes=-1", "memory:memory.limit_in_bytes=268435456" }));
}

TEST(CgroupPlanV1, UnlimitedMemoryLiftsSwapToo)
{
    auto plan = MUST(plan_v1({ .memory = MemoryResources { .limit = -1 } }));
    ASSERT_EQ(lines(plan), (Lines { "memory:memory.memsw.limit_in_bytes=-1", "memory:memory.limit_in_bytes=-1" }));
    // Implied by us, so a host without swap accounting does not fail on it.
    EXPECT_TRUE(plan[0].skip_if_missing);
    EXPECT_FALSE(plan[1].skip_if_missing);
}

TEST(CgroupPlanV1, ZeroMeansUnsetWhereOciSaysSo)
{
    Resources r { .cpu = CpuResources { .shares = 0, .quota = 0, .period = 0 } };
    EXPECT_EQ(v1(r), Lines {});
    Resources unlimited { .cpu = CpuResources { .quota = -5 }, .pids = PidsResources { .limit = 0 } };
    EXPECT_EQ(v1(unlimited), (Lines { "cpu:cpu.cfs_quota_us=-1", "pids:pids.max=max" }));
}

TEST(CgroupPlanV1, BurstZeroToleratesMissingFile)
{
    auto zero = MUST(plan_v1({ .cpu = CpuResources { .burst = 0 } }));
    ASSERT_EQ(zero.size(), 1u);
    EXPECT_TRUE(zero[0].skip_if_missing);
    auto some = MUST(plan_v1({ .cpu = CpuResources { .burst = 5 } }));
    EXPECT_FALSE(some[0].skip_if_missing);
}

TEST(CgroupPlanV1, KernelMemoryIsBestEffort)
{
    auto plan = MUST(plan_v1({ .memory = MemoryResources { .kernel = 1 << 20 } }));
    ASSERT_EQ(lines(plan), Lines { "memory:memory.kmem.limit_in_bytes=1048576" });
    EXPECT_TRUE(plan[0].skip_if_missing);
}

TEST(CgroupPlanV1, BlkioWeightFallsBackToBfq)
{
    auto plan = MUST(plan_v1({ .block_io = BlockIoResources { .weight = 100 } }));
    ASSERT_EQ(plan.size(), 1u);
    EXPECT_EQ(plan[0].fallback_file, "blkio.bfq.weight");
}

TEST(CgroupPlanV1, RefusesUnifiedAndBadInput)
{
    auto unified = plan_v1({ .unified = { { "memory.high", "1G" } } });
    ASSERT_TRUE(unified.is_error());
    EXPECT_EQ(unified.error().message(), "unified cgroup resources need cgroup v2, this host uses v1");
    auto size = plan_v1({ .hugepage_limits = { HugepageLimit { .page_size = "../2MB", .limit = 1 } } });
    ASSERT_TRUE(size.is_error());
    EXPECT_EQ(size.error().message(), "invalid hugepage size \"../2MB\"");
    auto type = plan_v1({ .devices = { DeviceRule { .allow = true, .type = "x" } } });
    ASSERT_TRUE(type.is_error());
    EXPECT_EQ(type.error().message(), "invalid device rule type \"x\"");
    auto access = plan_v1({ .devices = { DeviceRule { .allow = true, .access = "rx" } } });
    ASSERT_TRUE(access.is_error());
}

TEST(CgroupPlan, SharesToWeight)
{
    EXPECT_EQ(shares_to_weight(0), 0u); // unset
    EXPECT_EQ(shares_to_weight(2), 1u);
    EXPECT_EQ(shares_to_weight(1024), 39u); // runc and crun give 39 for the default
    EXPECT_EQ(shares_to_weight(512), 20u);
    EXPECT_EQ(shares_to_weight(262144), 10000u);
    EXPECT_EQ(shares_to_weight(1), 1u); // clamped like the v1 kernel
    EXPECT_EQ(shares_to_weight(1000000), 10000u);
}

TEST(CgroupPlan, BlkioWeightToIoWeight)
{
    EXPECT_EQ(blkio_weight_to_io_weight(10), 1u);
    EXPECT_EQ(blkio_weight_to_io_weight(1000), 10000u);
    EXPECT_EQ(blkio_weight_to_io_weight(500), 1 + 490 * 9999 / 990u);
}

TEST(CgroupPlan, SwapMaxV2)
{
    EXPECT_EQ(MUST(v2_swap_max(1000, 3000)), std::optional<std::string>("2000"));
    EXPECT_EQ(MUST(v2_swap_max(1000, 1000)), std::optional<std::string>("0"));
    EXPECT_EQ(MUST(v2_swap_max(1000, -1)), std::optional<std::string>("max"));
    EXPECT_EQ(MUST(v2_swap_max(-1, std::nullopt)), std::optional<std::string>("max"));
    EXPECT_EQ(MUST(v2_swap_max(1000, std::nullopt)), std::nullopt);
    EXPECT_EQ(MUST(v2_swap_max(1000, 0)), std::nullopt);
    auto below = v2_swap_max(3000, 1000);
    ASSERT_TRUE(below.is_error());
    EXPECT_EQ(below.error().message(), "memory.swap (1000) must be at least memory.limit (3000)");
    EXPECT_TRUE(v2_swap_max(std::nullopt, 1000).is_error());
    EXPECT_TRUE(v2_swap_max(-1, 1000).is_error());
}

TEST(CgroupPlanV2, FullResources)
{
    Resources r;
    r.memory = MemoryResources { .limit = 1 << 30,
                                 .reservation = 512 << 20,
                                 .swap = 3LL << 30,
                                 .kernel = 1 << 20,
                                 .swappiness = 60,
                                 .disable_oom_killer = false };
    r.cpu = CpuResources {
        .shares = 1024, .quota = 50000, .burst = 1000, .period = 100000, .cpus = "1", .mems = "0", .idle = 0
    };
    r.pids = PidsResources { .limit = -1 };
    r.block_io = BlockIoResources {
        .weight = 1000,
        .weight_device = { WeightDevice { .major = 8, .minor = 0, .weight = 10 } },
        .throttle_read_bps_device = { ThrottleDevice { .major = 8, .minor = 0, .rate = 4096 } },
        .throttle_write_bps_device = { ThrottleDevice { .major = 8, .minor = 0, .rate = 0 } },
        .throttle_read_iops_device = { ThrottleDevice { .major = 8, .minor = 0, .rate = 10 } },
        .throttle_write_iops_device = { ThrottleDevice { .major = 8, .minor = 0, .rate = 20 } },
    };
    r.hugepage_limits = { HugepageLimit { .page_size = "2MB", .limit = 2 << 20 } };
    r.unified = { { "memory.high", "900000000" }, { "pids.max", "7" } };
    EXPECT_EQ(v2(r),
              (Lines {
                  ":memory.swap.max=2147483648",
                  ":memory.max=1073741824",
                  ":memory.low=536870912",
                  ":cpu.weight=39",
                  ":cpu.max=50000 100000",
                  ":cpu.max.burst=1000",
                  ":cpu.idle=0",
                  ":cpuset.cpus=1",
                  ":cpuset.mems=0",
                  ":pids.max=max",
                  ":io.bfq.weight=1000",
                  ":io.bfq.weight=8:0 10",
                  ":io.max=8:0 rbps=4096",
                  ":io.max=8:0 wbps=max",
                  ":io.max=8:0 riops=10",
                  ":io.max=8:0 wiops=20",
                  ":hugetlb.2MB.max=2097152",
                  // unified last: it overrides what the fields above set
                  ":memory.high=900000000",
                  ":pids.max=7",
              }));
    auto plan = MUST(plan_v2(r));
    EXPECT_EQ(plan[10].fallback_file, "io.weight");
    EXPECT_EQ(plan[10].fallback_value, "default 10000");
    EXPECT_EQ(plan[11].fallback_value, "8:0 1");
}

TEST(CgroupPlanV2, CpuMaxForms)
{
    EXPECT_EQ(v2({ .cpu = CpuResources { .quota = 20000 } }), Lines { ":cpu.max=20000" });
    EXPECT_EQ(v2({ .cpu = CpuResources { .quota = -1, .period = 50000 } }), Lines { ":cpu.max=max 50000" });
    EXPECT_EQ(v2({ .cpu = CpuResources { .period = 50000 } }), Lines { ":cpu.max=max 50000" });
    EXPECT_EQ(v2({ .memory = MemoryResources { .limit = -1 } }), (Lines { ":memory.swap.max=max", ":memory.max=max" }));
}

TEST(CgroupPlanV2, RefusesWhatV2CannotDo)
{
    auto rt = plan_v2({ .cpu = CpuResources { .realtime_runtime = 1000 } });
    ASSERT_TRUE(rt.is_error());
    EXPECT_EQ(rt.error().message(), "realtime cpu limits are not supported on cgroup v2");
    auto devices = plan_v2({ .devices = { DeviceRule { .allow = false, .access = "rwx" } } });
    ASSERT_TRUE(devices.is_error());
    EXPECT_EQ(devices.error().message(), "invalid device rule access \"rwx\"");
    auto key = plan_v2({ .unified = { { "../../etc/passwd", "x" } } });
    ASSERT_TRUE(key.is_error());
    EXPECT_TRUE(plan_v2({ .unified = { { "nodot", "x" } } }).is_error());
}

TEST(CgroupPlanV2, DeviceRulesAreNoFileWrites)
{
    // v2 enforces them with an eBPF program (device_program_test.cpp), not files.
    Resources r { .devices = { DeviceRule { .allow = false, .access = "rwm" },
                               DeviceRule { .allow = true, .type = "c", .major = 1, .minor = 3 } } };
    EXPECT_EQ(v2(r), Lines {});
}

TEST(CgroupPlan, DeviceRulesRestrict)
{
    using R = std::vector<DeviceRule>;
    EXPECT_FALSE(device_rules_restrict({}));
    EXPECT_FALSE(device_rules_restrict(R { DeviceRule { .allow = true, .type = "c", .major = 1, .minor = 3 } }));
    EXPECT_TRUE(device_rules_restrict(R { DeviceRule { .allow = false, .type = "c", .major = 1, .minor = 3 } }));
    EXPECT_TRUE(device_rules_restrict(R { DeviceRule { .allow = false }, DeviceRule { .allow = true, .type = "c" } }));
    // A later allow-all lifts earlier denies; an allow-all with partial access does not.
    EXPECT_FALSE(device_rules_restrict(R { DeviceRule { .allow = false }, DeviceRule { .allow = true, .type = "a" } }));
    EXPECT_TRUE(
        device_rules_restrict(R { DeviceRule { .allow = false }, DeviceRule { .allow = true, .access = "rw" } }));
    EXPECT_TRUE(device_rules_restrict(
        R { DeviceRule { .allow = true }, DeviceRule { .allow = false, .type = "b", .major = 8 } }));
}

TEST(CgroupPlan, DeviceRuleLine)
{
    EXPECT_EQ(MUST(device_rule_line({ .allow = true })), "a *:* rwm");
    EXPECT_EQ(MUST(device_rule_line({ .allow = true, .type = "b", .major = 8, .minor = 0, .access = "r" })), "b 8:0 r");
    EXPECT_EQ(MUST(device_rule_line({ .allow = true, .type = "c", .minor = 7, .access = "" })), "c *:7 rwm");
}

TEST(CgroupPlan, ControllersToJoin)
{
    EXPECT_EQ(v1_core_controllers(),
              (Lines { "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids" }));
    EXPECT_EQ(v1_extra_controllers({}), Lines {});
    Resources r { .hugepage_limits = { HugepageLimit { .page_size = "2MB" } },
                  .network = NetworkResources { .class_id = 1 } };
    EXPECT_EQ(v1_extra_controllers(r), (Lines { "hugetlb", "net_cls" }));
    EXPECT_EQ(v2_controllers({ .unified = { { "rdma.max", "x" }, { "cgroup.type", "threaded" } } }),
              (Lines { "cpu", "cpuset", "io", "memory", "pids", "hugetlb", "rdma" }));
}

namespace {

DeviceRule allow(char const* type, std::optional<int64_t> major, std::optional<int64_t> minor, char const* access)
{
    return DeviceRule {
        .allow = true, .type = std::string(type), .major = major, .minor = minor, .access = std::string(access)
    };
}

std::vector<DeviceRule> deny_all_then(std::vector<DeviceRule> allows)
{
    allows.insert(allows.begin(), DeviceRule { .allow = false, .access = "rwm" });
    return allows;
}

} // namespace

TEST(CgroupPlanV1, DeviceUpdateWritesOnlyTheDifference)
{
    // devices.list as the kernel prints a default-deny cgroup.
    std::string current = "c 1:3 rwm\nc 1:5 rwm\nc 136:* rwm\nc 5:2 rw\n";
    auto rules = deny_all_then(
        { allow("c", 1, 3, "rwm"), allow("c", 136, {}, "rwm"), allow("c", 5, 2, "rwm"), allow("c", 10, 200, "rw") });
    auto plan = MUST(plan_v1_device_update(rules, current));
    ASSERT_TRUE(plan);
    EXPECT_EQ(lines(*plan),
              (Lines { "devices:devices.allow=c 10:200 rw", "devices:devices.allow=c 5:2 m",
                       "devices:devices.deny=c 1:5 rwm" }));
    // The same list again changes nothing, and never writes "a".
    auto same = MUST(plan_v1_device_update(deny_all_then({ allow("c", 1, 3, "rwm"), allow("c", 1, 5, "rwm"),
                                                           allow("c", 136, {}, "rwm"), allow("c", 5, 2, "rw") }),
                                           current));
    ASSERT_TRUE(same);
    EXPECT_EQ(lines(*same), Lines {});
}

TEST(CgroupPlanV1, DeviceUpdateFollowsKernelRuleSemantics)
{
    // A later deny of some bits under default-deny removes them from the exception.
    auto rules = deny_all_then(
        { allow("c", 1, 3, "rwm"), DeviceRule { .allow = false, .type = "c", .major = 1, .minor = 3, .access = "m" } });
    auto plan = MUST(plan_v1_device_update(rules, "c 1:3 rwm\n"));
    ASSERT_TRUE(plan);
    EXPECT_EQ(lines(*plan), Lines { "devices:devices.deny=c 1:3 m" });
}

TEST(CgroupPlanV1, DeviceUpdateFallsBackWhenStateIsUnknown)
{
    // Default allow: devices.list shows only "a *:* rwm", not the exceptions.
    EXPECT_EQ(MUST(plan_v1_device_update(deny_all_then({}), "a *:* rwm\n")), std::nullopt);
    // Target default allow.
    EXPECT_EQ(MUST(plan_v1_device_update({ DeviceRule { .allow = true } }, "c 1:3 rwm\n")), std::nullopt);
    EXPECT_TRUE(plan_v1_device_update({ allow("x", 1, 1, "r") }, "").is_error());
}
