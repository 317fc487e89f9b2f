// pause / resume / pids / update / events against a real cgroup of this host, on a fake
// container whose "init" is a child of the test. Needs root (cgroup writes): skipped
// otherwise. Every test removes its child, cgroup and state directory.
#include <gtest/gtest.h>

#include <csignal>
#include <cstring>
#include <sys/mman.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "cgroup/manager.h"
#include "runtime/ops.h"
#include "sys/file.h"
#include "sys/process.h"

using namespace cryo;
using namespace cryo::runtime;
using namespace std::chrono_literals;

namespace {

class FakeContainer : public ::testing::Test {
protected:
    void SetUp() override
    {
        if (geteuid() != 0)
            GTEST_SKIP() << "needs root for cgroup writes";
        char name[] = "/tmp/cryo-unit-cli-cg-XXXXXX";
        ASSERT_NE(mkdtemp(name), nullptr);
        m_root = name;
        m_cgroup_path = fmt::format("/cryo-unit-cli-{}", getpid());

        auto manager = cgroup::Manager::open({ .path = m_cgroup_path });
        ASSERT_TRUE(manager) << manager.error().message();
        m_manager = manager.release_value();
        auto created = m_manager->create(cgroup::Resources {});
        ASSERT_TRUE(created) << created.error().message();

        pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            // SIGUSR1 makes the "init" touch 256 MiB: the OOM test's trigger.
            struct sigaction action { };
            action.sa_handler = [](int) {
                size_t const size = 256u << 20;
                void* memory = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (memory != MAP_FAILED)
                    memset(memory, 1, size);
            };
            sigaction(SIGUSR1, &action, nullptr);
            for (;;)
                ::pause();
        }
        m_child = pid;
        auto added = m_manager->add_process(pid);
        ASSERT_TRUE(added) << added.error().message();

        StateStore store(m_root);
        auto container = store.create("web");
        ASSERT_TRUE(container) << container.error().message();
        auto& state = container->state();
        state.bundle = m_root + "/bundle"; // no config.json: update starts from nothing
        state.status = Status::Running;
        state.init_pid = pid;
        state.init_start_time = MUST(process_start_time(pid));
        state.created = "2026-11-27T20:00:00Z";
        state.cgroup_path = m_cgroup_path;
        ASSERT_TRUE(container->save());
    }

    void TearDown() override
    {
        if (m_manager)
            (void)m_manager->thaw();
        stop_child();
        if (m_manager) {
            auto destroyed = m_manager->destroy();
            EXPECT_TRUE(destroyed) << destroyed.error().message();
        }
        if (!m_root.empty())
            (void)sys::remove_all(m_root);
    }

    void stop_child()
    {
        if (m_child > 0) {
            ::kill(m_child, SIGKILL);
            int status = 0;
            ::waitpid(m_child, &status, 0);
            m_child = -1;
        }
    }

    Context context() const { return Context { .root = m_root, .systemd_cgroup = false, .debug = false }; }
    std::string status() const
    {
        return summarize(MUST(StateStore(m_root).open("web", LockMode::None)).state(),
                         MUST(StateStore(m_root).open("web", LockMode::None)).status())
            .status;
    }
    std::string controller_file(std::string const& controller, std::string const& file) const
    {
        auto paths = m_manager->paths();
        auto it = paths.find(controller);
        if (it == paths.end())
            it = paths.find(""); // v2
        EXPECT_NE(it, paths.end()) << controller;
        auto text = sys::read_file(it->second + "/" + file);
        EXPECT_TRUE(text) << text.error().message();
        return text ? *text : "";
    }

    std::string m_root;
    std::string m_cgroup_path;
    std::unique_ptr<cgroup::Manager> m_manager;
    pid_t m_child { -1 };
};

} // namespace

TEST_F(FakeContainer, PidsComeFromTheCgroup)
{
    auto found = pids(context(), "web");
    ASSERT_TRUE(found) << found.error().message();
    EXPECT_EQ(*found, std::vector<int> { m_child });
}

TEST_F(FakeContainer, PidsOfAStoppedContainerWithoutCgroupAreEmpty)
{
    stop_child();
    ASSERT_TRUE(m_manager->destroy());
    auto found = pids(context(), "web");
    ASSERT_TRUE(found) << found.error().message();
    EXPECT_TRUE(found->empty());
}

TEST_F(FakeContainer, PauseFreezesAndResumeThaws)
{
    auto paused = pause(context(), "web");
    ASSERT_TRUE(paused) << paused.error().message();
    EXPECT_EQ(status(), "paused");
    EXPECT_EQ(MUST(m_manager->freezer_state()), cgroup::FreezerState::Frozen);
    EXPECT_EQ(pause(context(), "web").error().message(), "cannot pause container web in state paused");

    auto resumed = resume(context(), "web");
    ASSERT_TRUE(resumed) << resumed.error().message();
    EXPECT_EQ(status(), "running");
    EXPECT_EQ(MUST(m_manager->freezer_state()), cgroup::FreezerState::Thawed);
    EXPECT_EQ(resume(context(), "web").error().message(), "cannot resume container web in state running");

    // Once the init is gone the container is stopped, whatever was saved.
    stop_child();
    EXPECT_EQ(status(), "stopped");
    EXPECT_EQ(pause(context(), "web").error().message(), "cannot pause container web in state stopped");
}

TEST_F(FakeContainer, UpdateWritesTheCgroupAndPersists)
{
    auto updated = update(context(), "web", R"({"pids":{"limit":42},"memory":{"limit":67108864}})");
    ASSERT_TRUE(updated) << updated.error().message();
    EXPECT_EQ(controller_file("pids", "pids.max"), "42\n");
    if (m_manager->version() == cgroup::Version::V1)
        EXPECT_EQ(controller_file("memory", "memory.limit_in_bytes"), "67108864\n");
    else
        EXPECT_EQ(controller_file("memory", "memory.max"), "67108864\n");

    // A second update names only pids: the saved resources keep the memory limit.
    ASSERT_TRUE(update(context(), "web", R"({"pids":{"limit":7}})"));
    EXPECT_EQ(controller_file("pids", "pids.max"), "7\n");
    auto container = MUST(StateStore(m_root).open("web", LockMode::Shared));
    auto saved = MUST(load_updated_resources(container));
    ASSERT_TRUE(saved.has_value());
    ASSERT_TRUE(saved->pids && saved->memory);
    EXPECT_EQ(saved->pids->limit, 7);
    EXPECT_EQ(saved->memory->limit, 67108864);
}

TEST_F(FakeContainer, EventsStatsPrintsOneEvent)
{
    std::vector<std::string> lines;
    auto done = events(context(), EventsOptions { .id = "web", .stats = true, .interval = 5000ms },
                       [&](std::string const& line) { lines.push_back(line); });
    ASSERT_TRUE(done) << done.error().message();
    ASSERT_EQ(lines.size(), 1u);
    auto event = nlohmann::json::parse(lines[0]);
    EXPECT_EQ(event["type"], "stats");
    EXPECT_EQ(event["id"], "web");
    EXPECT_EQ(event["data"]["pids"]["current"], 1);
    EXPECT_TRUE(event["data"]["memory"]["usage"].contains("limit"));
}

TEST_F(FakeContainer, EventsLoopEndsWhenTheContainerStops)
{
    std::vector<std::string> lines;
    std::thread killer([this] {
        std::this_thread::sleep_for(250ms);
        ::kill(m_child, SIGKILL);
    });
    auto started = std::chrono::steady_clock::now();
    auto done = events(context(), EventsOptions { .id = "web", .stats = false, .interval = 50ms },
                       [&](std::string const& line) { lines.push_back(line); });
    auto took = std::chrono::steady_clock::now() - started;
    killer.join();
    ASSERT_TRUE(done) << done.error().message();
    // Until the kill (250 ms) one event per 50 ms; reaped or not, a killed init ends the loop.
    EXPECT_GE(lines.size(), 3u);
    EXPECT_LT(took, 5s);
    for (auto const& line : lines)
        EXPECT_EQ(nlohmann::json::parse(line)["type"], "stats") << line;
}

TEST_F(FakeContainer, EventsReportsTheOomKillOfTheInit)
{
    // 32 MiB for memory and memory+swap, so the 256 MiB the child touches cannot swap out.
    auto limited = update(context(), "web", R"({"memory":{"limit":33554432,"swap":33554432}})");
    ASSERT_TRUE(limited) << limited.error().message();
    std::vector<std::string> lines;
    std::thread trigger([this] {
        std::this_thread::sleep_for(150ms);
        ::kill(m_child, SIGUSR1);
    });
    auto done = events(context(), EventsOptions { .id = "web", .stats = false, .interval = 50ms },
                       [&](std::string const& line) { lines.push_back(line); });
    trigger.join();
    ASSERT_TRUE(done) << done.error().message();
    size_t ooms = 0;
    for (auto const& line : lines) {
        auto event = nlohmann::json::parse(line);
        if (event["type"] == "oom") {
            ++ooms;
            EXPECT_EQ(event["id"], "web");
        }
    }
    EXPECT_EQ(ooms, 1u) << lines.size() << " events";
}
