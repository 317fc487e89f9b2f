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
// Invariant: the registers planned for the image have orig_rax -1 and never return an
// -ERESTART* code to user space.
#pragma once

#include "base/error.h"
#include "sys/tracee.h"
#include <cstdint>
#include <vector>

namespace cryo::checkpoint {

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
    sys::Registers regs {}; // the registers to save in the image (orig_rax -1)
    uint64_t rem_address { 0 }; // SleepRemaining: where the kernel wrote the time left
};

// Pure. frozen: the registers of a thread as it stopped (orig_rax the syscall, rax its
// result). action None when rax is not -ERESTART_RESTARTBLOCK. For SleepRemaining the caller
// checks that *rem_address holds a valid time (the kernel wrote it there when the sleep was
// interrupted) and otherwise falls back to same_call_registers (the whole request again).
RestartPlan plan_restart_block(sys::Registers const& frozen);
// The interrupted syscall again with the same arguments: rax its number, rip on the
// `syscall` instruction, orig_rax -1.
sys::Registers same_call_registers(sys::Registers frozen);
char const* restart_action_name(RestartAction action);

// regs: the thread's final registers (orig_rax -1). If they sit on a `syscall` instruction
// (0f 05), runs the thread to that syscall's entry stop and makes the entry-stop registers
// its final state (with xstate); otherwise only sets the final state. A signal reported on
// the way is delivered, as it would have been had it arrived before the syscall. A thread
// that dies on the way is forgotten.
Result<void> enter_interrupted_syscall(sys::Tracee& t, sys::Registers regs, std::vector<uint8_t> const& xstate);

// Test hook (CRYO_TEST_SIGNAL_AT_RELEASE=<signo>): sends that signal to the process just
// before restore releases its threads, so tests/cr/cr_restart.sh hits the race every time.
void test_signal_at_release(pid_t pid);

} // namespace cryo::checkpoint
