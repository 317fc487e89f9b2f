// The v1 backend against a fixture tree shaped like this host: v1 hierarchies plus a
// cgroup2 "unified" mount that holds only hugetlb.
#include <algorithm>
#include <csignal>
#include <gtest/gtest.h>

#include "cgroup/manager.h"
#include "fixture_tree.h"

using namespace cryo;
using namespace cryo::cgroup;
using cryo::cgroup::testing::FixtureTree;
using cryo::cgroup::testing::read_fixture;

namespace {

char const* const v1_dirs[] = { "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids" };

// The hierarchies of mountinfo-hybrid with /cryo/web (and its parent) already present, as
// a real cgroupfs would show them after mkdir: files, not a kernel.
struct HybridTree : FixtureTree {
    std::string mountinfo_path;

    HybridTree()
    {
        mountinfo_path = mountinfo("mountinfo-hybrid");
        for (auto const* dir : v1_dirs)
            mkdir(std::string("fs/") + dir + "/cryo/web");
        mkdir("fs/systemd");
        write("fs/cpuset/cpuset.cpus", "0-1\n");
        write("fs/cpuset/cpuset.mems", "0\n");
        write("fs/cpuset/cryo/cpuset.cpus", "0-1\n");
        write("fs/cpuset/cryo/cpuset.mems", "0\n");
        touch("fs/cpuset/cryo/web", { "cpuset.cpus", "cpuset.mems" });
        write("fs/unified/cgroup.controllers", "hugetlb\n");
        touch("fs/unified", { "cgroup.subtree_control" });
        touch("fs/unified/cryo", { "cgroup.subtree_control" });
    }

    std::unique_ptr<Manager> open(std::string const& path = "/cryo/web")
    {
        auto manager = Manager::open({ .path = path, .fs_root = fs_root(), .mountinfo = mountinfo_path });
        EXPECT_TRUE(manager.has_value()) << (manager ? "" : manager.error().message());
        return manager.release_value();
    }
};

} // namespace

TEST(CgroupV1, ProbePicksV1ForHybridHost)
{
    HybridTree tree;
    auto manager = tree.open();
    EXPECT_EQ(manager->version(), Version::V1);
    EXPECT_EQ(manager->path(), "/cryo/web");
    auto paths = manager->paths();
    std::map<std::string, std::string> expected;
    for (auto const* dir : v1_dirs)
        expected[dir] = tree.fs_root() + "/" + dir + "/cryo/web";
    // hugetlb has no v1 hierarchy here: the unified mount serves it; name=systemd is no
    // controller to join.
    expected["hugetlb"] = tree.fs_root() + "/unified/cryo/web";
    EXPECT_EQ(paths, expected);
    ASSERT_EQ(manager->hierarchies().size(), 10u);
    EXPECT_EQ(manager->hierarchies()[9].controllers, std::vector<std::string> { "hugetlb" });
}

TEST(CgroupV1, RelativePathGoesUnderCryo)
{
    HybridTree tree;
    auto manager = tree.open("web");
    EXPECT_EQ(manager->path(), "/cryo/web");
    EXPECT_EQ(manager->paths()["memory"], tree.fs_root() + "/memory/cryo/web");
}

TEST(CgroupV1, CreateWritesExactlyThePlan)
{
    HybridTree tree;
    tree.touch("fs/memory/cryo/web", { "memory.limit_in_bytes", "memory.memsw.limit_in_bytes" });
    tree.touch("fs/pids/cryo/web", { "pids.max" });
    tree.touch("fs/cpu/cryo/web", { "cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us" });
    tree.touch("fs/devices/cryo/web", { "devices.allow", "devices.deny" });
    tree.touch("fs/unified/cryo/web", { "hugetlb.2MB.max" });
    auto manager = tree.open();
    Resources resources;
    resources.memory = MemoryResources { .limit = 64 << 20, .swap = 128 << 20 };
    resources.pids = PidsResources { .limit = 32 };
    resources.cpu = CpuResources { .shares = 512, .quota = 50000, .period = 100000 };
    resources.devices = { DeviceRule { .allow = false, .access = "rwm" },
                          DeviceRule { .allow = true, .type = "c", .major = 1, .minor = 3, .access = "rwm" },
                          DeviceRule { .allow = true, .type = "c", .major = 1, .minor = 5, .access = "rw" } };
    resources.hugepage_limits = { HugepageLimit { .page_size = "2MB", .limit = 4 << 20 } };
    auto created = manager->create(resources);
    ASSERT_TRUE(created.has_value()) << created.error().message();

    EXPECT_EQ(tree.read("fs/memory/cryo/web/memory.limit_in_bytes"), "67108864");
    EXPECT_EQ(tree.read("fs/memory/cryo/web/memory.memsw.limit_in_bytes"), "134217728");
    EXPECT_EQ(tree.read("fs/pids/cryo/web/pids.max"), "32");
    EXPECT_EQ(tree.read("fs/cpu/cryo/web/cpu.shares"), "512");
    EXPECT_EQ(tree.read("fs/cpu/cryo/web/cpu.cfs_period_us"), "100000");
    EXPECT_EQ(tree.read("fs/cpu/cryo/web/cpu.cfs_quota_us"), "50000");
    EXPECT_EQ(tree.read("fs/devices/cryo/web/devices.deny"), "a *:* rwm");
    // Two rules, two write(2)s on one open file (a regular file appends them).
    EXPECT_EQ(tree.read("fs/devices/cryo/web/devices.allow"), "c 1:3 rwmc 1:5 rw");
    // The empty cpuset got its parent's cpus and mems, or no task could join it.
    EXPECT_EQ(tree.read("fs/cpuset/cryo/web/cpuset.cpus"), "0-1");
    EXPECT_EQ(tree.read("fs/cpuset/cryo/web/cpuset.mems"), "0");
    // hugetlb through the unified mount: enabled down the tree, v2 file names.
    EXPECT_EQ(tree.read("fs/unified/cgroup.subtree_control"), "+hugetlb");
    EXPECT_EQ(tree.read("fs/unified/cryo/cgroup.subtree_control"), "+hugetlb");
    EXPECT_EQ(tree.read("fs/unified/cryo/web/hugetlb.2MB.max"), "4194304");
    // Nothing else was opened or made: no file the plan does not name, no systemd cgroup.
    EXPECT_FALSE(tree.exists("fs/memory/cryo/web/memory.swappiness"));
    EXPECT_FALSE(tree.exists("fs/systemd/cryo"));
}

TEST(CgroupV1, CreateWithoutHugepagesLeavesUnifiedAlone)
{
    HybridTree tree;
    auto manager = tree.open();
    ASSERT_TRUE(manager->create({}).has_value());
    EXPECT_FALSE(tree.exists("fs/unified/cryo/web"));
    EXPECT_EQ(tree.read("fs/unified/cgroup.subtree_control"), "");
}

TEST(CgroupV1, CpusetKeepsRequestedCpus)
{
    HybridTree tree;
    auto manager = tree.open();
    ASSERT_TRUE(manager->create({ .cpu = CpuResources { .cpus = "1" } }).has_value());
    EXPECT_EQ(tree.read("fs/cpuset/cryo/web/cpuset.cpus"), "1");
    EXPECT_EQ(tree.read("fs/cpuset/cryo/web/cpuset.mems"), "0");
}

TEST(CgroupV1, CpusetFillsAnEmptyParentFirst)
{
    HybridTree tree;
    tree.write("fs/cpuset/cryo/cpuset.cpus", "\n");
    tree.write("fs/cpuset/cryo/cpuset.mems", "\n");
    auto manager = tree.open();
    ASSERT_TRUE(manager->create({}).has_value());
    EXPECT_EQ(tree.read("fs/cpuset/cryo/cpuset.cpus"), "0-1");
    EXPECT_EQ(tree.read("fs/cpuset/cryo/web/cpuset.cpus"), "0-1");
    EXPECT_EQ(tree.read("fs/cpuset/cryo/web/cpuset.mems"), "0");
}

TEST(CgroupV1, FailedCreateRemovesWhatItMade)
{
    HybridTree tree;
    // A fresh cgroup in a fixture has no control files, so the cpuset copy fails: the
    // directories made so far must go again.
    auto manager = tree.open("/cryo/fresh/leaf");
    auto created = manager->create({});
    ASSERT_TRUE(created.is_error());
    EXPECT_EQ(created.error().message(),
              "create cgroup " + tree.fs_root() + "/cpuset/cryo/fresh: open " + tree.fs_root()
                  + "/cpuset/cryo/fresh/cpuset.cpus: No such file or directory");
    for (auto const* dir : v1_dirs) {
        EXPECT_FALSE(tree.exists(std::string("fs/") + dir + "/cryo/fresh")) << dir;
        EXPECT_TRUE(tree.exists(std::string("fs/") + dir + "/cryo/web")) << dir;
    }
}

TEST(CgroupV1, BadSpecFailsBeforeAnyMkdir)
{
    HybridTree tree;
    auto manager = tree.open("/cryo/other");
    auto created = manager->create({ .unified = { { "memory.high", "1" } } });
    ASSERT_TRUE(created.is_error());
    for (auto const* dir : v1_dirs)
        EXPECT_FALSE(tree.exists(std::string("fs/") + dir + "/cryo/other")) << dir;
}

TEST(CgroupV1, MissingControllerIsAClearError)
{
    HybridTree tree;
    auto manager = tree.open();
    auto created = manager->create({ .network = NetworkResources { .class_id = 7 } });
    ASSERT_TRUE(created.is_error());
    EXPECT_EQ(created.error().message(), "cgroup controller net_cls is not mounted under " + tree.fs_root());
}

TEST(CgroupV1, UpdateTouchesOnlyWhatItNames)
{
    HybridTree tree;
    tree.write("fs/memory/cryo/web/memory.limit_in_bytes", "67108864\n");
    tree.write("fs/memory/cryo/web/memory.memsw.limit_in_bytes", "134217728\n");
    tree.write("fs/pids/cryo/web/pids.max", "32\n");
    auto manager = tree.open();
    ASSERT_TRUE(manager->update({ .memory = MemoryResources { .limit = 256 << 20, .swap = 512 << 20 } }).has_value());
    EXPECT_EQ(tree.read("fs/memory/cryo/web/memory.limit_in_bytes"), "268435456");
    EXPECT_EQ(tree.read("fs/memory/cryo/web/memory.memsw.limit_in_bytes"), "536870912");
    EXPECT_EQ(tree.read("fs/pids/cryo/web/pids.max"), "32\n");
    auto failed = manager->update({ .cpu = CpuResources { .shares = 10 } });
    ASSERT_TRUE(failed.is_error());
    EXPECT_EQ(failed.error().message(),
              "update cgroup /cryo/web: open " + tree.fs_root()
                  + "/cpu/cryo/web/cpu.shares: No such file or directory");
}

TEST(CgroupV1, AddProcessAndJoinHandles)
{
    HybridTree tree;
    for (auto const* dir : v1_dirs)
        tree.touch(std::string("fs/") + dir + "/cryo/web", { "cgroup.procs", "tasks" });
    auto manager = tree.open();
    ASSERT_TRUE(manager->add_process(4242).has_value());
    for (auto const* dir : v1_dirs)
        EXPECT_EQ(tree.read(std::string("fs/") + dir + "/cryo/web/cgroup.procs"), "4242") << dir;
    // The unified cgroup does not exist (no hugetlb limits): skipped, not an error.
    EXPECT_FALSE(tree.exists("fs/unified/cryo/web"));

    auto handles = MUST(manager->open_join_handles());
    EXPECT_EQ(handles.tasks.size(), 8u);
    EXPECT_FALSE(handles.unified_dir.valid());
    EXPECT_FALSE(handles.unified_procs.valid());
    ASSERT_TRUE(join_self(handles, false).has_value());
    for (auto const* dir : v1_dirs)
        EXPECT_EQ(tree.read(std::string("fs/") + dir + "/cryo/web/tasks"), "0") << dir;
}

TEST(CgroupV1, JoinHandlesIncludeUnifiedWhenCreatedThere)
{
    HybridTree tree;
    tree.touch("fs/unified/cryo/web", { "cgroup.procs" });
    tree.touch("fs/memory/cryo/web", { "tasks" });
    auto manager = tree.open();
    auto handles = MUST(manager->open_join_handles());
    EXPECT_EQ(handles.tasks.size(), 1u);
    ASSERT_TRUE(handles.unified_dir.valid());
    ASSERT_TRUE(join_self(handles, true).has_value());
    EXPECT_EQ(tree.read("fs/unified/cryo/web/cgroup.procs"), ""); // cloned into it already
    ASSERT_TRUE(join_self(handles, false).has_value());
    EXPECT_EQ(tree.read("fs/unified/cryo/web/cgroup.procs"), "0");
}

TEST(CgroupV1, AddProcessToMissingCgroupFails)
{
    HybridTree tree;
    auto manager = tree.open("/nothing/here");
    auto added = manager->add_process(1);
    ASSERT_TRUE(added.is_error());
    EXPECT_EQ(added.error().message(), "add process 1 to cgroup /nothing/here: No such file or directory");
}

TEST(CgroupV1, FreezeAndThaw)
{
    HybridTree tree;
    tree.write("fs/freezer/cryo/web/freezer.state", "THAWED\n");
    auto manager = tree.open();
    EXPECT_EQ(MUST(manager->freezer_state()), FreezerState::Thawed);
    ASSERT_TRUE(manager->freeze(std::chrono::milliseconds(100)).has_value());
    EXPECT_EQ(tree.read("fs/freezer/cryo/web/freezer.state"), "FROZEN");
    EXPECT_EQ(MUST(manager->freezer_state()), FreezerState::Frozen);
    ASSERT_TRUE(manager->thaw().has_value());
    EXPECT_EQ(tree.read("fs/freezer/cryo/web/freezer.state"), "THAWED");
}

TEST(CgroupV1, PidsAreRecursiveAndSorted)
{
    HybridTree tree;
    tree.write("fs/pids/cryo/web/cgroup.procs", "30\n10\n");
    tree.write("fs/pids/cryo/web/inner/cgroup.procs", "20\n");
    tree.write("fs/pids/cryo/web/inner/deeper/cgroup.procs", "");
    auto manager = tree.open();
    EXPECT_EQ(MUST(manager->pids()), (std::vector<pid_t> { 10, 20, 30 }));
}

TEST(CgroupV1, DestroyRemovesLeafFirstAndKeepsBusyParent)
{
    HybridTree tree;
    tree.mkdir("fs/memory/cryo/web/inner/deeper");
    for (auto const* dir : v1_dirs)
        tree.mkdir(std::string("fs/") + dir + "/cryo/other"); // another container
    tree.mkdir("fs/unified/cryo/web");
    // Fixture cgroups must be empty directories to be rmdir-able.
    (void)sys::remove_all(tree.path("fs/cpuset/cryo/web/cpuset.cpus"));
    (void)sys::remove_all(tree.path("fs/cpuset/cryo/web/cpuset.mems"));
    auto manager = tree.open();
    auto destroyed = manager->destroy();
    ASSERT_TRUE(destroyed.has_value()) << destroyed.error().message();
    for (auto const* dir : v1_dirs) {
        EXPECT_FALSE(tree.exists(std::string("fs/") + dir + "/cryo/web")) << dir;
        EXPECT_TRUE(tree.exists(std::string("fs/") + dir + "/cryo")) << dir;
    }
    EXPECT_FALSE(tree.exists("fs/unified/cryo/web"));
    // Destroying again finds nothing and is fine.
    EXPECT_TRUE(manager->destroy().has_value());
}

TEST(CgroupV1, DestroyRemovesTheSharedParentWhenItIsLeftEmpty)
{
    HybridTree tree;
    (void)sys::remove_all(tree.path("fs/cpuset/cryo/web/cpuset.cpus"));
    (void)sys::remove_all(tree.path("fs/cpuset/cryo/web/cpuset.mems"));
    auto manager = tree.open();
    ASSERT_TRUE(manager->destroy().has_value());
    EXPECT_FALSE(tree.exists("fs/memory/cryo/web"));
    EXPECT_FALSE(tree.exists("fs/memory/cryo")) << "an empty /cryo is removed with its last container";
    EXPECT_FALSE(tree.exists("fs/pids/cryo"));
}

TEST(CgroupV1, Stats)
{
    HybridTree tree;
    auto memory = std::string("fs/memory/cryo/web/memory.");
    tree.write(memory + "usage_in_bytes", "4096\n");
    tree.write(memory + "max_usage_in_bytes", "8192\n");
    tree.write(memory + "limit_in_bytes", "67108864\n");
    tree.write(memory + "failcnt", "3\n");
    tree.write(memory + "memsw.usage_in_bytes", "5000\n");
    tree.write(memory + "memsw.limit_in_bytes", "134217728\n");
    tree.write(memory + "soft_limit_in_bytes", "9223372036854771712\n");
    tree.write(memory + "oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
    tree.write(memory + "stat", read_fixture("v1-memory.stat"));
    tree.write("fs/cpuacct/cryo/web/cpuacct.usage", "5000000\n");
    tree.write("fs/cpuacct/cryo/web/cpuacct.usage_percpu", "3000000 2000000 \n");
    tree.write("fs/cpuacct/cryo/web/cpuacct.stat", "user 3\nsystem 1\n");
    tree.write("fs/cpu/cryo/web/cpu.stat",
               "nr_periods 10\nnr_throttled 2\nthrottled_time 777\nnr_bursts 0\nburst_time 0\n");
    tree.write("fs/pids/cryo/web/pids.current", "4\n");
    tree.write("fs/pids/cryo/web/pids.max", "max\n");
    tree.write("fs/blkio/cryo/web/blkio.throttle.io_service_bytes_recursive",
               read_fixture("v1-blkio.io_service_bytes_recursive"));
    tree.write("fs/unified/cryo/web/hugetlb.2MB.current", "2097152\n");
    tree.write("fs/unified/cryo/web/hugetlb.2MB.max", "4194304\n");
    tree.write("fs/unified/cryo/web/hugetlb.2MB.events", "max 1\n");
    tree.write("fs/unified/cryo/web/hugetlb.2MB.rsvd.current", "0\n");
    auto manager = tree.open();
    auto stats = MUST(manager->stats());

    ASSERT_TRUE(stats.memory);
    EXPECT_EQ(stats.memory->usage, (MemoryEntry { .usage = 4096, .max_usage = 8192, .limit = 67108864, .failcnt = 3 }));
    EXPECT_EQ(stats.memory->swap, (MemoryEntry { .usage = 5000, .max_usage = 0, .limit = 134217728, .failcnt = 0 }));
    EXPECT_EQ(stats.memory->cache, 10137600u);
    EXPECT_EQ(stats.memory->stats.size(), 42u);
    EXPECT_EQ(stats.memory->events.at("oom_kill"), 2u);
    EXPECT_EQ(stats.memory->barrier, 9223372036854771712u);
    ASSERT_TRUE(stats.cpu);
    EXPECT_EQ(stats.cpu->usage.total, 5000000u);
    EXPECT_EQ(stats.cpu->usage.percpu, (std::vector<uint64_t> { 3000000, 2000000 }));
    EXPECT_EQ(stats.cpu->usage.user, 30000000u); // 3 ticks of 10 ms
    EXPECT_EQ(stats.cpu->usage.kernel, 10000000u);
    EXPECT_EQ(stats.cpu->throttling, (CpuThrottling { .periods = 10, .throttled_periods = 2, .throttled_time = 777 }));
    ASSERT_TRUE(stats.pids);
    EXPECT_EQ(stats.pids->current, 4u);
    EXPECT_EQ(stats.pids->limit, 0u); // unlimited, as runc reports it
    ASSERT_TRUE(stats.blkio);
    EXPECT_EQ(stats.blkio->io_service_bytes_recursive.size(), 12u);
    EXPECT_TRUE(stats.blkio->io_serviced_recursive.empty());
    ASSERT_EQ(stats.hugetlb.size(), 1u);
    EXPECT_EQ(stats.hugetlb.at("2MB"),
              (HugetlbStats { .usage = 2097152, .max_usage = 0, .limit = 4194304, .failcnt = 1 }));

    auto rows = beancounters(stats);
    ASSERT_GE(rows.size(), 3u);
    EXPECT_EQ(rows[0],
              (Beancounter { .resource = "memory",
                             .held = 4096,
                             .maxheld = 8192,
                             .barrier = 9223372036854771712u,
                             .limit = 67108864,
                             .failcnt = 3 }));
    auto pids = std::find_if(rows.begin(), rows.end(), [](auto const& row) { return row.resource == "pids"; });
    ASSERT_NE(pids, rows.end());
    EXPECT_EQ(pids->limit, UINT64_MAX);
    EXPECT_EQ(rows.back().resource, "hugetlb.2MB");
}

TEST(CgroupV1, StatsOfMissingCgroupFail)
{
    HybridTree tree;
    auto manager = tree.open("/gone");
    auto stats = manager->stats();
    ASSERT_TRUE(stats.is_error());
    EXPECT_TRUE(stats.error().is_errno(ENOENT));
}

TEST(CgroupProbe, Errors)
{
    FixtureTree tree;
    tree.write("empty-mountinfo", "22 1 253:0 / / rw,relatime - ext4 /dev/vda rw\n");
    auto none = Manager::open({ .path = "/x", .fs_root = tree.path("fs"), .mountinfo = tree.path("empty-mountinfo") });
    ASSERT_TRUE(none.is_error());
    EXPECT_EQ(none.error().message(), "probe cgroup hierarchies: none mounted under " + tree.path("fs"));
    auto v2_as_v1 = Manager::open(
        { .path = "/x", .fs_root = tree.fs_root(), .mountinfo = tree.mountinfo("mountinfo-v2"), .mode = Mode::V1 });
    ASSERT_TRUE(v2_as_v1.is_error());
    EXPECT_EQ(v2_as_v1.error().message(), "probe cgroup hierarchies: " + tree.fs_root() + " is cgroup v2, not v1");
    auto bad_path
        = Manager::open({ .path = "/a/../b", .fs_root = tree.fs_root(), .mountinfo = tree.path("mountinfo") });
    ASSERT_TRUE(bad_path.is_error());
}

TEST(CgroupV1, KillAllSignalsEveryProcessWhileFrozen)
{
    HybridTree tree;
    tree.write("fs/freezer/cryo/web/freezer.state", "THAWED\n");
    tree.write("fs/pids/cryo/web/cgroup.procs", "");
    auto manager = tree.open();
    // No processes: freeze, signal nobody, thaw again.
    ASSERT_TRUE(manager->kill_all(SIGTERM).has_value());
    EXPECT_EQ(tree.read("fs/freezer/cryo/web/freezer.state"), "THAWED");
    EXPECT_TRUE(tree.open("/cryo/gone")->kill_all(SIGKILL).has_value());
}

TEST(CgroupV1, UpdateOfDeviceRulesWritesTheDifference)
{
    HybridTree tree;
    tree.write("fs/devices/cryo/web/devices.list", "c 1:3 rwm\nc 1:5 rwm\n");
    tree.touch("fs/devices/cryo/web", { "devices.allow", "devices.deny" });
    auto manager = tree.open();
    std::vector<DeviceRule> rules { DeviceRule { .allow = false, .access = "rwm" },
                                    DeviceRule { .allow = true, .type = "c", .major = 1, .minor = 3, .access = "rwm" },
                                    DeviceRule {
                                        .allow = true, .type = "c", .major = 1, .minor = 9, .access = "rwm" } };
    ASSERT_TRUE(manager->update({ .devices = rules }).has_value());
    EXPECT_EQ(tree.read("fs/devices/cryo/web/devices.allow"), "c 1:9 rwm");
    EXPECT_EQ(tree.read("fs/devices/cryo/web/devices.deny"), "c 1:5 rwm");
}

TEST(CgroupV1, SystemdStyleCoMountedHierarchies)
{
    FixtureTree tree;
    auto mountinfo = tree.mountinfo("mountinfo-systemd-v1");
    for (auto const* dir :
         { "cpu,cpuacct", "net_cls,net_prio", "memory", "hugetlb", "pids", "freezer", "cpuset", "devices", "blkio" })
        tree.mkdir(std::string("fs/") + dir + "/web");
    tree.write("fs/cpuset/cpuset.cpus", "0-3\n");
    tree.write("fs/cpuset/cpuset.mems", "0\n");
    tree.touch("fs/cpuset/web", { "cpuset.cpus", "cpuset.mems" });
    tree.touch("fs/cpu,cpuacct/web", { "cpu.shares", "cgroup.procs" });
    tree.touch("fs/hugetlb/web", { "hugetlb.2MB.limit_in_bytes" });
    tree.touch("fs/net_cls,net_prio/web", { "net_cls.classid", "net_prio.ifpriomap", "cgroup.procs" });
    auto manager = MUST(Manager::open({ .path = "/web", .fs_root = tree.fs_root(), .mountinfo = mountinfo }));
    auto paths = manager->paths();
    EXPECT_EQ(paths.at("cpu"), tree.fs_root() + "/cpu,cpuacct/web");
    EXPECT_EQ(paths.at("cpuacct"), tree.fs_root() + "/cpu,cpuacct/web");
    EXPECT_EQ(paths.at("hugetlb"), tree.fs_root() + "/hugetlb/web");
    EXPECT_EQ(paths.at("net_prio"), tree.fs_root() + "/net_cls,net_prio/web");
    EXPECT_FALSE(paths.contains("perf_event")); // mounted, but not a controller we place containers in
    Resources resources;
    resources.cpu = CpuResources { .shares = 256 };
    resources.hugepage_limits = { HugepageLimit { .page_size = "2MB", .limit = 2 << 20 } };
    resources.network = NetworkResources { .class_id = 0x10001,
                                           .priorities = { InterfacePriority { .name = "eth0", .priority = 3 },
                                                           InterfacePriority { .name = "lo", .priority = 1 } } };
    auto created = manager->create(resources);
    ASSERT_TRUE(created.has_value()) << created.error().message();
    EXPECT_EQ(tree.read("fs/cpu,cpuacct/web/cpu.shares"), "256");
    EXPECT_EQ(tree.read("fs/hugetlb/web/hugetlb.2MB.limit_in_bytes"), "2097152");
    EXPECT_EQ(tree.read("fs/net_cls,net_prio/web/net_cls.classid"), "65537");
    EXPECT_EQ(tree.read("fs/net_cls,net_prio/web/net_prio.ifpriomap"), "eth0 3lo 1");
    EXPECT_EQ(tree.read("fs/cpuset/web/cpuset.cpus"), "0-3");
    // Co-mounted hierarchies are joined through their one directory.
    ASSERT_TRUE(manager->add_process(9).has_value());
    EXPECT_EQ(tree.read("fs/cpu,cpuacct/web/cgroup.procs"), "9");
    EXPECT_EQ(tree.read("fs/net_cls,net_prio/web/cgroup.procs"), "9");
    EXPECT_FALSE(tree.exists("fs/systemd/web"));
    EXPECT_FALSE(tree.exists("fs/unified/web"));
}
