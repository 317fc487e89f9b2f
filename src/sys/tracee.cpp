#include "sys/tracee.h"

#include <csignal>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "sys/raw.h"

namespace cryo::sys {

namespace {

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
        int status = TRY(wait_traced(tid));
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

Result<void> Tracee::wait_syscall_stop()
{
    for (;;) {
        int status = TRY(wait_traced(m_tid));
        auto kind = classify_stop(status);
        switch (kind) {
        case StopKind::SyscallStop:
            return {};
        case StopKind::Exited:
            m_attached = false;
            return Error::format("thread {} died during a remote syscall (status {:#x})", m_tid, status);
        case StopKind::SignalStop:
            m_deferred_signals.push_back(TRY(ptrace_siginfo(m_tid)));
            TRY(ptrace_syscall(m_tid, 0));
            break;
        case StopKind::EventStop:
            if ((status >> 16) == PTRACE_EVENT_CLONE || (status >> 16) == PTRACE_EVENT_FORK)
                m_last_clone_tid = static_cast<pid_t>(TRY(ptrace_event_msg(m_tid)));
            TRY(ptrace_syscall(m_tid, 0));
            break;
        case StopKind::GroupStop:
        case StopKind::Other:
            TRY(ptrace_syscall(m_tid, 0));
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
    // SAFETY: registers of a thread we hold stopped; the originals are put back on detach.
    TRY(ptrace_set_regs(m_tid, regs));
    TRY(ptrace_syscall(m_tid, 0));
    TRY(wait_syscall_stop()); // entry
    TRY(ptrace_syscall(m_tid, 0));
    TRY(wait_syscall_stop()); // exit
    Registers after = TRY(ptrace_get_regs(m_tid));
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
    if (first_error)
        return first_error->add_context(fmt::format("detach from {}", m_tid));
    return {};
}

} // namespace cryo::sys
