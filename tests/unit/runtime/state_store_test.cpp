#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/state_store.h"
#include "sys/file.h"
#include "temp_dir.h"

using namespace cryo;
using namespace cryo::runtime;

namespace {

using cryo::test::TempDir;

} // namespace

TEST(RuntimeStatus, NamesRoundTrip)
{
    for (auto s : { Status::Creating, Status::Created, Status::Running, Status::Paused, Status::Stopped })
        EXPECT_EQ(parse_status(status_name(s)), s);
    EXPECT_EQ(status_name(Status::Paused), "paused");
    EXPECT_FALSE(parse_status("zombie"));
}

// The whole table: a dead init means stopped whatever was saved; a live one keeps it.
TEST(RuntimeStatus, DeriveTable)
{
    for (auto s : { Status::Creating, Status::Created, Status::Running, Status::Paused, Status::Stopped }) {
        EXPECT_EQ(derive_status(s, false), Status::Stopped);
        EXPECT_EQ(derive_status(s, true), s);
    }
}

TEST(RuntimeStatus, RequireStatusMessage)
{
    EXPECT_TRUE(require_status("pause", "web", Status::Running, { Status::Running }));
    auto r = require_status("pause", "web", Status::Stopped, { Status::Running });
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "cannot pause container web in state stopped");
    auto s = require_status("start", "db", Status::Running, { Status::Created });
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().message(), "cannot start container db in state running");
}

TEST(RuntimeState, JsonRoundTrip)
{
    SavedState s;
    s.id = "web";
    s.bundle = "/b";
    s.rootfs = "/b/rootfs";
    s.status = Status::Paused;
    s.init_pid = 1234;
    s.init_start_time = 987654321;
    s.created = "2026-11-27T20:24:27.123456789Z";
    s.oci_version = "1.2.0";
    s.annotations = { { "a", "b" } };
    s.cgroup_path = "/cryo/web";
    s.namespaces = { { "pid", "" }, { "network", "/var/run/netns/x" } };
    s.poststart = { oci::Hook { .path = "/bin/true", .args = { "true", "x" }, .env = { "A=1" }, .timeout = 5 } };
    s.poststop = { oci::Hook { .path = "/bin/false" } };
    s.stdio = { sys::FileIdentity { 12, 34 }, sys::FileIdentity { 0, 0 }, sys::FileIdentity { 1ULL << 40, 5 } };
    auto json = saved_state_to_json(s);
    auto back = parse_saved_state(json);
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(*back, s);
}

TEST(RuntimeState, ParseErrorsNameTheFile)
{
    auto bad = parse_saved_state("{not json");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message(), "state.json: invalid JSON");
    auto status = parse_saved_state(R"({"id":"x","status":"zombie"})");
    ASSERT_FALSE(status);
    EXPECT_EQ(status.error().message(), "state.json: unknown status \"zombie\"");
    auto stdio = parse_saved_state(R"({"id":"x","status":"running","stdio":[[1,2]]})");
    ASSERT_FALSE(stdio);
    EXPECT_EQ(stdio.error().message(), "state.json: stdio needs 3 files, not 1");
    auto missing = parse_saved_state(R"({"id":"x"})");
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message().find("state.json:"), std::string::npos);
}

TEST(RuntimeState, ProcessStartTime)
{
    // Field 22 of /proc/PID/stat, through sys::parse_stat: stable for a process, and a
    // process started later never has an earlier start time.
    auto self = process_start_time(::getpid());
    ASSERT_TRUE(self) << self.error().message();
    EXPECT_GT(*self, 0u);
    auto again = process_start_time(::getpid());
    ASSERT_TRUE(again);
    EXPECT_EQ(*self, *again);
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::pause();
        ::_exit(0);
    }
    auto later = process_start_time(child);
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    ASSERT_TRUE(later) << later.error().message();
    EXPECT_GE(*later, *self);
    EXPECT_FALSE(process_start_time(child)); // reaped: gone
}

TEST(RuntimeState, OwnStartTimeMatchesProc)
{
    auto t = process_start_time(getpid());
    ASSERT_TRUE(t);
    EXPECT_GT(*t, 0u);
    EXPECT_FALSE(process_start_time(0x3fffffff));
}

TEST(RuntimeStore, CreateOpenDuplicateMissing)
{
    TempDir tmp;
    StateStore store(tmp.path + "/root");
    {
        auto c = store.create("web");
        ASSERT_TRUE(c) << c.error().message();
        EXPECT_EQ(c->dir(), tmp.path + "/root/web");
        // No state.json yet: not visible to open/ids.
        auto ids = store.ids();
        ASSERT_TRUE(ids);
        EXPECT_TRUE(ids->empty());
        c->state().bundle = "/b";
        c->state().status = Status::Created;
        ASSERT_TRUE(c->save());
        EXPECT_FALSE(sys::exists(c->dir() + "/state.json.tmp" + std::to_string(getpid())));
    }
    auto dup = store.create("web");
    ASSERT_FALSE(dup);
    EXPECT_EQ(dup.error().message(), "container web already exists");
    auto missing = store.open("db");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().message(), "container db does not exist");
    auto invalid = store.create("a/b");
    ASSERT_FALSE(invalid);
    EXPECT_NE(invalid.error().message().find("invalid container id"), std::string::npos);

    auto opened = store.open("web", LockMode::None);
    ASSERT_TRUE(opened);
    EXPECT_EQ(opened->state().bundle, "/b");
    // No init pid: stopped, and no pidfd can be had.
    EXPECT_EQ(opened->status(), Status::Stopped);
    auto pidfd = opened->open_init_pidfd();
    ASSERT_FALSE(pidfd);
    EXPECT_EQ(pidfd.error().message(), "container web is not running");
    auto rs = opened->require_status("start", { Status::Created });
    ASSERT_FALSE(rs);
    EXPECT_EQ(rs.error().message(), "cannot start container web in state stopped");

    auto ids = store.ids();
    ASSERT_TRUE(ids);
    EXPECT_EQ(*ids, std::vector<std::string> { "web" });
    ASSERT_TRUE(opened->destroy());
    EXPECT_FALSE(sys::exists(tmp.path + "/root/web"));
}

// A live process with the saved start time is alive; a different start time (a recycled
// pid) is not, so it is never signalled.
TEST(RuntimeStore, StartTimeGuardsRecycledPid)
{
    TempDir tmp;
    StateStore store(tmp.path);
    auto c = store.create("x");
    ASSERT_TRUE(c);
    c->state().status = Status::Running;
    c->state().init_pid = getpid();
    c->state().init_start_time = *process_start_time(getpid());
    EXPECT_TRUE(c->init_alive());
    EXPECT_EQ(c->status(), Status::Running);
    auto pidfd = c->open_init_pidfd();
    EXPECT_TRUE(pidfd);
    c->state().init_start_time += 1;
    EXPECT_FALSE(c->init_alive());
    EXPECT_EQ(c->status(), Status::Stopped);
    EXPECT_FALSE(c->open_init_pidfd());
    EXPECT_EQ(c->oci_state().pid, 0);
}

// The exclusive lock is held by the handle: another process cannot take it until dropped.
TEST(RuntimeStore, ExclusiveLockBlocksOthers)
{
    TempDir tmp;
    StateStore store(tmp.path);
    auto c = store.create("x");
    ASSERT_TRUE(c);
    c->state().status = Status::Created;
    ASSERT_TRUE(c->save());
    int pipefd[2];
    ASSERT_EQ(pipe(pipefd), 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(pipefd[0]);
        // Close the inherited lock fd copy: the lock belongs to the open file description.
        close(c->lock_fd().get());
        auto other = store.open("x");
        char byte = other ? 'y' : 'n';
        (void)!write(pipefd[1], &byte, 1);
        _exit(0);
    }
    close(pipefd[1]);
    usleep(100000);
    // The child must still be waiting for the lock.
    int status = 0;
    EXPECT_EQ(waitpid(pid, &status, WNOHANG), 0);
    c->unlock();
    char byte = 0;
    EXPECT_EQ(read(pipefd[0], &byte, 1), 1);
    EXPECT_EQ(byte, 'y');
    waitpid(pid, &status, 0);
    close(pipefd[0]);
}

// What a killed create leaves (a dir, no state.json, nobody holding the lock) does not
// block the id; a create in progress (lock held) does.
TEST(RuntimeStore, StaleDirIsTakenOver)
{
    TempDir tmp;
    StateStore store(tmp.path);
    ASSERT_TRUE(sys::mkdir_all(tmp.path + "/old", 0700));
    auto c = store.create("old");
    ASSERT_TRUE(c) << c.error().message();
    auto busy = store.create("old");
    ASSERT_FALSE(busy);
    EXPECT_EQ(busy.error().message(), "container old already exists");
}
