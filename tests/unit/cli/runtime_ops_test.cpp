// runtime::list / pids / pause / resume / update / events (ops_query.cpp, ops_control.cpp):
// the pure helpers, and the verbs' state-machine and error paths on a state store in a
// temporary directory. Freezing and cgroup writes need root and are covered by integration
// tests; nothing here touches a cgroup.
#include <gtest/gtest.h>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "runtime/ops.h"
#include "sys/file.h"

using namespace cryo;
using namespace cryo::runtime;

namespace {

class TempRoot {
public:
    TempRoot()
    {
        char name[] = "/tmp/cryo-unit-cli-root-XXXXXX";
        EXPECT_NE(mkdtemp(name), nullptr);
        m_path = name;
    }
    ~TempRoot() { (void)sys::remove_all(m_path); }
    std::string const& path() const { return m_path; }
    Context context() const { return Context { .root = m_path, .systemd_cgroup = false, .debug = false }; }

private:
    std::string m_path;
};

// Saves a container whose "init" is this test process (alive, same start time) or a pid
// that is gone (stopped).
void save_container(TempRoot const& root, std::string const& id, Status status, bool alive)
{
    StateStore store(root.path());
    auto container = store.create(id);
    ASSERT_TRUE(container) << container.error().message();
    auto& state = container->state();
    state.bundle = "/bundles/" + id;
    state.rootfs = state.bundle + "/rootfs";
    state.status = status;
    state.created = "2026-11-27T20:00:00.000000001Z";
    state.oci_version = "1.2.0";
    if (alive) {
        state.init_pid = getpid();
        state.init_start_time = MUST(process_start_time(getpid()));
    } else {
        state.init_pid = 0;
    }
    ASSERT_TRUE(container->save());
}

} // namespace

TEST(RuntimeOps, ListOfMissingOrEmptyRootIsEmpty)
{
    TempRoot root;
    auto missing = list(Context { .root = root.path() + "/nonexistent", .systemd_cgroup = false, .debug = false });
    ASSERT_TRUE(missing) << missing.error().message();
    EXPECT_TRUE(missing->empty());
    auto empty = list(root.context());
    ASSERT_TRUE(empty) << empty.error().message();
    EXPECT_TRUE(empty->empty());
}

TEST(RuntimeOps, ListShowsLiveStatusAndSkipsHalfCreatedDirs)
{
    TempRoot root;
    save_container(root, "web", Status::Running, true);
    save_container(root, "db", Status::Running, false); // its init is gone: stopped
    save_container(root, "cache", Status::Paused, true);
    // A directory without state.json (a create that died early) is not a container.
    ASSERT_TRUE(sys::mkdir_all(root.path() + "/half", 0700));

    auto containers = list(root.context());
    ASSERT_TRUE(containers) << containers.error().message();
    ASSERT_EQ(containers->size(), 3u);
    auto const& cache = (*containers)[0];
    auto const& db = (*containers)[1];
    auto const& web = (*containers)[2];
    EXPECT_EQ(cache.id, "cache");
    EXPECT_EQ(cache.status, "paused");
    EXPECT_EQ(db.id, "db");
    EXPECT_EQ(db.status, "stopped");
    EXPECT_EQ(db.pid, 0);
    EXPECT_EQ(web.id, "web");
    EXPECT_EQ(web.status, "running");
    EXPECT_EQ(web.pid, getpid());
    EXPECT_EQ(web.bundle, "/bundles/web");
    EXPECT_EQ(web.created, "2026-11-27T20:00:00.000000001Z");
}

TEST(RuntimeOps, ListSkipsADamagedContainerButShowsTheOthers)
{
    TempRoot root;
    save_container(root, "good", Status::Running, true);
    ASSERT_TRUE(sys::mkdir_all(root.path() + "/bad", 0700));
    ASSERT_TRUE(sys::write_file_atomic(root.path() + "/bad/state.json", "{truncated"));
    auto containers = list(root.context());
    ASSERT_TRUE(containers) << containers.error().message();
    ASSERT_EQ(containers->size(), 1u);
    EXPECT_EQ((*containers)[0].id, "good");
}

TEST(RuntimeOps, SummaryHidesThePidOfAStoppedContainer)
{
    SavedState state;
    state.id = "x";
    state.init_pid = 4242;
    state.owner = "";
    EXPECT_EQ(summarize(state, Status::Stopped).pid, 0);
    EXPECT_EQ(summarize(state, Status::Running).pid, 4242);
    EXPECT_EQ(summarize(state, Status::Created).status, "created");
}

TEST(RuntimeOps, StateMachineErrors)
{
    TempRoot root;
    auto ctx = root.context();
    save_container(root, "gone", Status::Running, false);
    save_container(root, "web", Status::Running, true);

    EXPECT_EQ(pause(ctx, "gone").error().message(), "cannot pause container gone in state stopped");
    EXPECT_EQ(resume(ctx, "gone").error().message(), "cannot resume container gone in state stopped");
    EXPECT_EQ(resume(ctx, "web").error().message(), "cannot resume container web in state running");
    EXPECT_EQ(update(ctx, "gone", "{}").error().message(), "cannot update container gone in state stopped");
    EXPECT_EQ(pause(ctx, "nosuch").error().message(), "container nosuch does not exist");
    EXPECT_EQ(pids(ctx, "nosuch").error().message(), "container nosuch does not exist");
    EXPECT_EQ(pause(ctx, "a/b").error().message(), "invalid container id \"a/b\"");

    // A running container without a recorded cgroup cannot be frozen; nothing changes.
    EXPECT_EQ(pause(ctx, "web").error().message(), "pause web: container web has no cgroup");
    EXPECT_EQ(summarize(MUST(StateStore(root.path()).open("web")).state(), Status::Running).status, "running");
    EXPECT_EQ(pids(ctx, "web").error().message(), "ps web: container has no cgroup");

    auto noop = [](std::string const&) { FAIL() << "no event expected"; };
    EXPECT_EQ(
        events(ctx, EventsOptions { .id = "gone", .stats = true, .interval = std::chrono::milliseconds(10) }, noop)
            .error()
            .message(),
        "events gone: container is not running");
}

TEST(RuntimeOps, UpdateRejectsBadJsonBeforeTouchingAnything)
{
    TempRoot root;
    save_container(root, "web", Status::Running, true);
    auto bad = update(root.context(), "web", R"({"memory":{"limit":"lots"}})");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message().find("memory.limit"), std::string::npos) << bad.error().message();
    EXPECT_TRUE(bad.error().message().starts_with("update web: ")) << bad.error().message();
    EXPECT_FALSE(sys::exists(root.path() + "/web/resources.json"));
}

TEST(RuntimeOps, LoadUpdatedResources)
{
    TempRoot root;
    save_container(root, "web", Status::Running, true);
    auto container = MUST(StateStore(root.path()).open("web", LockMode::Shared));
    auto none = load_updated_resources(container);
    ASSERT_TRUE(none) << none.error().message();
    EXPECT_FALSE(none->has_value());

    oci::Resources saved;
    saved.pids = oci::Pids { .limit = 64 };
    ASSERT_TRUE(sys::write_file_atomic(container.dir() + "/resources.json", oci::to_json(saved)));
    auto loaded = load_updated_resources(container);
    ASSERT_TRUE(loaded) << loaded.error().message();
    ASSERT_TRUE(loaded->has_value());
    EXPECT_EQ(**loaded, saved);

    ASSERT_TRUE(sys::write_file_atomic(container.dir() + "/resources.json", "{not json"));
    EXPECT_FALSE(load_updated_resources(container));
}

TEST(RuntimeOps, MergeResourcesReplacesOnlyWhatTheUpdateNames)
{
    oci::Resources base;
    base.memory = oci::Memory { .limit = 100, .reservation = 50 };
    base.cpu = oci::Cpu { .shares = 1024, .quota = 20000, .period = 100000 };
    base.hugepage_limits = { { .page_size = "2MB", .limit = 4 }, { .page_size = "1GB", .limit = 0 } };
    base.unified = { { "memory.high", "1000" } };

    oci::Resources update;
    update.memory = oci::Memory { .limit = 200 };
    update.pids = oci::Pids { .limit = 32 };
    update.block_io = oci::BlockIo { .weight = 300 };
    update.hugepage_limits = { { .page_size = "2MB", .limit = 8 }, { .page_size = "64KB", .limit = 1 } };
    update.unified = { { "pids.max", "10" } };

    merge_resources(base, update);
    EXPECT_EQ(base.memory->limit, 200);
    EXPECT_EQ(base.memory->reservation, 50); // untouched
    EXPECT_EQ(base.cpu->shares, 1024u); // no cpu section in the update
    EXPECT_EQ(base.cpu->quota, 20000);
    EXPECT_EQ(base.pids->limit, 32);
    EXPECT_EQ(base.block_io->weight, 300);
    ASSERT_EQ(base.hugepage_limits.size(), 3u);
    EXPECT_EQ(base.hugepage_limits[0].limit, 8u);
    EXPECT_EQ(base.hugepage_limits[1].page_size, "1GB");
    EXPECT_EQ(base.hugepage_limits[2].page_size, "64KB");
    EXPECT_EQ(base.unified.size(), 2u);

    // An empty update changes nothing.
    auto before = base;
    merge_resources(base, oci::Resources {});
    EXPECT_EQ(base, before);
}

TEST(RuntimeOps, StatsEventHasRuncShape)
{
    cgroup::Stats stats;
    stats.cpu = cgroup::CpuStats {
        .usage = { .total = 1500,
                   .percpu = { 1000, 500 },
                   .percpu_kernel = {},
                   .percpu_user = {},
                   .kernel = 300,
                   .user = 1200 },
        .throttling = { .periods = 0, .throttled_periods = 0, .throttled_time = 0 },
    };
    cgroup::MemoryStats memory;
    memory.cache = 4096;
    memory.usage = { .usage = 1 << 20, .max_usage = 2 << 20, .limit = 64 << 20, .failcnt = 3 };
    memory.stats = { { "rss", 8192 } };
    stats.memory = memory;
    stats.pids = cgroup::PidsStats { .current = 2, .peak = 3, .limit = 0, .failcnt = 0 };
    stats.blkio = cgroup::BlkioStats {
        .io_service_bytes_recursive = { { .major = 8, .minor = 0, .op = "Read", .value = 4096 } },
        .io_serviced_recursive = {},
    };
    stats.hugetlb["2MB"] = { .usage = 0, .max_usage = 0, .limit = 0, .failcnt = 1 };

    auto event = nlohmann::json::parse(stats_event_json("web", stats));
    EXPECT_EQ(event["type"], "stats");
    EXPECT_EQ(event["id"], "web");
    auto const& data = event["data"];
    EXPECT_EQ(data["cpu"]["usage"]["total"], 1500);
    EXPECT_EQ(data["cpu"]["usage"]["percpu"], nlohmann::json({ 1000, 500 }));
    EXPECT_FALSE(data["cpu"]["usage"].contains("percpu_kernel")); // omitempty
    EXPECT_EQ(data["cpu"]["usage"]["kernel"], 300);
    EXPECT_EQ(data["cpu"]["throttling"], nlohmann::json::object());
    EXPECT_EQ(data["memory"]["cache"], 4096);
    EXPECT_EQ(data["memory"]["usage"]["usage"], 1 << 20);
    EXPECT_EQ(data["memory"]["usage"]["max"], 2 << 20);
    EXPECT_EQ(data["memory"]["usage"]["limit"], 64 << 20);
    EXPECT_EQ(data["memory"]["usage"]["failcnt"], 3);
    // Zero entries keep limit and failcnt (not omitempty in runc), drop usage and max.
    EXPECT_EQ(data["memory"]["swap"], nlohmann::json({ { "limit", 0 }, { "failcnt", 0 } }));
    EXPECT_EQ(data["memory"]["raw"]["rss"], 8192);
    EXPECT_EQ(data["pids"], nlohmann::json({ { "current", 2 } })); // limit 0 = unlimited, omitted
    auto const& read = data["blkio"]["ioServiceBytesRecursive"][0];
    EXPECT_EQ(read["major"], 8);
    EXPECT_FALSE(read.contains("minor")); // 0: omitempty
    EXPECT_EQ(read["op"], "Read");
    EXPECT_EQ(read["value"], 4096);
    EXPECT_FALSE(data["blkio"].contains("ioServicedRecursive"));
    EXPECT_EQ(data["hugetlb"]["2MB"], nlohmann::json({ { "failcnt", 1 } }));
    EXPECT_TRUE(data["network_interfaces"].is_null());

    // Absent controllers still give runc's (zero) sections.
    auto empty = nlohmann::json::parse(stats_json(cgroup::Stats {}));
    EXPECT_EQ(empty["pids"], nlohmann::json::object());
    EXPECT_EQ(empty["hugetlb"], nlohmann::json::object());
    EXPECT_EQ(empty["cpu"]["usage"], nlohmann::json({ { "kernel", 0 }, { "user", 0 } }));

    EXPECT_EQ(oom_event_json("a\"b"), R"({"type":"oom","id":"a\"b"})");
}
