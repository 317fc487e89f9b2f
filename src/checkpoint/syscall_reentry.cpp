#include "checkpoint/syscall_reentry.h"
#include "checkpoint/test_hooks.h"
#include "sys/file.h"
#include "sys/futex_state.h"
#include "sys/procfs.h"
#include "sys/ptrace_calls.h"
#include "sys/remote_memory.h"
#include "sys/task_stat.h"
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace cryo::checkpoint {

namespace {

constexpr long kErestartSys = 512; // include/linux/errno.h, never seen by user space
constexpr long kErestartNoHand = 514;
constexpr long kErestartRestartBlock = 516;
constexpr uint64_t kFutexCmdMask = ~uint64_t { 128 | 256 }; // ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)
constexpr uint64_t kFutexWait = 0;
constexpr uint64_t kFutexWaitBitset = 9;
constexpr uint64_t kTimerAbstime = 1;
constexpr uint64_t kUserCs64 = 0x33; // arch/x86/include/asm/segment.h __USER_CS

} // namespace

bool at_syscall_instruction(pid_t pid, uint64_t rip)
{
    uint8_t code[2] {};
    sys::RemoteCopy copy { code, rip, sizeof code };
    // Unreadable code (execute-only): leave the thread as it is, the old behaviour.
    if (!sys::process_vm_read(pid, { &copy, 1 }))
        return false;
    return code[0] == 0x0f && code[1] == 0x05;
}

namespace {

constexpr uint64_t kSysEpollPwait2 = 441; // not in every libc's <sys/syscall.h>

// Socket calls return -EINTR to a freeze only with SO_RCVTIMEO/SO_SNDTIMEO set, -ERESTARTSYS
// without (net/core/sock.c sock_intr_errno).
bool socket_call(uint64_t syscall_nr)
{
    switch (syscall_nr) {
    case SYS_accept:
    case SYS_accept4:
    case SYS_recvfrom:
    case SYS_recvmsg:
    case SYS_recvmmsg:
    case SYS_sendto:
    case SYS_sendmsg:
    case SYS_sendmmsg:
        return true;
    default:
        return false;
    }
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
// | epoll_wait, epoll_pwait(2), semtimedop,  | not here: -EINTR at the freeze (eintr_reentry_-  |
// |   rt_sigtimedwait...                      |   safe); freeze.cpp rewinds them at once (3)     |
// | restart_syscall: the thread was already | the call it continues, by the kernel's restart   |
// |   continuing one of the above after an  |   function (read_continued_call, see (4) in the  |
// |   earlier stop that was not cryo's: a   |   header) and the argument registers, which are  |
// |   SIGSTOP/SIGCONT or a debugger. (cryo's|   intact: planned by the rows above as if it had |
// |   own freeze gives a live thread this   |   stopped in that call (orig_rax is 219, the     |
// |   table's plan at once, and restore     |   original number is gone). nanosleep's rem: the |
// |   lets threads go into the real call:   |   kernel writes it again at every interruption   |
// |   syscall_reentry.h (3), kick_visible)  |   of the restart too (do_nanosleep). EINTR when  |
// |                                         |   the function is not one of hrtimer_nanosleep_- |
// |                                         |   restart, posix_cpu_nsleep_restart, alarm_time- |
// |                                         |   r_nsleep_restart, futex_wait_restart, do_rest- |
// |                                         |   art_poll, or the registers do not fit it. Not  |
// |                                         |   read before the freeze (stopped again inside   |
// |                                         |   restart_syscall, or SIGCONT just then): read   |
// |                                         |   while it sleeps there once more under cryo     |
// |                                         |   (probe_continued_call)                         |
// | anything else                           | EINTR                                            |
//
// (1) collect.cpp saves these rewound; enter_interrupted_syscall re-enters them at restore.
// The same plan goes to the live thread at the freeze (plan_freeze_rewind), except Eintr: a
// live thread keeps its restart block, and the kernel's restart stays exact for it.
std::optional<struct timespec> read_time_left(int pid, uint64_t address)
{
    struct timespec rem { };
    sys::RemoteCopy copy { &rem, address, sizeof rem };
    if (!sys::process_vm_read(pid, { &copy, 1 }) || rem.tv_sec < 0 || rem.tv_nsec < 0 || rem.tv_nsec >= 1'000'000'000)
        return std::nullopt;
    return rem;
}

ContinuedCall parse_restart_stack(std::string_view stack)
{
    // Lines "[<0>] name+0x1f/0x80", innermost first, down to the syscall entry.
    bool frames = false;
    while (!stack.empty()) {
        auto end = stack.find('\n');
        auto line = stack.substr(0, end);
        stack = end == std::string_view::npos ? std::string_view {} : stack.substr(end + 1);
        auto open = line.find("] ");
        if (open == std::string_view::npos)
            continue;
        auto name = line.substr(open + 2);
        name = name.substr(0, name.find('+'));
        if (name == "futex_wait_restart")
            return ContinuedCall::FutexWait;
        if (name == "do_restart_poll")
            return ContinuedCall::Poll;
        if (name == "posix_cpu_nsleep_restart" || name == "alarm_timer_nsleep_restart")
            return ContinuedCall::ClockNanosleep;
        if (name == "hrtimer_nanosleep_restart")
            return ContinuedCall::Nanosleep;
        // The entry: the restart function is not below it. x64_sys_call (the syscall table's
        // switch) and __x64_sys_restart_syscall (a tail call, usually not on the stack) still
        // belong to it.
        if (name == "do_syscall_64")
            return frames ? ContinuedCall::Unknown : ContinuedCall::Nanosleep;
        if (name != "x64_sys_call" && name != "__x64_sys_restart_syscall")
            frames = true;
    }
    return ContinuedCall::Unknown; // no syscall entry seen: not a stack of a thread in a syscall
}

std::optional<uint64_t> continued_syscall(ContinuedCall call, sys::Registers const& regs)
{
    constexpr uint64_t kNotAnAddress = 4096; // below mmap_min_addr: a clock id, never a pointer
    // Relative only: an absolute clock_nanosleep returns -ERESTARTNOHAND, never restarted.
    auto relative_clock_sleep = [&] { return (regs.rsi & kTimerAbstime) == 0 && regs.rdx != 0; };
    switch (call) {
    case ContinuedCall::Unknown:
        return std::nullopt;
    case ContinuedCall::Nanosleep:
        if (regs.rdi < kNotAnAddress)
            return relative_clock_sleep() ? std::optional<uint64_t> { SYS_clock_nanosleep } : std::nullopt;
        // nanosleep(req, rem): rem is NULL or an address.
        if (regs.rsi != 0 && regs.rsi < kNotAnAddress)
            return std::nullopt;
        return SYS_nanosleep;
    case ContinuedCall::ClockNanosleep:
        return relative_clock_sleep() ? std::optional<uint64_t> { SYS_clock_nanosleep } : std::nullopt;
    case ContinuedCall::FutexWait: {
        uint64_t cmd = regs.rsi & kFutexCmdMask;
        if ((cmd != kFutexWait && cmd != kFutexWaitBitset) || regs.r10 == 0)
            return std::nullopt; // only a wait with a timeout has a restart block
        return SYS_futex;
    }
    case ContinuedCall::Poll:
        return SYS_poll;
    }
    return std::nullopt;
}

ContinuedCall read_continued_call(pid_t pid, pid_t tid)
{
    auto in_restart_syscall = [&] {
        auto call = sys::task_syscall(pid, tid);
        return call && *call && (*call)->nr == SYS_restart_syscall;
    };
    if (!in_restart_syscall())
        return ContinuedCall::Unknown;
    auto stack = sys::read_file(fmt::format("/proc/{}/task/{}/stack", pid, tid));
    // Blocked in restart_syscall before and after the stack was read (the syscall file waits
    // for the task to be off the CPU, else says "running").
    if (!stack || !in_restart_syscall())
        return ContinuedCall::Unknown;
    return parse_restart_stack(*stack);
}

bool needs_continued_probe(sys::Registers const& regs, ContinuedCall continued)
{
    return continued == ContinuedCall::Unknown && regs.orig_rax == SYS_restart_syscall
        && static_cast<long>(regs.rax) == -kErestartRestartBlock && regs.cs == kUserCs64;
}

ContinuedProbe probe_continued_call(pid_t pid, pid_t tid)
{
    ContinuedProbe probe;
    auto const before = sys::ptrace_get_regs(tid);
    auto const mask = sys::ptrace_get_sigmask(tid);
    // The kernel keeps SIGKILL and SIGSTOP unblockable whatever the mask says.
    if (!before || !mask || !sys::ptrace_set_sigmask(tid, ~uint64_t { 0 }))
        return probe;
    // Runs the thread on (PTRACE_SYSCALL when `syscall`, else PTRACE_CONT) until a stop of kind
    // `wanted`: true. A stop signal in delivery (the only kind not blocked) is delivered. A
    // group-stop while the process is stopped re-traps once after each resume (seen on 6.18:
    // seized in a group-stop, the first PTRACE_SYSCALL reports the group-stop again): resumed
    // again, at most 3 times; it ends the wait for EventStop (a stop inside get_signal either
    // way). false when the thread exited (probe.alive false) or ptrace failed (held anyway).
    auto run_to = [&](sys::StopKind wanted, bool syscall) {
        auto resume
            = [&](int signal) { return syscall ? sys::ptrace_syscall(tid, signal) : sys::ptrace_cont(tid, signal); };
        int group_stops = 0;
        if (!resume(0))
            return false;
        for (;;) {
            auto status = sys::wait_traced(tid);
            auto kind = status ? sys::classify_stop(*status) : sys::StopKind::Exited;
            if (kind == sys::StopKind::Exited) {
                probe.alive = false;
                return false;
            }
            if (kind == wanted || (kind == sys::StopKind::GroupStop && wanted == sys::StopKind::EventStop))
                return true;
            if (kind == sys::StopKind::GroupStop && ++group_stops > 3)
                return false;
            int deliver = kind == sys::StopKind::SignalStop ? WSTOPSIG(*status) : 0;
            if (!resume(deliver))
                return false;
        }
    };
    // The syscall's exit stop once the interrupt ended the sleep (or the call ended by itself).
    auto wait_exit = [&] {
        for (;;) {
            auto status = sys::wait_traced(tid);
            auto kind = status ? sys::classify_stop(*status) : sys::StopKind::Exited;
            if (kind == sys::StopKind::Exited) {
                probe.alive = false;
                return false;
            }
            if (kind == sys::StopKind::SyscallStop)
                return true;
            // Nothing else stops a thread inside a syscall before its exit stop; resume anyway.
            if (!sys::ptrace_syscall(tid, kind == sys::StopKind::SignalStop ? WSTOPSIG(*status) : 0))
                return false;
        }
    };
    // From a syscall stop back to a stop inside get_signal, as the freeze left it: a syscall
    // stop consumes a pending PTRACE_INTERRUPT ("any trap clears pending STOP trap",
    // kernel/signal.c ptrace_stop), so interrupt again, then continue into that trap.
    auto hold_again = [&] { return sys::ptrace_interrupt(tid) && run_to(sys::StopKind::EventStop, false); };
    bool put_back = true; // give the thread `before` again (nothing ran)
    // Out of get_signal the kernel rewinds it onto restart_syscall (rax 219, rip on `syscall`).
    if (run_to(sys::StopKind::SyscallStop, true)) {
        auto entry = sys::ptrace_get_regs(tid);
        if (entry && entry->orig_rax == SYS_restart_syscall && sys::ptrace_syscall(tid, 0)) {
            for (int i = 0; i < 50 && probe.call == ContinuedCall::Unknown; ++i) {
                ::usleep(1000);
                probe.call = read_continued_call(pid, tid);
                if (probe.call == ContinuedCall::Unknown && sys::read_task_state(pid, tid).value_or(0) == 't')
                    break; // at the exit stop already: the call ended (time up, woken)
            }
            // At the syscall's exit: -ERESTART_RESTARTBLOCK again (the restart function re-armed
            // the restart block), or the call's result if it ended: kept.
            if (sys::ptrace_interrupt(tid) && wait_exit()) {
                put_back = false;
                hold_again();
            }
        } else if (entry) {
            // Not restart_syscall after all (never seen): skip the call, put everything back.
            auto skip = *entry;
            skip.orig_rax = static_cast<unsigned long long>(-1L);
            if (sys::ptrace_set_regs(tid, skip))
                hold_again();
        }
    }
    if (!probe.alive) {
        probe.call = ContinuedCall::Unknown;
        return probe;
    }
    // SAFETY: the thread is held in a ptrace stop inside get_signal (or a group-stop): its own
    // registers from before the probe, and its own mask.
    if (put_back)
        (void)sys::ptrace_set_regs(tid, *before);
    (void)sys::ptrace_set_sigmask(tid, *mask);
    return probe;
}

char const* continued_call_name(ContinuedCall call)
{
    switch (call) {
    case ContinuedCall::Unknown:
        return "unknown";
    case ContinuedCall::Nanosleep:
        return "nanosleep";
    case ContinuedCall::ClockNanosleep:
        return "clock_nanosleep";
    case ContinuedCall::FutexWait:
        return "futex wait";
    case ContinuedCall::Poll:
        return "poll";
    }
    return "?";
}

RestartPlan plan_restart_block(sys::Registers const& frozen, ContinuedCall continued)
{
    RestartPlan plan;
    if (static_cast<long>(frozen.orig_rax) < 0 || static_cast<long>(frozen.rax) != -kErestartRestartBlock)
        return plan;
    if (frozen.orig_rax == SYS_restart_syscall) {
        // (4): the call it continues, with the same registers (the kernel left the arguments
        // and rip as they were at that call's stop; only the number went).
        if (auto nr = continued_syscall(continued, frozen)) {
            auto as_original = frozen;
            as_original.orig_rax = *nr;
            plan = plan_restart_block(as_original);
            plan.continued = true;
            return plan;
        }
        // Which call it continues is only in the kernel's restart block: a new task, which has
        // none, can only be told EINTR.
        plan.action = RestartAction::Eintr;
        plan.regs = returning(frozen, -EINTR);
        return plan;
    }
    uint64_t nr = frozen.orig_rax;
    // request, rem: the sleep's argument registers.
    auto sleep = [&](unsigned long long sys::Registers::*request, unsigned long long sys::Registers::*rem) {
        plan.regs = same_call_registers(frozen);
        if (frozen.*rem == 0) {
            plan.action = RestartAction::Reenter;
            return;
        }
        plan.action = RestartAction::SleepRemaining;
        plan.keeps_time = true;
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
            plan.keeps_time = true; // an absolute deadline
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
            plan.keeps_time = true; // FUTEX_WAIT_BITSET's timeout is absolute
            plan.regs = same_call_registers(frozen);
            return plan;
        }
        break;
    }
    case SYS_poll:
        plan.action = RestartAction::Reenter;
        plan.keeps_time = static_cast<int>(frozen.rdx) < 0; // no timeout: nothing to keep
        plan.regs = same_call_registers(frozen);
        return plan;
    default:
        break;
    }
    plan.action = RestartAction::Eintr;
    plan.regs = returning(frozen, -EINTR);
    return plan;
}

// Syscalls that return a plain -EINTR, never restarted, when a freeze, a ptrace interrupt or a
// stop wakes them (signal(7), "Interruption of system calls and library functions by stop
// signals"), and that may be entered again because they did nothing when they return -EINTR.
// Checked against the kernel (6.x):
//
// | syscall                      | why -EINTR, and why entering it again is safe                 |
// |------------------------------|---------------------------------------------------------------|
// | epoll_wait, epoll_pwait,     | fs/eventpoll.c ep_poll: signal_pending() -> -EINTR before any |
// |   epoll_pwait2               |   event is copied; the timeout (relative) starts again. The   |
// |                              |   pwait mask: the kernel restores the saved mask on the way   |
// |                              |   out of the stop and sets it again on re-entry               |
// | rt_sigtimedwait              | kernel/signal.c do_sigtimedwait: woken without a signal of    |
// |                              |   its set -> -EINTR, blocked mask restored, nothing dequeued  |
// | semop, semtimedop            | ipc/sem.c do_semtimedop: -EINTR after dequeuing itself; the   |
// |                              |   operations are all-or-nothing, none was applied             |
// | io_getevents                 | fs/aio.c: -EINTR only when no event was read                  |
// | accept, accept4, recvfrom,   | net/core/sock.c sock_intr_errno: -EINTR (not -ERESTARTSYS)    |
// |   recvmsg, recvmmsg, sendto, |   once the socket has SO_RCVTIMEO/SO_SNDTIMEO; returned only  |
// |   sendmsg, sendmmsg          |   when nothing was transferred (else the count is returned);  |
// |                              |   recvmmsg's timeout argument holds the time left             |
// Not here, on purpose:
// - connect with SO_SNDTIMEO: the connection attempt goes on after -EINTR, a second connect
//   fails with EALREADY; the EINTR stays (the program must handle it for real signals anyway).
// - io_uring_enter: it may have submitted entries before waiting; entering it again submits
//   again (the engine refuses io_uring, but a failed dump lets the process run on).
// - read, write and the like: the same -EINTR on a socket with a timeout, but drivers differ.
// - io_pgetevents, ppoll, pselect6, msgrcv, pause, sigsuspend, futex without timeout, wait4:
//   -ERESTART* codes, handled by apply_syscall_restart and plan_restart_block.
bool eintr_reentry_safe(uint64_t syscall_nr)
{
    switch (syscall_nr) {
    case SYS_epoll_wait:
    case SYS_epoll_pwait:
    case kSysEpollPwait2:
    case SYS_rt_sigtimedwait:
    case SYS_semop:
    case SYS_semtimedop:
    case SYS_io_getevents:
        return true;
    default:
        return socket_call(syscall_nr); // accept, recv*, send*
    }
}

uint64_t deliverable_signals(SignalView const& signals)
{
    auto bit = [](int sig) { return uint64_t { 1 } << (sig - 1); };
    uint64_t default_ignore = bit(SIGCHLD) | bit(SIGCONT) | bit(SIGURG) | bit(SIGWINCH);
    uint64_t pending = signals.thread_pending | signals.shared_pending;
    return pending & ~signals.blocked & ~signals.ignored & ~(default_ignore & ~signals.caught);
}

FreezePlan plan_freeze_rewind(FreezeStop const& stop)
{
    FreezePlan plan;
    auto const& frozen = stop.regs;
    // cs 0x33: a 64-bit task (__USER_CS); a 32-bit one's numbers are another table.
    if (static_cast<long>(frozen.orig_rax) < 0 || frozen.cs != kUserCs64 || !stop.interrupt_stop || stop.signal_taken
        || deliverable_signals(stop.signals) != 0)
        return plan;
    if (static_cast<long>(frozen.rax) == -EINTR && eintr_reentry_safe(frozen.orig_rax)) {
        plan.action = FreezeRewind::ReenterAfterEintr;
        plan.regs = restartable(same_call_registers(frozen));
        return plan;
    }
    auto restart = plan_restart_block(frozen, stop.continued);
    if (!restart.keeps_time)
        return plan; // the live thread keeps the kernel's exact restart; the image gets its plan
    plan.action = FreezeRewind::RestartBlock;
    plan.regs = restartable(restart.regs); // a re-entry (rax 0 would read as read(2)'s number)
    plan.restart = restart;
    return plan;
}

sys::Registers restartable(sys::Registers regs)
{
    if (static_cast<long>(regs.orig_rax) >= 0 || static_cast<long>(regs.rax) < 0)
        return regs; // not the rewound form: a return value, or already at a syscall's exit
    regs.orig_rax = regs.rax;
    regs.rax = static_cast<unsigned long long>(socket_call(regs.orig_rax) ? -kErestartSys : -kErestartNoHand);
    regs.rip += 2; // after the `syscall` instruction, where the kernel's rewind expects it
    return regs;
}

char const* freeze_rewind_name(FreezeRewind action)
{
    switch (action) {
    case FreezeRewind::None:
        return "none";
    case FreezeRewind::ReenterAfterEintr:
        return "re-enter after the freeze's EINTR";
    case FreezeRewind::RestartBlock:
        return "the restored thread's plan instead of restart_syscall";
    }
    return "?";
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

bool kick_visible(sys::Registers const& rewound)
{
    switch (rewound.rax) {
    case SYS_nanosleep:
    case SYS_clock_nanosleep:
    case SYS_poll:
        return true;
    case SYS_futex: {
        // Only a wait with a timeout returns -ERESTART_RESTARTBLOCK; without one, -ERESTARTSYS.
        uint64_t cmd = rewound.rsi & kFutexCmdMask;
        return (cmd == kFutexWait || cmd == kFutexWaitBitset) && rewound.r10 != 0;
    }
    default:
        return eintr_reentry_safe(rewound.rax);
    }
}

Result<SignalView> read_thread_signals(pid_t pid, pid_t tid)
{
    auto text = TRY(sys::read_file(fmt::format("/proc/{}/task/{}/status", pid, tid)));
    auto status = TRY(sys::parse_status(text));
    return SignalView { .thread_pending = status.sig_pending,
                        .shared_pending = status.shared_pending,
                        .blocked = status.sig_blocked,
                        .ignored = status.sig_ignored,
                        .caught = status.sig_caught };
}

Result<void> enter_interrupted_syscall(sys::Tracee& t, sys::Registers regs, std::vector<uint8_t> const& xstate)
{
    if (!at_syscall_instruction(t.tgid(), regs.rip)) {
        t.set_final_state(regs, xstate);
        return {};
    }
    // Let go from the syscall-entry stop, the thread would meet the detach's kick (see
    // kick_visible) inside the syscall. Let go as if the syscall had just returned
    // -ERESTARTNOHAND instead: the kick (TIF_SIGPENDING) takes it through the kernel's signal
    // code on its way out, which re-enters the syscall, or, if a signal with a handler is there
    // by then, runs the handler and returns EINTR (arch_do_signal_or_restart).
    if (kick_visible(regs)) {
        t.set_final_state(restartable(regs), xstate);
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
    if (auto signal = test_hooks().signal_at_release)
        ::kill(pid, *signal);
}

} // namespace cryo::checkpoint
