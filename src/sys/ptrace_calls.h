// Thin ptrace(2) wrappers for x86_64: seize/interrupt, register sets (NT_PRSTATUS and the full
// NT_X86_XSTATE area), syscall stepping, signal mask and queued siginfo. Callers hold the
// tracee stopped; see Tracee (sys/tracee.h) for the RAII owner that always detaches.
#pragma once

#include <csignal>
#include <cstdint>
#include <span>
#include <sys/types.h>
#include <sys/user.h>
#include <vector>

#include "base/error.h"

namespace cryo::sys {

using Registers = struct user_regs_struct;

Result<void> ptrace_seize(pid_t tid, unsigned long options);
Result<void> ptrace_interrupt(pid_t tid);
Result<void> ptrace_set_options(pid_t tid, unsigned long options);
Result<void> ptrace_detach(pid_t tid, int signal = 0);
Result<void> ptrace_cont(pid_t tid, int signal = 0);
// Resumes to the next syscall entry or exit stop.
Result<void> ptrace_syscall(pid_t tid, int signal = 0);
Result<unsigned long> ptrace_event_msg(pid_t tid);
Result<siginfo_t> ptrace_siginfo(pid_t tid);

Result<Registers> ptrace_get_regs(pid_t tid);
Result<void> ptrace_set_regs(pid_t tid, Registers const& regs);
// The whole xsave area (x87, SSE, AVX, AVX-512, PKRU ... as the CPU has them).
Result<std::vector<uint8_t>> ptrace_get_xstate(pid_t tid);
Result<void> ptrace_set_xstate(pid_t tid, std::span<uint8_t const> xstate);

// Blocked signals as the kernel's 64-bit mask (bit n-1 for signal n).
Result<uint64_t> ptrace_get_sigmask(pid_t tid);
Result<void> ptrace_set_sigmask(pid_t tid, uint64_t mask);
// Queued siginfo of the thread (shared=false) or of the whole process (shared=true).
Result<std::vector<siginfo_t>> ptrace_peek_siginfo(pid_t tid, bool shared);

// The thread's rseq registration (PTRACE_GET_RSEQ_CONFIGURATION); address 0 if none.
struct RseqConfig {
    uint64_t address { 0 };
    uint32_t size { 0 };
    uint32_t signature { 0 };
};
Result<RseqConfig> ptrace_get_rseq(pid_t tid);

// waitpid(tid, __WALL) that retries EINTR; returns the raw status.
Result<int> wait_traced(pid_t tid);

// What a wait status of a traced task means.
enum class StopKind { Exited, SyscallStop, EventStop, GroupStop, SignalStop, Other };
StopKind classify_stop(int status);

} // namespace cryo::sys

namespace cryo::sys {

// Applies the kernel's syscall-restart rule to registers saved while the task sat in an
// interrupted syscall (see arch/x86/kernel/signal.c, arch_do_signal_or_restart): the
// -ERESTART* codes are never seen by user space, the syscall is re-run instead. Whoever
// resumes the task from these registers must also keep orig_rax = -1 so the kernel does
// not apply the rule a second time. restart_block_ok: the task keeps its kernel
// restart_block (same task, leave running); a new task gets -EINTR instead.
Registers apply_syscall_restart(Registers regs, bool restart_block_ok);

} // namespace cryo::sys
