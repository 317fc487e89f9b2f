// Tracee owns one ptrace-stopped thread. It runs single syscalls inside it ("remote syscall")
// and, on every path (success, error, drop), puts back the registers it found (with the
// syscall-restart rule applied) or the registers it was told to leave, then detaches.
// Signals that arrive while it holds the thread are re-queued on detach, never lost.
// Waits for the thread's stops sleep on SIGCHLD, blocked in the calling thread only during a
// wait (its mask is restored after; see ChildSignal in tracee.cpp), and notice a death the
// kernel cannot report (a killed multi-threaded process) by looking at /proc.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <sys/types.h>
#include <vector>

#include "base/error.h"
#include "sys/ptrace_calls.h"

namespace cryo::sys {

class Tracee {
public:
    struct Options {
        // Kill the thread if cryo dies while holding it (restore); never on dumps.
        bool exit_kill { false };
        // Report clone events (remote clone3 of threads during restore).
        bool trace_clone { false };
        // Report fork events (remote fork of child processes during restore).
        bool trace_fork { false };
    };

    // PTRACE_SEIZE + PTRACE_INTERRUPT, then waits for the stop and saves the registers.
    static Result<Tracee> seize(pid_t tgid, pid_t tid, Options options);
    // Adopts a thread that is already seized and stopped by us (a thread born from a traced
    // remote clone).
    static Result<Tracee> adopt(pid_t tgid, pid_t tid);

    Tracee(Tracee&& other) noexcept;
    Tracee& operator=(Tracee&&) = delete;
    Tracee(Tracee const&) = delete;
    ~Tracee();

    pid_t tid() const { return m_tid; }
    pid_t tgid() const { return m_tgid; }
    // The thread died while we held it (a remote syscall or wait found it gone).
    bool dead() const { return m_dead; }
    // Signals taken off the thread while we hold it (re-sent on detach).
    bool has_deferred_signals() const { return !m_deferred_signals.empty(); }
    std::vector<siginfo_t> const& deferred_signals() const { return m_deferred_signals; }
    Registers const& original_regs() const { return m_original; }

    // Address of a `syscall` instruction (0f 05) mapped executable in the tracee.
    void set_syscall_address(uint64_t address) { m_syscall_address = address; }
    uint64_t syscall_address() const { return m_syscall_address; }
    // Runs one syscall in the tracee and returns its raw result (-errno on failure).
    Result<long> syscall(long number, std::array<uint64_t, 6> args = {});
    // Same, but a negative result becomes an Error naming `what`.
    Result<uint64_t> syscall_checked(char const* what, long number, std::array<uint64_t, 6> args = {});
    // The new task's id after a remote clone/fork with trace_clone/trace_fork set (0 if none).
    pid_t last_clone_tid() const { return m_last_clone_tid; }

    // Registers (and xstate) to leave in the thread on detach instead of the original ones.
    void set_final_state(Registers regs, std::vector<uint8_t> xstate);
    // Puts the original registers back now (restart rule applied) while staying attached, so
    // that if cryo dies before detaching, the kernel lets the thread go exactly where it was.
    // A later remote syscall starts from the originals again. No-op if nothing was changed.
    Result<void> put_back_registers();
    // Restores registers and detaches; idempotent. Errors are reported, the thread is
    // detached in any case.
    Result<void> detach();
    // The thread is gone (killed): forget it without touching it.
    void forget() { m_attached = false; }

private:
    Tracee(pid_t tgid, pid_t tid)
        : m_tgid(tgid)
        , m_tid(tid)
    {
    }
    Result<void> wait_syscall_stop();
    // waitpid for this thread that also notices its death when the kernel cannot report it.
    Result<int> wait_stop();
    // The thread died (status from waitpid, or -1 if unknown): forgets it, returns the error.
    Error died(int status);
    // A ptrace request failed: ESRCH because the thread was killed becomes died(), else as is.
    Error ptrace_failed(Error error);

    pid_t m_tgid { 0 };
    pid_t m_tid { 0 };
    bool m_attached { false };
    bool m_dirty { false };
    bool m_dead { false };
    Registers m_original {};
    uint64_t m_syscall_address { 0 };
    pid_t m_last_clone_tid { 0 };
    std::optional<Registers> m_final_regs;
    std::vector<uint8_t> m_final_xstate;
    std::vector<siginfo_t> m_deferred_signals;
};

} // namespace cryo::sys
