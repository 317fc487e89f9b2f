// The v2 backend against a fixture tree shaped like a pure cgroup2 host.
#include <csignal>
#include <gtest/gtest.h>

#include "cgroup/manager.h"
#include "fixture_tree.h"

using namespace cryo;
using namespace cryo::cgroup;
using cryo::cgroup::testing::FixtureTree;
using cryo::cgroup::testing::read_fixture;

namespace {

struct V2Tree : FixtureTree {
    std::string mountinfo_path;

    V2Tree()
    {
        mountinfo_path = mountinfo("mountinfo-v2");
        write("fs/cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
        touch("fs", { "cgroup.subtree_control" });
        write("fs/cryo/cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
        touch("fs/cryo", { "cgroup.subtree_control" });
        touch("fs/cryo/web", { "cgroup.procs", "cgroup.freeze", "cgroup.kill" });
    }

    std::unique_ptr<Manager> open(std::string const& path = "/cryo/web", Mode mode = Mode::Auto)
    {
        auto manager = Manager::open({ .path = path, .fs_root = fs_root(), .mountinfo = mountinfo_path, .mode = mode });
        EXPECT_TRUE(manager.has_value()) << (manager ? "" : manager.error().message());
        return manager.release_value();
    }
};

} // namespace

TEST(CgroupV2, ProbePicksV2ForPureUnifiedHost)
{
    V2Tree tree;
    auto manager = tree.open();
    EXPECT_EQ(manager->version(), Version::V2);
    EXPECT_EQ(manager->paths(), (std::map<std::string, std::string> { { "", tree.fs_root() + "/cryo/web" } }));
    // Forcing V2 needs no mountinfo at all.
    auto forced
        = Manager::open({ .path = "/x", .fs_root = tree.fs_root(), .mountinfo = "/nonexistent", .mode = Mode::V2 });
    ASSERT_TRUE(forced.has_value());
    EXPECT_EQ((*forced)->version(), Version::V2);
}

TEST(CgroupV2, CreateEnablesControllersAndWritesPlan)
{
    V2Tree tree;
    tree.touch("fs/cryo/web", { "memory.max", "memory.swap.max", "cpu.weight", "cpu.max", "pids.max", "io.weight" });
    auto manager = tree.open();
    Resources resources;
    resources.memory = MemoryResources { .limit = 1 << 30, .swap = 3LL << 30 };
    resources.cpu = CpuResources { .shares = 1024, .quota = 50000, .period = 100000 };
    resources.pids = PidsResources { .limit = 100 };
    resources.block_io = BlockIoResources { .weight = 1000 };
    auto created = manager->create(resources);
    ASSERT_TRUE(created.has_value()) << created.error().message();
    // Every level above the container lets its children use the controllers (misc and
    // rdma are offered but not needed).
    EXPECT_EQ(tree.read("fs/cgroup.subtree_control"), "+cpu +cpuset +io +memory +pids +hugetlb");
    EXPECT_EQ(tree.read("fs/cryo/cgroup.subtree_control"), "+cpu +cpuset +io +memory +pids +hugetlb");
    EXPECT_EQ(tree.read("fs/cryo/web/memory.max"), "1073741824");
    EXPECT_EQ(tree.read("fs/cryo/web/memory.swap.max"), "2147483648"); // swap alone = 3G - 1G
    EXPECT_EQ(tree.read("fs/cryo/web/cpu.weight"), "39");
    EXPECT_EQ(tree.read("fs/cryo/web/cpu.max"), "50000 100000");
    EXPECT_EQ(tree.read("fs/cryo/web/pids.max"), "100");
    // No io.bfq.weight here: the fallback file gets the converted weight.
    EXPECT_EQ(tree.read("fs/cryo/web/io.weight"), "default 10000");
    EXPECT_FALSE(tree.exists("fs/cryo/web/io.bfq.weight"));
}

TEST(CgroupV2, ControllersLimitedToWhatTheRootOffers)
{
    V2Tree tree;
    tree.write("fs/cgroup.controllers", "memory pids\n");
    auto manager = tree.open();
    ASSERT_TRUE(manager->create({}).has_value());
    EXPECT_EQ(tree.read("fs/cgroup.subtree_control"), "+memory +pids");
}

TEST(CgroupV2, DeviceProgramFailureRollsBack)
{
    V2Tree tree;
    auto manager = tree.open("/cryo/new");
    // A fixture directory is no cgroup: loading (without privilege) or attaching the
    // device program fails, and the new directory goes again.
    auto created = manager->create({ .devices = { DeviceRule { .allow = false, .access = "rwm" } } });
    ASSERT_TRUE(created.is_error());
    EXPECT_TRUE(created.error().message().starts_with("set device rules of cgroup " + tree.fs_root() + "/cryo/new: "))
        << created.error().message();
    EXPECT_FALSE(tree.exists("fs/cryo/new"));
}

TEST(CgroupV2, PermissiveDeviceRulesNeedNoProgram)
{
    V2Tree tree;
    auto manager = tree.open();
    EXPECT_TRUE(manager->create({ .devices = { DeviceRule { .allow = true, .access = "rwm" } } }).has_value());
}

TEST(CgroupV2, FailedCreateRemovesWhatItMade)
{
    V2Tree tree;
    auto manager = tree.open("/cryo/a/b");
    // The new fixture directories have no memory.max, so applying fails.
    auto created = manager->create({ .memory = MemoryResources { .limit = 1 << 20 } });
    ASSERT_TRUE(created.is_error());
    EXPECT_FALSE(tree.exists("fs/cryo/a"));
    EXPECT_TRUE(tree.exists("fs/cryo/web"));
}

TEST(CgroupV2, AddProcessAndJoinHandles)
{
    V2Tree tree;
    auto manager = tree.open();
    ASSERT_TRUE(manager->add_process(77).has_value());
    EXPECT_EQ(tree.read("fs/cryo/web/cgroup.procs"), "77");
    auto handles = MUST(manager->open_join_handles());
    EXPECT_TRUE(handles.tasks.empty());
    EXPECT_TRUE(handles.unified_dir.valid());
    ASSERT_TRUE(join_self(handles, false).has_value());
    EXPECT_EQ(tree.read("fs/cryo/web/cgroup.procs"), "0");
}

TEST(CgroupV2, FreezeWaitsForFrozenEvent)
{
    V2Tree tree;
    tree.write("fs/cryo/web/cgroup.events", "populated 1\nfrozen 1\n");
    tree.write("fs/cryo/web/cgroup.freeze", "0\n");
    auto manager = tree.open();
    EXPECT_EQ(MUST(manager->freezer_state()), FreezerState::Thawed);
    ASSERT_TRUE(manager->freeze(std::chrono::milliseconds(100)).has_value());
    EXPECT_EQ(tree.read("fs/cryo/web/cgroup.freeze"), "1");
    EXPECT_EQ(MUST(manager->freezer_state()), FreezerState::Frozen);
    ASSERT_TRUE(manager->thaw().has_value());
    EXPECT_EQ(tree.read("fs/cryo/web/cgroup.freeze"), "0");
    EXPECT_EQ(MUST(manager->freezer_state()), FreezerState::Thawed);
}

TEST(CgroupV2, FreezeTimeoutThawsAndNamesTheCgroup)
{
    V2Tree tree;
    tree.write("fs/cryo/web/cgroup.events", "populated 1\nfrozen 0\n");
    auto manager = tree.open();
    auto frozen = manager->freeze(std::chrono::milliseconds(20));
    ASSERT_TRUE(frozen.is_error());
    EXPECT_EQ(frozen.error().message(), "freeze cgroup " + tree.fs_root() + "/cryo/web: not frozen after 20 ms");
    EXPECT_EQ(tree.read("fs/cryo/web/cgroup.freeze"), "0");
    EXPECT_EQ(MUST(manager->freezer_state()), FreezerState::Thawed);
}

TEST(CgroupV2, FreezingStateWhileNotYetFrozen)
{
    V2Tree tree;
    tree.write("fs/cryo/web/cgroup.events", "populated 1\nfrozen 0\n");
    tree.write("fs/cryo/web/cgroup.freeze", "1\n");
    EXPECT_EQ(MUST(tree.open()->freezer_state()), FreezerState::Freezing);
}

TEST(CgroupV2, KillAllUsesCgroupKill)
{
    V2Tree tree;
    auto manager = tree.open();
    ASSERT_TRUE(manager->kill_all(SIGKILL).has_value());
    EXPECT_EQ(tree.read("fs/cryo/web/cgroup.kill"), "1");
}

TEST(CgroupV2, Stats)
{
    V2Tree tree;
    tree.write("fs/cryo/web/memory.current", "77074432\n");
    tree.write("fs/cryo/web/memory.peak", "90000000\n");
    tree.write("fs/cryo/web/memory.max", "max\n");
    tree.write("fs/cryo/web/memory.high", "80000000\n");
    tree.write("fs/cryo/web/memory.swap.current", "1000\n");
    tree.write("fs/cryo/web/memory.swap.max", "max\n");
    tree.write("fs/cryo/web/memory.events", read_fixture("v2-memory.events"));
    tree.write("fs/cryo/web/memory.stat", read_fixture("v2-memory.stat"));
    tree.write("fs/cryo/web/cpu.stat", read_fixture("v2-cpu.stat"));
    tree.write("fs/cryo/web/io.stat", read_fixture("v2-io.stat"));
    tree.write("fs/cryo/web/pids.current", "3\n");
    tree.write("fs/cryo/web/pids.peak", "9\n");
    tree.write("fs/cryo/web/pids.max", "50\n");
    tree.write("fs/cryo/web/pids.events", "max 4\n");
    tree.write("fs/cryo/web/hugetlb.1GB.current", "0\n");
    tree.write("fs/cryo/web/hugetlb.1GB.max", "max\n");
    auto stats = MUST(tree.open()->stats());
    ASSERT_TRUE(stats.memory);
    EXPECT_EQ(stats.memory->usage,
              (MemoryEntry { .usage = 77074432, .max_usage = 90000000, .limit = UINT64_MAX, .failcnt = 12 }));
    EXPECT_EQ(stats.memory->swap.usage, 77075432u); // memory+swap, as runc reports on v2
    EXPECT_EQ(stats.memory->swap.limit, UINT64_MAX);
    EXPECT_EQ(stats.memory->cache, 66674688u);
    EXPECT_EQ(stats.memory->barrier, 80000000u);
    EXPECT_EQ(stats.memory->events.at("oom_kill"), 1u);
    ASSERT_TRUE(stats.cpu);
    EXPECT_EQ(stats.cpu->usage.total, 1234567000u);
    EXPECT_EQ(stats.cpu->usage.user, 1000000000u);
    EXPECT_EQ(stats.cpu->usage.kernel, 234567000u);
    EXPECT_EQ(stats.cpu->throttling,
              (CpuThrottling { .periods = 50, .throttled_periods = 7, .throttled_time = 89000000 }));
    ASSERT_TRUE(stats.pids);
    EXPECT_EQ(stats.pids, (PidsStats { .current = 3, .peak = 9, .limit = 50, .failcnt = 4 }));
    ASSERT_TRUE(stats.blkio);
    EXPECT_EQ(stats.blkio->io_service_bytes_recursive.size(), 6u);
    EXPECT_EQ(stats.hugetlb.at("1GB"),
              (HugetlbStats { .usage = 0, .max_usage = 0, .limit = UINT64_MAX, .failcnt = 0 }));

    auto rows = beancounters(stats);
    ASSERT_EQ(rows.size(), 4u); // memory, memory+swap, pids, hugetlb.1GB
    EXPECT_EQ(rows[0],
              (Beancounter { .resource = "memory",
                             .held = 77074432,
                             .maxheld = 90000000,
                             .barrier = 80000000,
                             .limit = UINT64_MAX,
                             .failcnt = 12 }));
    EXPECT_EQ(rows[2],
              (Beancounter { .resource = "pids", .held = 3, .maxheld = 9, .barrier = 50, .limit = 50, .failcnt = 4 }));
}

TEST(CgroupV2, DestroyRemovesSubCgroups)
{
    V2Tree tree;
    (void)sys::remove_all(tree.path("fs/cryo/web"));
    tree.mkdir("fs/cryo/web/init.scope");
    tree.mkdir("fs/cryo/web/system.slice/a.service");
    auto manager = tree.open();
    auto destroyed = manager->destroy();
    ASSERT_TRUE(destroyed.has_value()) << destroyed.error().message();
    EXPECT_FALSE(tree.exists("fs/cryo/web"));
    EXPECT_TRUE(tree.exists("fs/cryo"));
}

TEST(CgroupV2, KillAllOfMissingCgroupIsNothing)
{
    V2Tree tree;
    EXPECT_TRUE(tree.open("/cryo/gone")->kill_all(SIGKILL).has_value());
}
