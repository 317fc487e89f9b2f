#include "sys/tracee.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <pthread.h>
#include <sched.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "sys/procfs.h"
#include "sys/raw.h"
#include "sys/test_hooks.h"

namespace cryo::sys {

namespace {

// Test hook CRYO_TEST_KILL_TRACEE (sys/test_hooks.h): kills the tracee's process from its entry
// stop of the remote syscall the hook names.
void test_kill_point(long number, pid_t tgid)
{
    if (auto const& hook = kill_tracee_hook(); hook && hook->matches(number, tgid))
        ::kill(tgid, SIGKILL);
}

using Clock = std::chrono::steady_clock;

// Looks at whether a waited-for thread died (for a death the kernel cannot report yet, a killed
// leader's) come after kFirstLook, then at doubling intervals up to kLongestLook.
constexpr Clock::duration kFirstLook = std::chrono::milliseconds(1);
constexpr Clock::duration kLongestLook = std::chrono::milliseconds(10);

// Before sleeping, a wait yields the CPU once: the tracee it just resumed often runs on this
// CPU and reaches its stop at once. Sleeping at once costs ~10 us more per remote syscall on
// this 2-core VM; yielding more than once, when busy processes share the CPU, can hand them
// whole time slices (3-6 ms stalls of a 0.3 ms remote syscall; bench/remote_syscall).
constexpr int kSpinRounds = 1;

// Threads of cryo inside a ChildSignal scope now. SIGCHLD is one signal per process: with two
// waiters, one can take the SIGCHLD that woke it for the other's tracee, so both then sleep
// only briefly between looks.
std::atomic<int> g_waiters { 0 };

// Whether the kernel sends us SIGCHLD for the ptrace stops of our tracees: not if SIGCHLD is
// ignored or has SA_NOCLDSTOP (do_notify_parent_cldstop; cryo sets neither, but could inherit
// SIG_IGN through exec). Then waits must poll, as they did before.
bool stops_send_sigchld()
{
    struct sigaction action { };
    if (::sigaction(SIGCHLD, nullptr, &action) < 0)
        return false;
    return action.sa_handler != SIG_IGN && !(action.sa_flags & SA_NOCLDSTOP);
}

// A scope in which the calling thread waits for SIGCHLD, the kernel's notice of every ptrace
// stop and exit of a tracee (sent to the tracer, queued to its process). SIGCHLD is blocked in
// this thread for the scope only (blocked, it is queued for sigtimedwait instead of discarded
// as SIG_DFL says), and the old mask comes back at its end: nothing cryo forks or clones
// later inherits a blocked SIGCHLD. No fork happens inside a scope.
class ChildSignal {
public:
    ChildSignal()
    {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGCHLD);
        ::pthread_sigmask(SIG_BLOCK, &set, &m_old);
        g_waiters.fetch_add(1, std::memory_order_relaxed);
    }
    ChildSignal(ChildSignal const&) = delete;
    ChildSignal& operator=(ChildSignal const&) = delete;
    ~ChildSignal()
    {
        g_waiters.fetch_sub(1, std::memory_order_relaxed);
        // Someone else wants SIGCHLD too: runtime's SignalForwarder blocks it to read it from a
        // signalfd (and reap orphans), or a handler is installed. Give back the one we took,
        // so they still see one.
        if (m_taken && (sigismember(&m_old, SIGCHLD) || has_handler()))
            ::kill(::getpid(), SIGCHLD);
        ::pthread_sigmask(SIG_SETMASK, &m_old, nullptr);
    }

    // Sleeps until a SIGCHLD comes (taking it) or `timeout` passes.
    void wait(Clock::duration timeout)
    {
        auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count();
        if (ns <= 0)
            return;
        timespec ts { static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000) };
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGCHLD);
        if (::sigtimedwait(&set, nullptr, &ts) == SIGCHLD)
            m_taken = true;
    }

    // How long to sleep before the next waitpid when no SIGCHLD comes: as long as the caller
    // likes if every stop sends us one that only we take; briefly if not.
    Clock::duration poll_interval()
    {
        if (!m_signalled)
            m_signalled = stops_send_sigchld();
        if (!*m_signalled || g_waiters.load(std::memory_order_relaxed) > 1)
            return std::chrono::microseconds(50);
        return Clock::duration::max();
    }

private:
    static bool has_handler()
    {
        struct sigaction action { };
        return ::sigaction(SIGCHLD, nullptr, &action) == 0 && action.sa_handler != SIG_DFL
            && action.sa_handler != SIG_IGN;
    }

    sigset_t m_old {};
    bool m_taken { false };
    std::optional<bool> m_signalled; // asked when first needed: most waits never sleep
};

// The thread is gone or a zombie (its exit may not be reportable to us yet, see wait_stop).
bool thread_dead(pid_t tid)
{
    auto stat = read_stat(tid);
    if (!stat)
        return stat.error().is_errno(ENOENT) || stat.error().is_errno(ESRCH);
    return stat->state == 'Z' || stat->state == 'X';
}

unsigned long options_of(Tracee::Options const& options)
{
    unsigned long o = PTRACE_O_TRACESYSGOOD;
    if (options.exit_kill)
        o |= PTRACE_O_EXITKILL;
    if (options.trace_clone)
        o |= PTRACE_O_TRACECLONE;
    if (options.trace_fork)
        o |= PTRACE_O_TRACEFORK;
    return o;
}

} // namespace

Result<Tracee> Tracee::seize(pid_t tgid, pid_t tid, Options options)
{
    TRY(ptrace_seize(tid, options_of(options)));
    Tracee tracee(tgid, tid);
    tracee.m_attached = true; // from here on the destructor detaches
    TRY(ptrace_interrupt(tid));
    for (;;) {
        auto waited = tracee.wait_stop(); // a killed multi-threaded process must not hang us
        if (!waited && !tracee.m_attached) // died
            return Error::from_errno(ESRCH, fmt::format("thread {} exited while being seized", tid));
        int status = TRY(std::move(waited));
        auto kind = classify_stop(status);
        if (kind == StopKind::Exited) {
            tracee.m_attached = false;
            // ESRCH, as for a thread gone before the seize: callers that walk a live tree
            // treat both as "the tree changed", not as a failure.
            return Error::from_errno(ESRCH, fmt::format("thread {} exited while being seized", tid));
        }
        if (kind == StopKind::EventStop || kind == StopKind::GroupStop)
            break;
        if (kind == StopKind::SignalStop) {
            // A signal was being delivered: keep it for later and let the interrupt land.
            tracee.m_deferred_signals.push_back(TRY(ptrace_siginfo(tid)));
            TRY(ptrace_cont(tid, 0));
            continue;
        }
        TRY(ptrace_cont(tid, 0));
    }
    tracee.m_original = TRY(ptrace_get_regs(tid));
    return tracee;
}

Result<Tracee> Tracee::adopt(pid_t tgid, pid_t tid)
{
    Tracee tracee(tgid, tid);
    tracee.m_attached = true;
    tracee.m_original = TRY(ptrace_get_regs(tid));
    return tracee;
}

Tracee::Tracee(Tracee&& other) noexcept
    : m_tgid(other.m_tgid)
    , m_tid(other.m_tid)
    , m_attached(std::exchange(other.m_attached, false))
    , m_dirty(other.m_dirty)
    , m_dead(other.m_dead)
    , m_original(other.m_original)
    , m_syscall_address(other.m_syscall_address)
    , m_last_clone_tid(other.m_last_clone_tid)
    , m_final_regs(std::move(other.m_final_regs))
    , m_final_xstate(std::move(other.m_final_xstate))
    , m_deferred_signals(std::move(other.m_deferred_signals))
{
}

Tracee::~Tracee()
{
    if (!m_attached)
        return;
    auto r = detach();
    if (!r)
        log::warn("detach from {}: {}", m_tid, r.error().message());
}

Error Tracee::died(int status)
{
    m_attached = false; // nothing left to detach from
    m_dead = true;
    // A leader's status cannot be had before its other threads are reaped: said when known.
    std::string how;
    if (status >= 0 && WIFSIGNALED(status))
        how = fmt::format(" (killed by signal {})", WTERMSIG(status));
    else if (status >= 0 && WIFEXITED(status))
        how = fmt::format(" (exited with status {})", WEXITSTATUS(status));
    return Error::format("process {} died during a remote syscall in thread {}{}", m_tgid, m_tid, how);
}

Result<int> Tracee::wait_stop()
{
    // Not a blocking waitpid: if the process is SIGKILLed while we hold it, the exit of a
    // thread-group leader is reported only once its other threads are reaped, and those are
    // our tracees too (zombies only we reap): waitpid(leader) would never return. So sleep on
    // the SIGCHLD the kernel sends us for every stop and exit of the thread, with a timeout
    // after which we look at whether the thread is dead.
    std::optional<ChildSignal> child_signal; // only if the stop is not there after the spin
    int spins = 0;
    auto look_every = kFirstLook;
    Clock::time_point next_look;
    for (;;) {
        int status = 0;
        pid_t r = ::waitpid(m_tid, &status, __WALL | WNOHANG);
        if (r == m_tid)
            return status;
        if (r < 0 && errno == ECHILD)
            return died(-1);
        if (r < 0 && errno != EINTR)
            return Error::from_errno(fmt::format("waitpid {}", m_tid));
        if (spins < kSpinRounds) {
            ++spins;
            ::sched_yield();
            continue;
        }
        auto now = Clock::now();
        if (!child_signal) {
            // From here a SIGCHLD is kept for us; one sent before was discarded, so look again
            // before sleeping.
            child_signal.emplace();
            next_look = now + look_every;
            continue;
        }
        if (now >= next_look) {
            if (thread_dead(m_tid)) {
                // One last look: a non-leader's exit may have just become reportable.
                if (::waitpid(m_tid, &status, __WALL | WNOHANG) == m_tid)
                    return status;
                return died(-1);
            }
            look_every = std::min(look_every * 2, kLongestLook);
            next_look = now + look_every;
        }
        child_signal->wait(std::min(next_look - now, child_signal->poll_interval()));
    }
}

Error Tracee::ptrace_failed(Error error)
{
    // ESRCH from ptrace: the thread left its stop, which only a SIGKILL does to a tracee we
    // hold; wait (briefly) for its death and say so, rather than a bare "No such process".
    if (!error.is_errno(ESRCH))
        return error;
    ChildSignal child_signal; // its exit, or its becoming a zombie, sends us a SIGCHLD
    auto const deadline = Clock::now() + std::chrono::seconds(2);
    for (;;) {
        int status = 0;
        pid_t r = ::waitpid(m_tid, &status, __WALL | WNOHANG);
        if (r == m_tid && classify_stop(status) == StopKind::Exited)
            return died(status);
        if ((r < 0 && errno == ECHILD) || thread_dead(m_tid))
            return died(-1);
        auto now = Clock::now();
        if (now >= deadline)
            return error;
        child_signal.wait(std::min({ deadline - now, kFirstLook, child_signal.poll_interval() }));
    }
}

Result<void> Tracee::wait_syscall_stop()
{
    for (;;) {
        int status = TRY(wait_stop());
        auto kind = classify_stop(status);
        if (kind == StopKind::EventStop && (status >> 16) == PTRACE_EVENT_EXIT) {
            // About to exit: the syscall will never complete. Let it finish dying.
            (void)ptrace_cont(m_tid, 0);
            return died(-1);
        }
        auto resume = [this]() -> Result<void> {
            auto r = ptrace_syscall(m_tid, 0);
            if (!r)
                return ptrace_failed(r.release_error());
            return {};
        };
        switch (kind) {
        case StopKind::SyscallStop:
            return {};
        case StopKind::Exited:
            return died(status);
        case StopKind::SignalStop:
            m_deferred_signals.push_back(TRY(ptrace_siginfo(m_tid)));
            TRY(resume());
            break;
        case StopKind::EventStop:
            if ((status >> 16) == PTRACE_EVENT_CLONE || (status >> 16) == PTRACE_EVENT_FORK)
                m_last_clone_tid = static_cast<pid_t>(TRY(ptrace_event_msg(m_tid)));
            TRY(resume());
            break;
        case StopKind::GroupStop:
        case StopKind::Other:
            TRY(resume());
            break;
        }
    }
}

Result<long> Tracee::syscall(long number, std::array<uint64_t, 6> args)
{
    if (!m_attached)
        return Error::format("remote syscall {} in {}: not attached", number, m_tid);
    if (m_syscall_address == 0)
        return Error::format("remote syscall {} in {}: no syscall instruction known", number, m_tid);
    Registers regs = m_original;
    regs.rip = m_syscall_address;
    regs.rax = static_cast<unsigned long long>(number);
    // orig_rax = -1: the stop we resume from must not restart the interrupted syscall.
    regs.orig_rax = static_cast<unsigned long long>(-1L);
    regs.rdi = args[0];
    regs.rsi = args[1];
    regs.rdx = args[2];
    regs.r10 = args[3];
    regs.r8 = args[4];
    regs.r9 = args[5];
    m_dirty = true;
    m_last_clone_tid = 0;
    auto checked = [this](Result<void> r) -> Result<void> {
        if (!r)
            return ptrace_failed(r.release_error());
        return {};
    };
    // SAFETY: registers of a thread we hold stopped; the originals are put back on detach.
    TRY(checked(ptrace_set_regs(m_tid, regs)));
    TRY(checked(ptrace_syscall(m_tid, 0)));
    TRY(wait_syscall_stop()); // entry
    test_kill_point(number, m_tgid);
    TRY(checked(ptrace_syscall(m_tid, 0)));
    TRY(wait_syscall_stop()); // exit
    auto after_regs = ptrace_get_regs(m_tid);
    if (!after_regs)
        return ptrace_failed(after_regs.release_error());
    Registers after = *after_regs;
    // Original registers back at once: if cryo dies before the next remote syscall or the
    // detach, the kernel lets the thread go where it was, not into the middle of the vDSO.
    TRY(put_back_registers());
    return static_cast<long>(after.rax);
}

Result<uint64_t> Tracee::syscall_checked(char const* what, long number, std::array<uint64_t, 6> args)
{
    long r = TRY(syscall(number, args));
    if (r < 0 && r > -4096)
        return Error::from_errno(static_cast<int>(-r), fmt::format("{} (in {})", what, m_tid));
    return static_cast<uint64_t>(r);
}

void Tracee::set_final_state(Registers regs, std::vector<uint8_t> xstate)
{
    m_final_regs = regs;
    m_final_xstate = std::move(xstate);
}

Result<void> Tracee::put_back_registers()
{
    if (!m_attached || !m_dirty || m_final_regs)
        return {};
    // We sit at a syscall exit: the same adjustment detach() makes (see there).
    TRY(ptrace_set_regs(m_tid, apply_syscall_restart(m_original, true)));
    m_dirty = false;
    return {};
}

Result<void> Tracee::detach()
{
    if (!m_attached)
        return {};
    m_attached = false;
    std::optional<Error> first_error;
    auto note = [&](Result<void> r) {
        if (!r && !first_error)
            first_error = r.release_error();
    };
    if (m_final_regs) {
        if (!m_final_xstate.empty())
            note(ptrace_set_xstate(m_tid, m_final_xstate));
        note(ptrace_set_regs(m_tid, *m_final_regs));
    } else if (m_dirty) {
        // We stop at a syscall exit now, where the kernel no longer applies the restart rule
        // of the interrupted syscall; apply it ourselves.
        note(ptrace_set_regs(m_tid, apply_syscall_restart(m_original, true)));
    }
    note(ptrace_detach(m_tid, 0));
    for (auto const& info : m_deferred_signals) {
        // Re-queue with the original siginfo where the kernel allows it (si_code < 0), else
        // as a plain tgkill: the signal is delivered either way.
        siginfo_t copy = info;
        long r = -1;
        if (info.si_code < 0)
            r = ::syscall(__NR_rt_tgsigqueueinfo, m_tgid, m_tid, info.si_signo, &copy);
        if (r < 0)
            r = ::syscall(__NR_tgkill, m_tgid, m_tid, info.si_signo);
        if (r < 0 && !first_error)
            first_error = Error::from_errno(fmt::format("re-send signal {} to {}", info.si_signo, m_tid));
    }
    // A thread killed while we held it cannot be detached, and needs not be: ESRCH means it
    // left its stop, which only SIGKILL does; give it a moment to become a zombie.
    if (first_error && first_error->is_errno(ESRCH)) {
        ChildSignal child_signal;
        auto const deadline = Clock::now() + std::chrono::seconds(1);
        for (;;) {
            if (thread_dead(m_tid))
                return {};
            auto now = Clock::now();
            if (now >= deadline)
                break;
            child_signal.wait(std::min({ deadline - now, kFirstLook, child_signal.poll_interval() }));
        }
    }
    if (first_error)
        return first_error->add_context(fmt::format("detach from {}", m_tid));
    return {};
}

} // namespace cryo::sys
