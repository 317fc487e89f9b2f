// Tracee's waits sleep on SIGCHLD (sys/tracee.cpp, ChildSignal): the caller's signal mask comes
// back unchanged, a SIGCHLD someone else blocked for a signalfd or handles is given back, an ignored
// SIGCHLD still works (by polling), and a multi-threaded tracee killed during a remote syscall
// fails it instead of hanging it. Against real children (ptrace of one's own child needs no root).
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <pthread.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "checkpoint/remote.h"
#include "sys/procfs.h"
#include "sys/tracee.h"

using namespace cryo;

namespace {

void* sleep_forever(void*)
{
    for (;;)
        ::pause();
    return nullptr;
}

// A child sleeping in pause() with `threads` threads in all; killed and reaped at the end
// (its traced non-leader threads first: a traced leader is reaped only after them).
struct Child {
    pid_t pid { 0 };
    explicit Child(int threads = 1)
    {
        int ready[2];
        EXPECT_EQ(::pipe(ready), 0);
        pid = ::fork();
        if (pid == 0) {
            for (int i = 1; i < threads; ++i) {
                pthread_t t;
                ::pthread_create(&t, nullptr, sleep_forever, nullptr);
            }
            char c = 1;
            (void)!::write(ready[1], &c, 1);
            sleep_forever(nullptr);
        }
        ::close(ready[1]);
        char c = 0;
        EXPECT_EQ(::read(ready[0], &c, 1), 1);
        ::close(ready[0]);
    }
    ~Child()
    {
        if (pid <= 0)
            return;
        auto tids = sys::list_threads(pid);
        ::kill(pid, SIGKILL);
        if (tids)
            for (int tid : *tids)
                if (tid != pid)
                    ::waitpid(tid, nullptr, __WALL);
        ::waitpid(pid, nullptr, __WALL);
    }
};

sigset_t current_mask()
{
    sigset_t mask;
    ::pthread_sigmask(SIG_SETMASK, nullptr, &mask);
    return mask;
}

bool sigchld_pending()
{
    sigset_t pending;
    ::sigpending(&pending);
    return sigismember(&pending, SIGCHLD);
}

void drop_pending_sigchld()
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    timespec zero {};
    while (::sigtimedwait(&set, nullptr, &zero) == SIGCHLD) { }
}

sys::Tracee seize(pid_t pid, pid_t tid)
{
    auto tracee = MUST(sys::Tracee::seize(pid, tid, {}));
    auto maps = MUST(sys::read_maps(pid));
    tracee.set_syscall_address(MUST(checkpoint::find_vdso_syscall(pid, maps)));
    return tracee;
}

// A remote poll(NULL, 0, ms): the tracee sleeps, so the wait for its syscall exit sleeps too.
long remote_sleep(sys::Tracee& tracee, int ms)
{
    return MUST(tracee.syscall(SYS_poll, { 0, 0, static_cast<uint64_t>(ms) }));
}

} // namespace

TEST(TraceeWait, SignalMaskComesBackAndNoSigchldStaysBehind)
{
    sigset_t before = current_mask();
    ASSERT_FALSE(sigismember(&before, SIGCHLD));
    Child child;
    {
        auto tracee = seize(child.pid, child.pid);
        for (int i = 0; i < 20; ++i)
            EXPECT_EQ(MUST(tracee.syscall(SYS_getppid)), ::getpid());
        EXPECT_EQ(remote_sleep(tracee, 5), 0);
        sigset_t during = current_mask();
        EXPECT_FALSE(sigismember(&during, SIGCHLD)); // blocked only inside a wait
    }
    sigset_t after = current_mask();
    EXPECT_FALSE(sigismember(&after, SIGCHLD));
    EXPECT_FALSE(sigchld_pending());
}

TEST(TraceeWait, BlockedSigchldStaysBlockedAndIsGivenBack)
{
    // As runtime's SignalForwarder does before a restore: every signal blocked, read later
    // from a signalfd (a SIGCHLD there means: reap orphans).
    sigset_t all, old;
    sigfillset(&all);
    ASSERT_EQ(::pthread_sigmask(SIG_SETMASK, &all, &old), 0);
    drop_pending_sigchld();
    {
        Child child;
        auto tracee = seize(child.pid, child.pid);
        // The wait for the syscall exit sleeps and takes every SIGCHLD pending: one is given
        // back at its end.
        EXPECT_EQ(remote_sleep(tracee, 5), 0);
        EXPECT_TRUE(sigchld_pending());
        EXPECT_EQ(MUST(tracee.syscall(SYS_getpid)), child.pid);
        sigset_t during = current_mask();
        EXPECT_TRUE(sigismember(&during, SIGCHLD));
        EXPECT_TRUE(sigismember(&during, SIGTERM));
    }
    drop_pending_sigchld();
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

volatile sig_atomic_t g_handled = 0;

TEST(TraceeWait, SigchldHandlerStillSeesOne)
{
    struct sigaction count {
    }, old {};
    count.sa_handler = [](int) { g_handled = g_handled + 1; };
    ASSERT_EQ(::sigaction(SIGCHLD, &count, &old), 0);
    {
        Child child;
        auto tracee = seize(child.pid, child.pid);
        g_handled = 0;
        // The wait for the exit sleeps and takes the SIGCHLD of the exit stop; the handler
        // gets one back when the wait unblocks SIGCHLD.
        EXPECT_EQ(remote_sleep(tracee, 5), 0);
        EXPECT_GE(g_handled, 1);
        sigset_t after = current_mask();
        EXPECT_FALSE(sigismember(&after, SIGCHLD));
    }
    ::sigaction(SIGCHLD, &old, nullptr);
}

TEST(TraceeWait, IgnoredSigchldStillCompletesRemoteSyscalls)
{
    // SIG_IGN (inheritable through exec): the kernel sends no SIGCHLD for ptrace stops, so the
    // waits poll; they must still see every stop.
    struct sigaction ignore {
    }, old {};
    ignore.sa_handler = SIG_IGN;
    ASSERT_EQ(::sigaction(SIGCHLD, &ignore, &old), 0);
    {
        Child child;
        {
            auto tracee = seize(child.pid, child.pid);
            auto t0 = std::chrono::steady_clock::now();
            for (int i = 0; i < 5; ++i)
                EXPECT_EQ(remote_sleep(tracee, 2), 0);
            EXPECT_EQ(MUST(tracee.syscall(SYS_getppid)), ::getpid());
            EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
        }
        ::sigaction(SIGCHLD, &old, nullptr); // before the child is killed and reaped
    }
    ::sigaction(SIGCHLD, &old, nullptr);
}

TEST(TraceeWait, KilledMultiThreadedTraceeFailsTheRemoteSyscall)
{
    // The leader's exit cannot be reported while its other threads (our tracees, zombies only
    // we reap) are not reaped: a blocking waitpid would hang here.
    Child child(3);
    auto tids = MUST(sys::list_threads(child.pid));
    ASSERT_EQ(tids.size(), 3u);
    std::vector<sys::Tracee> held;
    for (int tid : tids)
        held.push_back(tid == child.pid ? seize(child.pid, tid) : MUST(sys::Tracee::seize(child.pid, tid, {})));
    auto& leader = held.front().tid() == child.pid ? held.front() : held.back();
    ASSERT_EQ(leader.tid(), child.pid);
    std::thread killer([pid = child.pid] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        ::kill(pid, SIGKILL);
    });
    auto t0 = std::chrono::steady_clock::now();
    auto r = leader.syscall(SYS_poll, { 0, 0, 5000 });
    auto took = std::chrono::steady_clock::now() - t0;
    killer.join();
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find(fmt::format("process {} died", child.pid)), std::string::npos)
        << r.error().message();
    EXPECT_TRUE(leader.dead());
    EXPECT_LT(took, std::chrono::seconds(2)); // not the 5 s poll, and no hang
    held.clear(); // the other threads' detach is silent (they are dead)
}
