// freeze.h: TreeWalk over a small live tree this test forks (children of every thread, each
// process once, breadth first; no root needed), and group_stop_now.
#include <gtest/gtest.h>

#include <condition_variable>
#include <csignal>
#include <fcntl.h>
#include <mutex>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "checkpoint/freeze.h"
#include "sys/procfs.h"

using namespace cryo;

namespace {

// A child that pauses until killed; with_grandchild: it forks one more first and writes its
// pid to `report`.
pid_t fork_sleeper(int report = -1)
{
    pid_t pid = ::fork();
    if (pid == 0) {
        if (report >= 0) {
            pid_t grandchild = ::fork();
            if (grandchild == 0)
                for (;;)
                    ::pause();
            (void)!::write(report, &grandchild, sizeof grandchild);
        }
        for (;;)
            ::pause();
    }
    return pid;
}

void kill_and_reap(pid_t pid)
{
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
}

} // namespace

TEST(TreeWalk, ChildrenOfEveryThreadOnceBreadthFirst)
{
    // The grandchild, orphaned when `a` is killed, comes to us to be reaped.
    ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    int pipe_fds[2];
    ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
    pid_t a = fork_sleeper(pipe_fds[1]); // from the main thread, with a grandchild
    ASSERT_GT(a, 0);
    pid_t grandchild = 0;
    ASSERT_EQ(::read(pipe_fds[0], &grandchild, sizeof grandchild), static_cast<ssize_t>(sizeof grandchild));
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    // A child of another thread: listed in that thread's children file only. The thread stays
    // alive while the walk runs (its children would move to the leader when it exits).
    pid_t b = 0;
    bool done = false;
    std::mutex lock;
    std::condition_variable cv;
    std::thread forker([&] {
        std::unique_lock hold(lock);
        b = fork_sleeper();
        cv.notify_all();
        cv.wait(hold, [&] { return done; });
    });
    {
        std::unique_lock hold(lock);
        cv.wait(hold, [&] { return b != 0; });
    }
    ASSERT_GT(b, 0);

    int self = ::getpid();
    checkpoint::TreeWalk walk(self);
    auto tids = MUST(sys::list_threads(self));
    EXPECT_EQ(tids.size(), 2u);
    EXPECT_TRUE(walk.add_children(self, tids));
    EXPECT_FALSE(walk.add_children(self, tids)) << "children already found are not added again";
    EXPECT_TRUE(walk.add_children(a, MUST(sys::list_threads(a))));
    // A thread that is gone (or never was) adds nothing.
    EXPECT_FALSE(walk.add_children(a, std::vector<int> { 0x3fffffff }));

    auto pids = walk.pids();
    ASSERT_EQ(pids.size(), 4u);
    EXPECT_EQ(pids[0], self);
    EXPECT_TRUE((pids[1] == a && pids[2] == b) || (pids[1] == b && pids[2] == a));
    EXPECT_EQ(pids[3], grandchild);

    {
        std::unique_lock hold(lock);
        done = true;
        cv.notify_all();
    }
    forker.join();
    kill_and_reap(b);
    kill_and_reap(a);
    kill_and_reap(grandchild);
    ::prctl(PR_SET_CHILD_SUBREAPER, 0);
}

namespace {

constexpr uint64_t bit(int signal)
{
    return uint64_t { 1 } << (signal - 1);
}

} // namespace

TEST(GroupStopNow, RunningStaysRunning)
{
    EXPECT_EQ(checkpoint::group_stop_now(0, 0, 0), 0);
    // A stop signal sent while frozen is a pending signal of the image, not a group stop yet.
    EXPECT_EQ(checkpoint::group_stop_now(0, bit(SIGSTOP), 0), 0);
    EXPECT_EQ(checkpoint::group_stop_now(0, bit(SIGCONT), SIGCONT), 0);
}

TEST(GroupStopNow, StoppedUntilASigcontCame)
{
    EXPECT_EQ(checkpoint::group_stop_now(SIGSTOP, 0, 0), SIGSTOP);
    EXPECT_EQ(checkpoint::group_stop_now(SIGTSTP, bit(SIGUSR1) | bit(SIGCHLD), 0), SIGTSTP);
    // SIGCONT queued in the kernel (the process is traced, so it stays there), or taken off
    // a thread by a remote syscall.
    EXPECT_EQ(checkpoint::group_stop_now(SIGSTOP, bit(SIGCONT), 0), 0);
    EXPECT_EQ(checkpoint::group_stop_now(SIGSTOP, bit(SIGCONT) | bit(SIGUSR1), SIGSTOP), 0);
    EXPECT_EQ(checkpoint::group_stop_now(SIGTTIN, bit(SIGUSR1), SIGCONT), 0);
}

TEST(GroupStopNow, AStopAfterTheSigcontStopsItAgain)
{
    // SIGCONT, then SIGSTOP: the stop flushed the SIGCONT and is pending (seen on 6.18:
    // ShdPnd 0x40000 after SIGCONT then SIGSTOP to a seized stopped process).
    EXPECT_EQ(checkpoint::group_stop_now(SIGSTOP, bit(SIGSTOP), 0), SIGSTOP);
    EXPECT_EQ(checkpoint::group_stop_now(SIGTSTP, bit(SIGTSTP), SIGCONT), SIGTSTP);
    // A SIGCONT taken off earlier, then a stop that is still queued: stopped.
    EXPECT_EQ(checkpoint::group_stop_now(SIGSTOP, bit(SIGTTOU), SIGCONT), SIGSTOP);
    // The last taken off was a stop signal: stopped again once it is re-sent.
    EXPECT_EQ(checkpoint::group_stop_now(SIGSTOP, 0, SIGSTOP), SIGSTOP);
}
