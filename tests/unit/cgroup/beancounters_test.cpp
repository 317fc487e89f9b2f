// Beancounters against fixture cgroup trees (v1 hybrid as on this host, pure v2): every row
// with its source, limits read from cgroup files, rates and maxheld across samples, and the
// /proc parsers for cryo's own file counts.
#include <gtest/gtest.h>

#include "cgroup/manager.h"
#include "cgroup/parse.h"
#include "fixture_tree.h"

using namespace cryo;
using namespace cryo::cgroup;
using cryo::cgroup::testing::FixtureTree;
using cryo::cgroup::testing::read_fixture;

namespace {

constexpr uint64_t second = 1'000'000'000;
// v1's "no limit": PAGE_COUNTER_MAX pages of 4 KiB.
constexpr char v1_unlimited[] = "9223372036854771712\n";

std::unique_ptr<Manager> open_tree(FixtureTree const& tree, std::string const& mountinfo)
{
    auto manager = Manager::open({ .path = "/cryo/web", .fs_root = tree.fs_root(), .mountinfo = mountinfo });
    EXPECT_TRUE(manager.has_value()) << (manager ? "" : manager.error().message());
    return manager.release_value();
}

// A v1 container cgroup as this host shows one after a memory hog, a fork bomb and a CPU hog
// under --cpus 0.5 (values from the kernel's files; fixtures are copies of real ones).
struct V1Container : FixtureTree {
    std::string mountinfo_path;

    V1Container()
    {
        mountinfo_path = mountinfo("mountinfo-hybrid");
        for (auto const* dir : { "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids" })
            mkdir(std::string("fs/") + dir + "/cryo/web");
        write("fs/unified/cgroup.controllers", "hugetlb\n");
        auto memory = std::string("fs/memory/cryo/web/memory.");
        write(memory + "usage_in_bytes", "33554432\n");
        write(memory + "max_usage_in_bytes", "67108864\n");
        write(memory + "limit_in_bytes", "67108864\n");
        write(memory + "failcnt", "1500\n");
        write(memory + "soft_limit_in_bytes", v1_unlimited);
        write(memory + "memsw.usage_in_bytes", "33554432\n");
        write(memory + "memsw.max_usage_in_bytes", "67108864\n");
        write(memory + "memsw.limit_in_bytes", "67108864\n");
        write(memory + "memsw.failcnt", "0\n");
        write(memory + "kmem.usage_in_bytes", "1048576\n");
        write(memory + "kmem.max_usage_in_bytes", "2097152\n");
        write(memory + "kmem.limit_in_bytes", v1_unlimited);
        write(memory + "kmem.failcnt", "0\n");
        write(memory + "oom_control", read_fixture("bc-v1-memory.oom_control"));
        write("fs/cpuacct/cryo/web/cpuacct.usage", "20000000000\n");
        write("fs/cpu/cryo/web/cpu.stat", read_fixture("bc-v1-cpu.stat"));
        write("fs/cpu/cryo/web/cpu.cfs_quota_us", "50000\n");
        write("fs/cpu/cryo/web/cpu.cfs_period_us", "100000\n");
        write("fs/pids/cryo/web/pids.current", "64\n");
        write("fs/pids/cryo/web/pids.max", "64\n");
        write("fs/pids/cryo/web/pids.peak", "64\n");
        write("fs/pids/cryo/web/pids.events", "max 917\n");
        for (auto const* file : { "blkio.throttle.io_service_bytes_recursive", "blkio.throttle.io_serviced_recursive",
                                  "blkio.throttle.read_bps_device", "blkio.throttle.write_iops_device" })
            write(std::string("fs/blkio/cryo/web/") + file, read_fixture(std::string("bc-v1-") + file));
        touch("fs/blkio/cryo/web", { "blkio.throttle.write_bps_device", "blkio.throttle.read_iops_device" });
    }

    BeancounterInput input()
    {
        auto manager = open_tree(*this, mountinfo_path);
        BeancounterInput in;
        in.stats = MUST(manager->stats());
        in.limits = MUST(read_limit_settings(*manager));
        return in;
    }
};

Beancounter const& row(BeancounterView const& view, std::string const& resource)
{
    for (auto const& each : view.rows)
        if (each.resource == resource)
            return each;
    ADD_FAILURE() << "no row " << resource;
    static Beancounter const none {};
    return none;
}

bool has_row(BeancounterView const& view, std::string const& resource)
{
    return std::any_of(view.rows.begin(), view.rows.end(), [&](auto const& each) { return each.resource == resource; });
}

} // namespace

TEST(Beancounters, V1LimitSettingsFromCgroupFiles)
{
    V1Container tree;
    auto limits = MUST(read_limit_settings(*open_tree(tree, tree.mountinfo_path)));
    EXPECT_EQ(limits.cpu_quota_us, 50000u);
    EXPECT_EQ(limits.cpu_period_us, 100000u);
    EXPECT_EQ(limits.pids_peak, 64u);
    ASSERT_EQ(limits.io_max.size(), 3u);
    EXPECT_EQ(limits.io_max[0], (BlkioEntry { .major = 254, .minor = 0, .op = "rbps", .value = 1048576 }));
    EXPECT_EQ(limits.io_max[1], (BlkioEntry { .major = 8, .minor = 0, .op = "rbps", .value = 2097152 }));
    EXPECT_EQ(limits.io_max[2], (BlkioEntry { .major = 254, .minor = 0, .op = "wiops", .value = 200 }));
}

TEST(Beancounters, V1RowsAndTheirSources)
{
    V1Container tree;
    auto in = tree.input();
    in.started_ns = 100 * second;
    in.now_ns = 140 * second; // 40 s after start, no previous sample
    auto view = beancounters(in);

    EXPECT_EQ(row(view, "memory"),
              (Beancounter { .resource = "memory",
                             .held = 33554432,
                             .maxheld = 67108864,
                             .barrier = UINT64_MAX, // v1 soft limit unset
                             .limit = 67108864,
                             .failcnt = 1500,
                             .unit = "bytes" }));
    EXPECT_EQ(row(view, "memory+swap").limit, 67108864u);
    // kmem without a limit: v1's huge number becomes unlimited.
    EXPECT_EQ(row(view, "kmem"),
              (Beancounter { .resource = "kmem",
                             .held = 1048576,
                             .maxheld = 2097152,
                             .barrier = UINT64_MAX,
                             .limit = UINT64_MAX,
                             .failcnt = 0,
                             .unit = "bytes" }));
    EXPECT_EQ(row(view, "oomkill"),
              (Beancounter { .resource = "oomkill",
                             .held = 3,
                             .maxheld = 3,
                             .barrier = UINT64_MAX,
                             .limit = UINT64_MAX,
                             .failcnt = 3,
                             .unit = "count" }));
    EXPECT_EQ(row(view, "pids"),
              (Beancounter { .resource = "pids",
                             .held = 64,
                             .maxheld = 64,
                             .barrier = 64,
                             .limit = 64,
                             .failcnt = 917,
                             .unit = "count" }));
    // 20 s of CPU in 40 s: half a CPU; the 0.5 CPU quota; throttled periods as failcnt.
    EXPECT_EQ(row(view, "cpu"),
              (Beancounter { .resource = "cpu",
                             .held = 500,
                             .maxheld = 500,
                             .barrier = 500,
                             .limit = 500,
                             .failcnt = 120,
                             .unit = "mcpu" }));
    EXPECT_EQ(row(view, "cputime").held, 20000000000u);
    EXPECT_FALSE(row(view, "cputime").failcnt_counted);
    // 1 MiB read in 40 s; the device's read limit; no kernel counter of throttled I/O.
    auto rbps = row(view, "io.rbps.254:0");
    EXPECT_EQ(rbps.held, 26214u); // 1048576 / 40 = 26214.4
    EXPECT_EQ(rbps.limit, 1048576u);
    EXPECT_EQ(rbps.unit, "B/s");
    EXPECT_FALSE(rbps.failcnt_counted);
    EXPECT_EQ(row(view, "io.wiops.254:0").held, 26u); // 1024 / 40 = 25.6, rounded
    EXPECT_EQ(row(view, "io.wiops.254:0").limit, 200u);
    EXPECT_EQ(row(view, "io.wbps.254:0").limit, UINT64_MAX);
    // A device with a limit and no I/O yet still shows its limit.
    EXPECT_EQ(row(view, "io.rbps.8:0").held, 0u);
    EXPECT_EQ(row(view, "io.rbps.8:0").limit, 2097152u);
    // No process counts and no disk given: no such rows.
    EXPECT_FALSE(has_row(view, "numfile"));
    EXPECT_FALSE(has_row(view, "diskspace"));
}

TEST(Beancounters, V2RowsAndLimits)
{
    FixtureTree tree;
    auto mountinfo_path = tree.mountinfo("mountinfo-v2");
    tree.write("fs/cgroup.controllers", "cpuset cpu io memory hugetlb pids\n");
    tree.mkdir("fs/cryo/web");
    tree.write("fs/cryo/web/memory.current", "1000000\n");
    tree.write("fs/cryo/web/memory.peak", "3000000\n");
    tree.write("fs/cryo/web/memory.max", "4194304\n");
    tree.write("fs/cryo/web/memory.high", "max\n");
    tree.write("fs/cryo/web/memory.events", read_fixture("bc-v2-memory.events"));
    tree.write("fs/cryo/web/cpu.stat", read_fixture("v2-cpu.stat"));
    tree.write("fs/cryo/web/cpu.max", "150000 100000\n");
    tree.write("fs/cryo/web/io.stat", read_fixture("v2-io.stat"));
    tree.write("fs/cryo/web/io.max", read_fixture("bc-v2-io.max"));
    tree.write("fs/cryo/web/pids.current", "5\n");
    tree.write("fs/cryo/web/pids.peak", "20\n");
    tree.write("fs/cryo/web/pids.max", "max\n");
    tree.write("fs/cryo/web/pids.events", "max 0\n");
    auto manager = open_tree(tree, mountinfo_path);
    ASSERT_EQ(manager->version(), Version::V2);

    BeancounterInput in { .stats = MUST(manager->stats()), .limits = MUST(read_limit_settings(*manager)) };
    EXPECT_EQ(in.limits.cpu_quota_us, 150000u);
    EXPECT_EQ(in.limits.io_max.size(), 3u); // wbps of 8:16, rbps and riops of 8:0
    in.started_ns = 10 * second;
    in.now_ns = 12 * second;
    auto view = beancounters(in);
    EXPECT_EQ(row(view, "memory"),
              (Beancounter { .resource = "memory",
                             .held = 1000000,
                             .maxheld = 3000000,
                             .barrier = UINT64_MAX,
                             .limit = 4194304,
                             .failcnt = 40, // memory.events max
                             .unit = "bytes" }));
    // memory.events: oom 2 (failcnt), oom_kill 2 (held).
    EXPECT_EQ(row(view, "oomkill").held, 2u);
    EXPECT_EQ(row(view, "oomkill").failcnt, 2u);
    EXPECT_EQ(row(view, "pids"),
              (Beancounter { .resource = "pids",
                             .held = 5,
                             .maxheld = 20,
                             .barrier = UINT64_MAX,
                             .limit = UINT64_MAX,
                             .failcnt = 0,
                             .unit = "count" }));
    // usage_usec 1234567 over 2 s: 617 mcpu; cpu.max 1.5 CPU; nr_throttled 7.
    EXPECT_EQ(row(view, "cpu").held, 617u);
    EXPECT_EQ(row(view, "cpu").limit, 1500u);
    EXPECT_EQ(row(view, "cpu").failcnt, 7u);
    EXPECT_EQ(row(view, "io.wbps.8:16").held, 314773504u / 2);
    EXPECT_EQ(row(view, "io.wbps.8:16").limit, 1048576u);
    EXPECT_EQ(row(view, "io.riops.8:0").held, 8950u / 2);
    EXPECT_EQ(row(view, "io.riops.8:0").limit, 500u);
    EXPECT_EQ(row(view, "io.rbps.8:0").limit, 2097152u);
}

TEST(Beancounters, RatesSincePreviousSampleAndMaxheldAcrossSamples)
{
    V1Container tree;
    auto in = tree.input();
    in.started_ns = 100 * second;
    in.now_ns = 140 * second;
    in.files = ProcessFiles {};
    add_process_files(*in.files, 900, 3, 1024, 1024);
    auto first = beancounters(in);
    EXPECT_EQ(row(first, "numfile").held, 900u);
    EXPECT_EQ(row(first, "numfile").maxheld, 900u);
    EXPECT_EQ(first.sample.time_ns, 140 * second);
    EXPECT_EQ(first.sample.values.at("total.cpu"), 20000000000u);
    EXPECT_EQ(first.sample.values.at("maxheld.numfile"), 900u);

    // 10 s later: 10 s more CPU (a full CPU meanwhile), fewer files open now.
    tree.write("fs/cpuacct/cryo/web/cpuacct.usage", "30000000000\n");
    auto second_in = tree.input();
    second_in.started_ns = 100 * second;
    second_in.now_ns = 150 * second;
    second_in.files = ProcessFiles {};
    add_process_files(*second_in.files, 10, 1, 1024, 1024);
    second_in.previous = parse_sample(format_sample(first.sample));
    ASSERT_TRUE(second_in.previous);
    auto second_view = beancounters(second_in);
    EXPECT_EQ(row(second_view, "cpu").held, 1000u);
    EXPECT_EQ(row(second_view, "cpu").maxheld, 1000u);
    EXPECT_EQ(row(second_view, "numfile").held, 10u);
    EXPECT_EQ(row(second_view, "numfile").maxheld, 900u); // remembered from the first sample
    EXPECT_EQ(row(second_view, "io.rbps.254:0").held, 0u); // no read since the first sample
    EXPECT_EQ(row(second_view, "io.rbps.254:0").maxheld, 26214u); // 1 MiB / 40 s, rounded

    // 0.1 s later: too short for a rate; averaged since start, and the baseline is kept.
    auto third_in = second_in;
    third_in.now_ns = 150 * second + second / 10;
    third_in.previous = second_view.sample;
    auto third = beancounters(third_in);
    EXPECT_EQ(row(third, "cpu").held, 599u); // 30 s of CPU in 50.1 s: 598.8 mcpu, rounded
    EXPECT_EQ(third.sample.time_ns, 150 * second);
    EXPECT_EQ(third.sample.values.at("total.cpu"), 30000000000u);
}

TEST(Beancounters, SampleFromAnotherContainerLifeIsIgnored)
{
    V1Container tree;
    auto in = tree.input();
    in.started_ns = 100 * second;
    in.now_ns = 140 * second;
    // Taken before this container started (same id, earlier container): no rate from it.
    in.previous = BeancounterSample { .time_ns = 50 * second, .values = { { "total.cpu", 1 } } };
    EXPECT_EQ(row(beancounters(in), "cpu").held, 500u);
    // A counter that went backwards (new cgroup) starts over from the container's start.
    in.previous = BeancounterSample { .time_ns = 120 * second, .values = { { "total.cpu", 90000000000 } } };
    EXPECT_EQ(row(beancounters(in), "cpu").held, 500u);
}

TEST(Beancounters, FilesSocketsAndTheBusiestProcess)
{
    ProcessFiles files;
    add_process_files(files, 10, 2, 1024, 4096);
    add_process_files(files, 60, 0, 64, 64); // closest to its limit
    add_process_files(files, 500, 7, 1048576, 1048576);
    EXPECT_EQ(
        files,
        (ProcessFiles {
            .processes = 3, .files = 570, .sockets = 9, .busiest_files = 60, .busiest_soft = 64, .busiest_hard = 64 }));
    BeancounterInput in { .files = files, .disk = DiskSpace { .used = 4096, .limit = 0 } };
    auto view = beancounters(in);
    EXPECT_EQ(row(view, "numproc").held, 3u);
    EXPECT_EQ(row(view, "numfile").held, 570u);
    EXPECT_EQ(row(view, "numsock").held, 9u);
    EXPECT_EQ(row(view, "nofile"),
              (Beancounter { .resource = "nofile",
                             .held = 60,
                             .maxheld = 60,
                             .barrier = 64,
                             .limit = 64,
                             .failcnt = 0,
                             .unit = "count",
                             .failcnt_counted = false }));
    EXPECT_EQ(row(view, "diskspace").held, 4096u);
    EXPECT_EQ(row(view, "diskspace").limit, UINT64_MAX);
    // No cgroup data at all: no memory, cpu or pids rows.
    EXPECT_FALSE(has_row(view, "memory"));
    EXPECT_FALSE(has_row(view, "cpu"));
}

TEST(Beancounters, ProcLimitsParser)
{
    auto limits = parse_nofile_limits(read_fixture("bc-proc-limits"));
    ASSERT_TRUE(limits);
    EXPECT_EQ(*limits, (std::pair<uint64_t, uint64_t> { 20000, 20000 }));
    EXPECT_EQ(parse_nofile_limits("Max open files            unlimited            unlimited            files\n"),
              (std::pair<uint64_t, uint64_t> { UINT64_MAX, UINT64_MAX }));
    EXPECT_FALSE(parse_nofile_limits("Max cpu time  unlimited  unlimited  seconds\n"));
    EXPECT_FALSE(parse_nofile_limits("Max open files  x  y  files\n"));
}

TEST(Beancounters, LimitFileParsers)
{
    LimitSettings limits;
    parse_v1_cpu_limit("-1\n", "100000\n", limits);
    EXPECT_FALSE(limits.cpu_quota_us);
    parse_v2_cpu_max("max 100000\n", limits);
    EXPECT_FALSE(limits.cpu_quota_us);
    parse_v2_cpu_max("garbage\n", limits);
    EXPECT_FALSE(limits.cpu_quota_us);
    parse_v1_throttle("8:0 0\nbad line\n8:x 5\n", "rbps", limits);
    EXPECT_TRUE(limits.io_max.empty());
    parse_v2_io_max("8:0 rbps=max wbps=max riops=max wiops=max\n", limits);
    EXPECT_TRUE(limits.io_max.empty());
}

TEST(Beancounters, SampleTextRoundTripAndCorruptText)
{
    BeancounterSample sample { .time_ns = 42, .values = { { "total.cpu", 7 }, { "maxheld.numfile", 9 } } };
    EXPECT_EQ(parse_sample(format_sample(sample)), sample);
    EXPECT_FALSE(parse_sample(""));
    EXPECT_FALSE(parse_sample("\x01\x02garbage"));
    EXPECT_FALSE(parse_sample("total.cpu 7\n")); // no time
}
