// Parsers of control files and mountinfo, against fixture files.
#include <gtest/gtest.h>

#include "cgroup/parse.h"
#include "fixture_tree.h"

using namespace cryo;
using namespace cryo::cgroup;
using cryo::cgroup::testing::read_fixture;

namespace {

std::vector<std::string> mount_points(std::vector<Hierarchy> const& hierarchies)
{
    std::vector<std::string> out;
    for (auto const& h : hierarchies)
        out.push_back(h.mount_point);
    return out;
}

} // namespace

TEST(CgroupMountinfo, HybridHostOfThisMachine)
{
    auto hierarchies = parse_cgroup_mounts(read_fixture("mountinfo-hybrid"), "/sys/fs/cgroup");
    ASSERT_EQ(hierarchies.size(), 10u);
    EXPECT_EQ(hierarchies[0],
              (Hierarchy { .version = Version::V1, .mount_point = "/sys/fs/cgroup/cpu", .controllers = { "cpu" } }));
    EXPECT_EQ(hierarchies[8],
              (Hierarchy { .version = Version::V1,
                           .mount_point = "/sys/fs/cgroup/systemd",
                           .controllers = { "name=systemd" } }));
    // The cgroup2 mount's controllers live in its cgroup.controllers, not in mountinfo.
    EXPECT_EQ(hierarchies[9],
              (Hierarchy { .version = Version::V2, .mount_point = "/sys/fs/cgroup/unified", .controllers = {} }));
}

TEST(CgroupMountinfo, SystemdStyleCoMounts)
{
    auto hierarchies = parse_cgroup_mounts(read_fixture("mountinfo-systemd-v1"), "/sys/fs/cgroup");
    EXPECT_EQ(mount_points(hierarchies),
              (std::vector<std::string> { "/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd",
                                          "/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/net_cls,net_prio",
                                          "/sys/fs/cgroup/memory", "/sys/fs/cgroup/hugetlb", "/sys/fs/cgroup/pids",
                                          "/sys/fs/cgroup/freezer", "/sys/fs/cgroup/cpuset", "/sys/fs/cgroup/devices",
                                          "/sys/fs/cgroup/blkio", "/sys/fs/cgroup/perf_event" }));
    EXPECT_EQ(hierarchies[2].controllers, (std::vector<std::string> { "cpu", "cpuacct" }));
    // Mount options that are not controllers (xattr, clone_children) are dropped.
    EXPECT_EQ(hierarchies[1].controllers, (std::vector<std::string> { "name=systemd" }));
    EXPECT_EQ(hierarchies[8].controllers, (std::vector<std::string> { "cpuset" }));
}

TEST(CgroupMountinfo, PureV2)
{
    auto hierarchies = parse_cgroup_mounts(read_fixture("mountinfo-v2"), "/sys/fs/cgroup");
    ASSERT_EQ(hierarchies.size(), 1u);
    EXPECT_EQ(hierarchies[0].version, Version::V2);
    EXPECT_EQ(hierarchies[0].mount_point, "/sys/fs/cgroup");
}

TEST(CgroupMountinfo, OtherRootAndEscapes)
{
    // Only mounts under fs_root count; mount points are unescaped (\040 is a space).
    auto hierarchies = parse_cgroup_mounts(read_fixture("mountinfo-systemd-v1"), "/mnt");
    ASSERT_EQ(hierarchies.size(), 1u);
    EXPECT_EQ(hierarchies[0].mount_point, "/mnt/memory copy");
    EXPECT_TRUE(parse_cgroup_mounts("garbage\n\n1 2 3\n", "/sys/fs/cgroup").empty());
}

TEST(CgroupParse, Values)
{
    EXPECT_EQ(parse_value("123\n"), 123u);
    EXPECT_EQ(parse_value("max\n"), unlimited);
    EXPECT_EQ(parse_value(""), std::nullopt);
    EXPECT_EQ(parse_value("-1"), std::nullopt);
    EXPECT_EQ(parse_value("12a"), std::nullopt);
    EXPECT_EQ(parse_list("10 20 30 \n"), (std::vector<uint64_t> { 10, 20, 30 }));
    EXPECT_EQ(parse_list(""), std::vector<uint64_t> {});
}

TEST(CgroupParse, V1MemoryStat)
{
    auto stat = parse_flat_keyed(read_fixture("v1-memory.stat"));
    EXPECT_EQ(stat.size(), 42u);
    EXPECT_EQ(stat.at("cache"), 10137600u);
    EXPECT_EQ(stat.at("rss"), 12054528u);
    EXPECT_EQ(stat.at("hierarchical_memory_limit"), 9223372036854771712u);
    EXPECT_EQ(stat.at("total_pgfault"), 24390063u);
}

TEST(CgroupParse, V2CpuStatAndEvents)
{
    auto cpu = parse_flat_keyed(read_fixture("v2-cpu.stat"));
    EXPECT_EQ(cpu.at("usage_usec"), 1234567u);
    EXPECT_EQ(cpu.at("nr_throttled"), 7u);
    EXPECT_EQ(cpu.at("core_sched.force_idle_usec"), 0u);
    auto events = parse_flat_keyed(read_fixture("v2-memory.events"));
    EXPECT_EQ(events.at("max"), 12u);
    EXPECT_EQ(events.at("oom_kill"), 1u);
}

TEST(CgroupParse, BlkioV1)
{
    auto entries = parse_blkio_v1(read_fixture("v1-blkio.io_service_bytes_recursive"));
    ASSERT_EQ(entries.size(), 12u); // the device-less "Total" line is dropped
    EXPECT_EQ(entries[1], (BlkioEntry { .major = 8, .minor = 16, .op = "Write", .value = 1048576 }));
    EXPECT_EQ(entries[11], (BlkioEntry { .major = 8, .minor = 0, .op = "Total", .value = 532480 }));
}

TEST(CgroupParse, IoStatV2)
{
    auto io = parse_io_stat(read_fixture("v2-io.stat"));
    ASSERT_EQ(io.io_service_bytes_recursive.size(), 6u);
    ASSERT_EQ(io.io_serviced_recursive.size(), 6u);
    EXPECT_EQ(io.io_service_bytes_recursive[0],
              (BlkioEntry { .major = 8, .minor = 16, .op = "Read", .value = 1459200 }));
    EXPECT_EQ(io.io_service_bytes_recursive[5],
              (BlkioEntry { .major = 8, .minor = 0, .op = "Discard", .value = 50331648 }));
    EXPECT_EQ(io.io_serviced_recursive[4], (BlkioEntry { .major = 8, .minor = 0, .op = "Write", .value = 1252 }));
}

TEST(CgroupParse, FreezerAndHugetlbNames)
{
    EXPECT_EQ(parse_freezer_state("FROZEN\n"), FreezerState::Frozen);
    EXPECT_EQ(parse_freezer_state("FREEZING\n"), FreezerState::Freezing);
    EXPECT_EQ(parse_freezer_state("THAWED"), FreezerState::Thawed);
    EXPECT_EQ(parse_freezer_state("melted"), std::nullopt);
    EXPECT_EQ(hugetlb_page_size("hugetlb.2MB.limit_in_bytes"), "2MB");
    EXPECT_EQ(hugetlb_page_size("hugetlb.1GB.rsvd.max"), "1GB");
    EXPECT_EQ(hugetlb_page_size("memory.max"), std::nullopt);
    EXPECT_EQ(hugetlb_page_size("hugetlb..max"), std::nullopt);
}

TEST(CgroupPath, Normalize)
{
    EXPECT_EQ(MUST(normalize_cgroup_path("/a/b")), "/a/b");
    EXPECT_EQ(MUST(normalize_cgroup_path("//a//./b/")), "/a/b");
    EXPECT_EQ(MUST(normalize_cgroup_path("web")), "/cryo/web");
    EXPECT_EQ(MUST(normalize_cgroup_path("pods/web")), "/cryo/pods/web");
    EXPECT_TRUE(normalize_cgroup_path("").is_error());
    EXPECT_TRUE(normalize_cgroup_path("/").is_error());
    auto dots = normalize_cgroup_path("/a/../../etc");
    ASSERT_TRUE(dots.is_error());
    EXPECT_EQ(dots.error().message(), "invalid cgroup path \"/a/../../etc\": \"..\" is not allowed");
}
