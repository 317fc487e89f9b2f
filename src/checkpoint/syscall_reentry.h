// Puts a restored thread that was dumped inside a restartable syscall back INTO that syscall
// (stopped at its syscall-entry) before restore lets it go. Released at the bare `syscall`
// instruction instead, a signal arriving before the thread gets the CPU would run its handler
// first and then re-enter the syscall (pause() blocking again) where the kernel would have
// ended it with EINTR; at syscall-entry the kernel's own restart/EINTR rules apply.
#pragma once

#include <cstdint>
#include <vector>
#include "base/error.h"
#include "sys/tracee.h"

namespace cryo::checkpoint {

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
