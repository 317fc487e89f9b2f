#include "checkpoint/syscall_reentry.h"
#include "sys/ptrace_calls.h"
#include "sys/remote_memory.h"
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>

namespace cryo::checkpoint {

namespace {

constexpr long kErestartRestartBlock = 516; // include/linux/errno.h, never seen by user space
constexpr uint64_t kFutexCmdMask = ~uint64_t { 128 | 256 }; // ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)
constexpr uint64_t kFutexWait = 0;
constexpr uint64_t kFutexWaitBitset = 9;
constexpr uint64_t kTimerAbstime = 1;

bool at_syscall_instruction(pid_t pid, uint64_t rip)
{
    uint8_t code[2] {};
    sys::RemoteCopy copy { code, rip, sizeof code };
    // Unreadable code (execute-only): leave the thread as it is, the old behaviour.
    if (!sys::process_vm_read(pid, { &copy, 1 }))
        return false;
    return code[0] == 0x0f && code[1] == 0x05;
}

sys::Registers returning(sys::Registers regs, long result)
{
    regs.rax = static_cast<unsigned long long>(result);
    regs.orig_rax = static_cast<unsigned long long>(-1L);
    return regs;
}

} // namespace

// What the restored thread does, per syscall that returns -ERESTART_RESTARTBLOCK (x86-64;
// see the set_restart_fn callers: kernel/time/hrtimer.c hrtimer_nanosleep,
// kernel/time/posix-cpu-timers.c, kernel/time/alarmtimer.c, kernel/futex/waitwake.c
// futex_wait, fs/select.c sys_poll). The kernel's restart block holds an absolute deadline that
// user space cannot read; what user space can see decides:
//
// | syscall (args at the freeze)            | restored thread                                  |
// |-----------------------------------------|--------------------------------------------------|
// | nanosleep(req, rem), rem != NULL        | the same sleep again with rem as its request:    |
// | clock_nanosleep(clk, 0, req, rem), same |   the kernel wrote the time left to *rem at the  |
// |                                         |   freeze, so it sleeps the rest on its clock (in |
// |                                         |   the process's own time: the time it spent      |
// |                                         |   dumped does not count). The one register that  |
// |                                         |   differs on return is the request pointer (rdi  |
// |                                         |   resp. rdx, now rem: glibc does not read it     |
// |                                         |   after the syscall)                             |
// | the same with rem == NULL               | sleeps the whole request again: never early and  |
// |                                         |   never an EINTR no signal caused; at worst it   |
// |                                         |   sleeps what it had slept before the dump again |
// | clock_nanosleep TIMER_ABSTIME           | -ERESTARTNOHAND, not here: same call again (1)   |
// | futex FUTEX_WAIT with a (relative)      | returns 0: a wakeup, which futex(2) says callers |
// |   timeout                               |   must treat as possibly spurious (they recheck  |
// |                                         |   the word and wait again with what is left)     |
// | futex FUTEX_WAIT_BITSET with a timeout  | same call again: the timeout is absolute, so the |
// |   (absolute)                            |   deadline is the same, as restart_syscall's     |
// | futex waits without timeout, futex_waitv| -ERESTARTSYS, not here: same call again (1)      |
// | poll(fds, n, timeout < 0)               | same call again: exactly the kernel's restart    |
// | poll(fds, n, timeout >= 0)              | same call again with the whole timeout: the time |
// |                                         |   left is not visible to user space. Never early |
// |                                         |   (POSIX would allow EINTR, but Linux has not    |
// |                                         |   shown a poll EINTR after a stop since 2.6.24,  |
// |                                         |   and programs that die on it exist)             |
// | ppoll, select, pselect6 with timeout    | -ERESTARTNOHAND after writing the time left into |
// |                                         |   their timeout argument: same call again (1),   |
// |                                         |   which then waits only the rest                 |
// | epoll_wait, epoll_pwait(2)              | the kernel returns -EINTR to them at the freeze  |
// |                                         |   itself (signal(7): not restarted after a stop),|
// |                                         |   with --leave-running too: EINTR after restore  |
// | restart_syscall: the thread was already | EINTR: which syscall it continues is only in the |
// |   continuing one of the above after an  |   kernel's restart block (/proc/PID/syscall says |
// |   earlier stop. Every ptrace detach     |   219 and wchan ptrace_stop once it is frozen;   |
// |   kicks the thread out of its sleep     |   the code before the `syscall` instruction      |
// |   once, so this is the state of such a  |   would only be a guess). So a process restored  |
// |   sleeper after a restore, after a      |   by cryo, or left running by it, and dumped     |
// |   --leave-running dump, SIGSTOP/SIGCONT |   again while in the same sleep sees EINTR from  |
// |   or a debugger                         |   it after the second restore                    |
// | anything else                           | EINTR                                            |
//
// (1) collect.cpp saves these rewound; enter_interrupted_syscall re-enters them at restore.
RestartPlan plan_restart_block(sys::Registers const& frozen)
{
    RestartPlan plan;
    if (static_cast<long>(frozen.orig_rax) < 0 || static_cast<long>(frozen.rax) != -kErestartRestartBlock)
        return plan;
    uint64_t nr = frozen.orig_rax;
    // request, rem: the sleep's argument registers.
    auto sleep = [&](unsigned long long sys::Registers::*request, unsigned long long sys::Registers::*rem) {
        plan.regs = same_call_registers(frozen);
        if (frozen.*rem == 0) {
            plan.action = RestartAction::Reenter;
            return;
        }
        plan.action = RestartAction::SleepRemaining;
        plan.regs.*request = frozen.*rem;
        plan.rem_address = frozen.*rem;
    };
    switch (nr) {
    case SYS_nanosleep:
        sleep(&sys::Registers::rdi, &sys::Registers::rsi);
        return plan;
    case SYS_clock_nanosleep:
        if (frozen.rsi & kTimerAbstime) {
            plan.action = RestartAction::Reenter;
            plan.regs = same_call_registers(frozen);
        } else {
            sleep(&sys::Registers::rdx, &sys::Registers::r10);
        }
        return plan;
    case SYS_futex: {
        uint64_t cmd = frozen.rsi & kFutexCmdMask;
        if (cmd == kFutexWait) {
            plan.action = RestartAction::SpuriousWakeup;
            plan.regs = returning(frozen, 0);
            return plan;
        }
        if (cmd == kFutexWaitBitset) {
            plan.action = RestartAction::Reenter;
            plan.regs = same_call_registers(frozen);
            return plan;
        }
        break;
    }
    case SYS_poll:
        plan.action = RestartAction::Reenter;
        plan.regs = same_call_registers(frozen);
        return plan;
    default:
        break;
    }
    plan.action = RestartAction::Eintr;
    plan.regs = returning(frozen, -EINTR);
    return plan;
}

sys::Registers same_call_registers(sys::Registers frozen)
{
    frozen.rax = frozen.orig_rax;
    frozen.rip -= 2; // back onto the 2-byte `syscall` instruction
    frozen.orig_rax = static_cast<unsigned long long>(-1L);
    return frozen;
}

char const* restart_action_name(RestartAction action)
{
    switch (action) {
    case RestartAction::None:
        return "none";
    case RestartAction::Reenter:
        return "re-enter";
    case RestartAction::SleepRemaining:
        return "sleep the rest";
    case RestartAction::SpuriousWakeup:
        return "spurious wakeup";
    case RestartAction::Eintr:
        return "EINTR";
    }
    return "?";
}

Result<void> enter_interrupted_syscall(sys::Tracee& t, sys::Registers regs, std::vector<uint8_t> const& xstate)
{
    if (!at_syscall_instruction(t.tgid(), regs.rip)) {
        t.set_final_state(regs, xstate);
        return {};
    }
    // SAFETY: the thread is ours (restored, ptrace-stopped, never yet run); these are the
    // registers it was dumped with, which restore would set on detach anyway.
    if (!xstate.empty())
        TRY(sys::ptrace_set_xstate(t.tid(), xstate));
    TRY(sys::ptrace_set_regs(t.tid(), regs));
    TRY(sys::ptrace_syscall(t.tid(), 0));
    for (;;) {
        int status = TRY(sys::wait_traced(t.tid()));
        auto kind = sys::classify_stop(status);
        if (kind == sys::StopKind::EventStop && (status >> 16) == PTRACE_EVENT_EXIT)
            kind = sys::StopKind::Exited;
        if (kind == sys::StopKind::Exited) {
            t.forget();
            return {};
        }
        if (kind == sys::StopKind::SyscallStop)
            break;
        // A signal before the syscall: deliver it (its handler returns onto the syscall
        // instruction, which then stops at entry). Other stops: go on.
        int deliver = kind == sys::StopKind::SignalStop ? WSTOPSIG(status) : 0;
        TRY(sys::ptrace_syscall(t.tid(), deliver));
    }
    // At syscall-entry: orig_rax holds the number, rax -ENOSYS; detach puts these back as is
    // and the kernel runs the syscall.
    t.set_final_state(TRY(sys::ptrace_get_regs(t.tid())), xstate);
    return {};
}

void test_signal_at_release(pid_t pid)
{
    static char const* const wanted = std::getenv("CRYO_TEST_SIGNAL_AT_RELEASE");
    if (wanted)
        ::kill(pid, std::atoi(wanted));
}

} // namespace cryo::checkpoint
