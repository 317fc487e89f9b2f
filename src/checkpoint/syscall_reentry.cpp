#include "checkpoint/syscall_reentry.h"
#include <csignal>
#include <cstdlib>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include "sys/ptrace_calls.h"
#include "sys/remote_memory.h"

namespace cryo::checkpoint {

namespace {

bool at_syscall_instruction(pid_t pid, uint64_t rip)
{
    uint8_t code[2] {};
    sys::RemoteCopy copy { code, rip, sizeof code };
    // Unreadable code (execute-only): leave the thread as it is, the old behaviour.
    if (!sys::process_vm_read(pid, { &copy, 1 }))
        return false;
    return code[0] == 0x0f && code[1] == 0x05;
}

} // namespace

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
