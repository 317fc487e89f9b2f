// Syscalls a thread was dumped in, and how restore lets it go back into them.
// (1) A syscall that returned -ERESTARTSYS/-ERESTARTNOINTR/-ERESTARTNOHAND is saved rewound
//     (collect.cpp); restore runs the thread to that syscall's entry before release. Released
//     at the bare `syscall` instruction instead, a signal arriving before the thread gets the
//     CPU would run its handler first and then re-enter the syscall (pause() blocking again)
//     where the kernel would have ended it with EINTR; at syscall-entry the kernel's own
//     restart/EINTR rules apply.
// (2) A syscall that returned -ERESTART_RESTARTBLOCK (sleeps, timed futex waits, poll) would
//     be continued by the kernel through restart_syscall and the task's restart block, which
//     a new task does not have: plan_restart_block decides per syscall what the restored
//     thread does instead (the table is in syscall_reentry.cpp). A relative sleep with a rem
//     pointer is entered again with rem as its request, so it sleeps the time it had left.
// (3) The freeze itself (PTRACE_INTERRUPT) ends the syscalls the kernel never restarts
//     (epoll_wait, rt_sigtimedwait, semop...; the table is in syscall_reentry.cpp) with a plain
//     -EINTR that no signal caused. plan_freeze_rewind, applied by freeze.cpp the moment a thread
//     is seized, turns such a thread back onto the same syscall; and a -ERESTART_RESTARTBLOCK
//     thread gets (2)'s plan at once, so a thread left running is in the real syscall again,
//     not in restart_syscall (where a later dump must find out what it continues, (4)); but
//     only when that plan keeps the call's time (RestartPlan::keeps_time). A call whose time
//     left only the kernel knows (nanosleep without rem, poll with a timeout, a relative
//     FUTEX_WAIT) stays in the kernel's exact restart in the live thread: waiting its whole
//     time again at every --leave-running dump could starve it under periodic dumps. A second
//     dump in the same call finds it in restart_syscall and plans it by (4).
//     The live thread and the image get the same registers otherwise: neither the original
//     (after --leave-running, after a failed dump, or after cryo died) nor the restored process
//     sees an EINTR the freeze made.
// (4) A stop that was not cryo's (SIGSTOP/SIGTSTP and SIGCONT, a debugger) ends such a sleep
//     too, and the kernel continues it in restart_syscall: found there, the thread shows
//     orig_rax 219 and the original call's argument registers (restart_syscall reads none), but
//     not the call's number. Before the freeze interrupts it, read_continued_call reads which
//     restart function it sleeps in (/proc/PID/task/TID/stack); continued_syscall checks the
//     argument registers against that call, and (2) and (3) then plan it as the original call.
//     A thread whose call was not read so (stopped again inside restart_syscall, where its
//     stack shows the stop; or SIGCONT came between the read and the interrupt) is let sleep
//     in restart_syscall once more under cryo's control to read it (probe_continued_call).
//     When the function is not one of the table's, or the registers do not fit it, the thread
//     gets EINTR at restore, as before (see the table in syscall_reentry.cpp).
// Invariant: the registers planned for the image have orig_rax -1 and never return an
// -ERESTART* code to user space; those planned for a live or restored thread that carry one
// (-ERESTARTNOHAND, see restartable) are only ever let go from a ptrace stop, through the
// kernel's signal code, which consumes it.
#pragma once

#include "base/error.h"
#include "sys/tracee.h"
#include <cstdint>
#include <ctime>
#include <optional>
#include <string_view>
#include <vector>

namespace cryo::checkpoint {

// The call a thread sleeping in restart_syscall continues, by the kernel's restart function
// (see (4)).
enum class ContinuedCall {
    Unknown, // not in restart_syscall, or a restart function not in the table
    Nanosleep, // hrtimer_nanosleep_restart: nanosleep, or clock_nanosleep (relative) on a hrtimer clock
    ClockNanosleep, // posix_cpu_nsleep_restart, alarm_timer_nsleep_restart: clock_nanosleep (relative)
    FutexWait, // futex_wait_restart: FUTEX_WAIT or FUTEX_WAIT_BITSET with a timeout
    Poll, // do_restart_poll: poll (with or without a timeout)
};

// Pure. stack: /proc/PID/task/TID/stack of a thread blocked in restart_syscall. The named
// restart function, or Nanosleep when no frame sits above the syscall entry (do_syscall_64):
// hrtimer_nanosleep_restart and do_nanosleep are scheduler code (__sched), which the kernel's
// stack walk leaves out (seen on 6.18: only do_syscall_64 and the entry); any other frames
// give Unknown.
ContinuedCall parse_restart_stack(std::string_view stack);
// Pure. The number of the syscall a thread in restart_syscall continues, given what it
// continues and its argument registers; nullopt when the registers cannot be that call's
// (e.g. a nanosleep whose request is not a pointer, a futex op that never sleeps with a
// timeout). nanosleep and clock_nanosleep share a restart function: a clock id (< 4096,
// never a user address) in rdi and a relative flag in rsi make it clock_nanosleep.
std::optional<uint64_t> continued_syscall(ContinuedCall call, sys::Registers const& regs);
// What thread tid sleeps on when /proc/PID/task/TID/syscall says restart_syscall: read before
// the freeze interrupts it (once interrupted, the stack shows only the stop). Unknown for
// every other thread, and when the thread did not stay blocked in restart_syscall across
// the read of its stack (a running thread's stack cannot be trusted).
ContinuedCall read_continued_call(pid_t pid, pid_t tid);
char const* continued_call_name(ContinuedCall call);
// Pure. A thread held in restart_syscall's -ERESTART_RESTARTBLOCK (64-bit) whose call was not
// read before the freeze: probe_continued_call can still find it.
bool needs_continued_probe(sys::Registers const& regs, ContinuedCall continued);

struct ContinuedProbe {
    ContinuedCall call { ContinuedCall::Unknown };
    bool alive { true }; // false: the thread exited during the probe (no longer traced)
};
// For a thread cryo holds (interrupt or group-stop) in restart_syscall whose call was not read
// before the freeze: it was stopped again inside restart_syscall (SIGSTOP, SIGCONT, SIGSTOP:
// its stack showed the stop), or SIGCONT came between the read and the freeze. Lets it go back
// into restart_syscall under PTRACE_SYSCALL with every blockable signal blocked (a signal that
// comes meanwhile stays pending, as it would in the frozen thread), reads the restart function
// while it sleeps there (read_continued_call, up to ~50 ms), and interrupts it again. Between
// the stops it runs no user code but the `syscall` instruction it sits on: the restart function
// only sleeps on, or ends the call as the kernel would have (time up, futex woken, poll event).
// It ends in an interrupt stop (or a group-stop, if SIGSTOP came meanwhile: re-sent), its
// signal mask as it was, with the call's -ERESTART_RESTARTBLOCK again or its result: the
// caller re-reads its registers (Tracee::adopt). What the program can see of it: a nanosleep's
// *rem holds the time left at the probe's interrupt, not at the stop (the kernel rewrites it at
// every interruption; seen with a SIGUSR1 handler ending the call after SIGCONT).
// Not tested in unit tests (it needs a real thread): tests/cr/cr_sleep_stopped.sh 'twice*'.
ContinuedProbe probe_continued_call(pid_t pid, pid_t tid);

// What a thread stopped right after its syscall returned -ERESTART_RESTARTBLOCK gets after
// restore (see the table in syscall_reentry.cpp).
enum class RestartAction {
    None, // it was not in such a syscall: nothing to plan
    Reenter, // the same syscall again, same arguments
    SleepRemaining, // the same sleep again with *rem (the time left) as its request
    SpuriousWakeup, // returns 0 (a futex wait woken early, which its callers must expect)
    Eintr, // returns -EINTR (all a new task can do without knowing the syscall)
};

struct RestartPlan {
    RestartAction action { RestartAction::None };
    // The thread was in restart_syscall, planned as the call it continues (see (4)).
    bool continued { false };
    // The plan ends the call when the kernel's own restart would (an absolute deadline: the
    // same call again) or at most the frozen time later (a relative sleep entered again with
    // the time left in *rem). Only such plans are given to a live thread (plan_freeze_rewind).
    bool keeps_time { false };
    sys::Registers regs {}; // the registers to save in the image (orig_rax -1)
    uint64_t rem_address { 0 }; // SleepRemaining: where the kernel wrote the time left
};

// Pure. frozen: the registers of a thread as it stopped (orig_rax the syscall, rax its
// result). action None when rax is not -ERESTART_RESTARTBLOCK. For SleepRemaining the caller
// checks that *rem_address holds a valid time (the kernel wrote it there when the sleep was
// interrupted) and otherwise falls back to same_call_registers (the whole request again).
// continued: for a thread in restart_syscall (orig_rax 219), the call it continues (see (4)):
// planned as that call; Unknown gives it Eintr.
RestartPlan plan_restart_block(sys::Registers const& frozen, ContinuedCall continued = ContinuedCall::Unknown);
// The interrupted syscall again with the same arguments: rax its number, rip on the
// `syscall` instruction, orig_rax -1.
sys::Registers same_call_registers(sys::Registers frozen);
// The time left that the kernel wrote to *address (a relative sleep's rem) when the sleep was
// interrupted, read from process `pid`; nullopt when unreadable or not a valid timespec. Both
// the image's plan (task_state.cpp) and the freeze's (freeze.cpp) take SleepRemaining only
// with one.
std::optional<struct timespec> read_time_left(int pid, uint64_t address);
char const* restart_action_name(RestartAction action);

// A thread's signal state as /proc/PID/task/TID/status shows it (bit n-1 for signal n).
struct SignalView {
    uint64_t thread_pending { 0 }; // SigPnd
    uint64_t shared_pending { 0 }; // ShdPnd
    uint64_t blocked { 0 }; // SigBlk
    uint64_t ignored { 0 }; // SigIgn
    uint64_t caught { 0 }; // SigCgt
};

// Pure. The pending signals the kernel would act on when the thread next returns to user space:
// not blocked, and neither ignored (SIG_IGN) nor a default-ignore signal (SIGCHLD, SIGCONT,
// SIGURG, SIGWINCH) without a handler. A stop signal counts (the kernel ends an epoll_wait with
// EINTR after a stop too). While cryo holds the tree, the kernel queues even ignored signals
// (it keeps them for the tracer), hence the filter.
uint64_t deliverable_signals(SignalView const& signals);

// Pure. The syscalls the kernel ends with a plain -EINTR, never restarted, when anything but a
// real signal (a freeze, a ptrace interrupt, a stop) wakes them, and that are safe to enter
// again because nothing was done when they return -EINTR (the table is in syscall_reentry.cpp).
bool eintr_reentry_safe(uint64_t syscall_nr);

// What the freeze does to a thread's registers (freeze.cpp, at seize; see (3) above).
enum class FreezeRewind {
    None, // as the freeze found it
    ReenterAfterEintr, // the same syscall again with the same arguments (a timeout starts again in full)
    RestartBlock, // a -ERESTART_RESTARTBLOCK syscall: plan_restart_block's registers (not its Eintr)
};

struct FreezeStop {
    sys::Registers regs {}; // as the thread stopped
    SignalView signals {};
    // The stop is PTRACE_EVENT_STOP from cryo's PTRACE_INTERRUPT (not a group-stop, where the
    // EINTR is the kernel's own answer to the stop signal).
    bool interrupt_stop { false };
    // Seizing took a signal in delivery off the thread (re-sent when it is let go): that
    // signal, not the freeze, ended its syscall.
    bool signal_taken { false };
    // Read before the interrupt: the call a thread found in restart_syscall continues (see (4)).
    ContinuedCall continued { ContinuedCall::Unknown };
};

struct FreezePlan {
    FreezeRewind action { FreezeRewind::None };
    // The live thread's registers at its interrupt stop from now on, in the form of a syscall
    // that returned -ERESTARTNOHAND (see restartable); apply_syscall_restart of them is the
    // image's rewound form. A FUTEX_WAIT's spurious wakeup simply returns 0.
    sys::Registers regs {};
    RestartPlan restart {}; // RestartBlock: the plan it comes from
};

// Pure. ReenterAfterEintr: a 64-bit task (cs), orig_rax in the eintr_reentry_safe table, rax
// -EINTR, an interrupt stop, and no signal taken or deliverable (with one, EINTR is the kernel's own
// answer and the handler runs). RestartBlock: the same conditions and plan_restart_block has a
// plan that keeps the call's time (see (3)); the caller checks *rem for SleepRemaining and
// leaves the thread as it is when *rem is not a valid time. The live thread then behaves as
// the restored one: a sleep with rem sleeps what was left (the frozen time later), absolute
// deadlines stay.
FreezePlan plan_freeze_rewind(FreezeStop const& stop);

// Pure. rewound: registers on a `syscall` instruction with rax its number and orig_rax -1 (the
// rewound form). Returns them as a syscall that just returned -ERESTARTNOHAND: rip after the
// instruction, orig_rax the number. A thread let go in this form goes through the kernel's
// signal code before user space (from the interrupt stop, inside get_signal, in any case; from
// any other ptrace stop, because the detach kicks it: kick_visible): it re-enters the syscall,
// or, if a signal with a handler is delivered first, runs the handler and returns EINTR
// (arch/x86/kernel/signal.c arch_do_signal_or_restart, handle_signal), which is what these
// syscalls do when a signal interrupts them. Socket calls get -ERESTARTSYS instead (restarted
// after an SA_RESTART handler too): what they return when they have no timeout, and the image
// cannot tell whether they had one. Anything else is returned unchanged.
sys::Registers restartable(sys::Registers rewound);
char const* freeze_rewind_name(FreezeRewind action);

// Pure. A PTRACE_DETACH from a stop always kicks the thread once (the kernel's
// __ptrace_unlink sets TIF_SIGPENDING on it): let go at a syscall-entry stop, the syscall runs
// with a "signal" pending. Harmless for the -ERESTARTSYS family (restarted unseen); visible for
// the syscall in `rewound` (rewound form): the eintr_reentry_safe ones return EINTR (socket
// calls when they have a timeout), and the -ERESTART_RESTARTBLOCK ones (nanosleep,
// clock_nanosleep, poll, futex waits with a timeout) go on in restart_syscall, which a later
// dump follows only by reading the kernel's stack (4).
bool kick_visible(sys::Registers const& rewound);

// The 2 bytes at rip in process pid are a 64-bit `syscall` instruction (0f 05); false if not,
// or unreadable (execute-only). An int 0x80 (cd 80) of a 64-bit task is a 32-bit syscall,
// whose numbers the tables here do not know.
bool at_syscall_instruction(pid_t pid, uint64_t rip);

// The thread's signal state from /proc/PID/task/TID/status.
Result<SignalView> read_thread_signals(pid_t pid, pid_t tid);

// regs: the thread's final registers (orig_rax -1). If they sit on a `syscall` instruction
// (0f 05), runs the thread to that syscall's entry stop and makes the entry-stop registers
// its final state (with xstate); otherwise only sets the final state. A signal reported on
// the way is delivered, as it would have been had it arrived before the syscall. A thread
// that dies on the way is forgotten. A kick_visible syscall is let go in the restartable form
// instead (no stepping): re-entered by the kernel, or EINTR if a handler runs first. (A thread
// that was stopped in user space right on a `syscall` instruction looks the same in the image:
// if a handler runs before it goes, its syscall returns EINTR unentered; it is one of these
// syscalls and a signal came in the moment of its restore.)
Result<void> enter_interrupted_syscall(sys::Tracee& t, sys::Registers regs, std::vector<uint8_t> const& xstate);

// Test hook (CRYO_TEST_SIGNAL_AT_RELEASE=<signo>): sends that signal to the process just
// before restore releases its threads, so tests/cr/cr_restart.sh hits the race every time.
void test_signal_at_release(pid_t pid);

} // namespace cryo::checkpoint
