#include "sys/ptrace_calls.h"

#include <elf.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>

namespace cryo::sys {

namespace {

// glibc's ptrace() is variadic and returns data for PEEK requests; we only use requests that
// return 0 / -1, so call it once here with explicit casts.
long raw_ptrace(int request, pid_t tid, unsigned long addr, unsigned long data)
{
    // SAFETY: every request passed here takes addr/data as integers or as pointers to
    // buffers the caller owns and sized for the request.
    return ::ptrace(static_cast<enum __ptrace_request>(request), tid, reinterpret_cast<void*>(addr),
                    reinterpret_cast<void*>(data));
}

Result<void> simple(int request, pid_t tid, unsigned long addr, unsigned long data, char const* name)
{
    if (raw_ptrace(request, tid, addr, data) < 0)
        return Error::from_errno(fmt::format("{} {}", name, tid));
    return {};
}

} // namespace

Result<void> ptrace_seize(pid_t tid, unsigned long options)
{
    return simple(PTRACE_SEIZE, tid, 0, options, "ptrace seize");
}

Result<void> ptrace_interrupt(pid_t tid)
{
    return simple(PTRACE_INTERRUPT, tid, 0, 0, "ptrace interrupt");
}

Result<void> ptrace_set_options(pid_t tid, unsigned long options)
{
    return simple(PTRACE_SETOPTIONS, tid, 0, options, "ptrace setoptions");
}

Result<void> ptrace_detach(pid_t tid, int signal)
{
    return simple(PTRACE_DETACH, tid, 0, static_cast<unsigned long>(signal), "ptrace detach");
}

Result<void> ptrace_cont(pid_t tid, int signal)
{
    return simple(PTRACE_CONT, tid, 0, static_cast<unsigned long>(signal), "ptrace cont");
}

Result<void> ptrace_syscall(pid_t tid, int signal)
{
    return simple(PTRACE_SYSCALL, tid, 0, static_cast<unsigned long>(signal), "ptrace syscall");
}

Result<unsigned long> ptrace_event_msg(pid_t tid)
{
    unsigned long msg = 0;
    TRY(simple(PTRACE_GETEVENTMSG, tid, 0, reinterpret_cast<unsigned long>(&msg), "ptrace geteventmsg"));
    return msg;
}

Result<siginfo_t> ptrace_siginfo(pid_t tid)
{
    siginfo_t info {};
    TRY(simple(PTRACE_GETSIGINFO, tid, 0, reinterpret_cast<unsigned long>(&info), "ptrace getsiginfo"));
    return info;
}

Result<Registers> ptrace_get_regs(pid_t tid)
{
    Registers regs {};
    iovec iov { &regs, sizeof regs };
    TRY(simple(PTRACE_GETREGSET, tid, NT_PRSTATUS, reinterpret_cast<unsigned long>(&iov), "ptrace getregset prstatus"));
    if (iov.iov_len != sizeof regs)
        return Error::format("ptrace getregset prstatus {}: unexpected size {}", tid, iov.iov_len);
    return regs;
}

Result<void> ptrace_set_regs(pid_t tid, Registers const& regs)
{
    Registers copy = regs;
    iovec iov { &copy, sizeof copy };
    return simple(PTRACE_SETREGSET, tid, NT_PRSTATUS, reinterpret_cast<unsigned long>(&iov),
                  "ptrace setregset prstatus");
}

Result<std::vector<uint8_t>> ptrace_get_xstate(pid_t tid)
{
    // The xsave area is at most a few KiB (AVX-512: ~2.7 KiB; AMX tiles would add 8 KiB);
    // the kernel shortens iov_len to the real size.
    std::vector<uint8_t> buffer(64 * 1024);
    iovec iov { buffer.data(), buffer.size() };
    TRY(simple(PTRACE_GETREGSET, tid, NT_X86_XSTATE, reinterpret_cast<unsigned long>(&iov), "ptrace getregset xstate"));
    buffer.resize(iov.iov_len);
    return buffer;
}

Result<void> ptrace_set_xstate(pid_t tid, std::span<uint8_t const> xstate)
{
    std::vector<uint8_t> copy(xstate.begin(), xstate.end());
    iovec iov { copy.data(), copy.size() };
    return simple(PTRACE_SETREGSET, tid, NT_X86_XSTATE, reinterpret_cast<unsigned long>(&iov),
                  "ptrace setregset xstate");
}

Result<uint64_t> ptrace_get_sigmask(pid_t tid)
{
    uint64_t mask = 0;
    TRY(simple(PTRACE_GETSIGMASK, tid, sizeof mask, reinterpret_cast<unsigned long>(&mask), "ptrace getsigmask"));
    return mask;
}

Result<void> ptrace_set_sigmask(pid_t tid, uint64_t mask)
{
    return simple(PTRACE_SETSIGMASK, tid, sizeof mask, reinterpret_cast<unsigned long>(&mask), "ptrace setsigmask");
}

Result<std::vector<siginfo_t>> ptrace_peek_siginfo(pid_t tid, bool shared)
{
    std::vector<siginfo_t> out;
    for (;;) {
        siginfo_t batch[32];
        __ptrace_peeksiginfo_args args {};
        args.off = out.size();
        args.flags = shared ? PTRACE_PEEKSIGINFO_SHARED : 0;
        args.nr = 32;
        long n = raw_ptrace(PTRACE_PEEKSIGINFO, tid, reinterpret_cast<unsigned long>(&args),
                            reinterpret_cast<unsigned long>(batch));
        if (n < 0)
            return Error::from_errno(fmt::format("ptrace peeksiginfo {}", tid));
        out.insert(out.end(), batch, batch + n);
        if (n < 32)
            return out;
    }
}

Result<RseqConfig> ptrace_get_rseq(pid_t tid)
{
    struct {
        uint64_t rseq_abi_pointer;
        uint32_t rseq_abi_size;
        uint32_t signature;
        uint32_t flags;
        uint32_t pad;
    } conf {};
    constexpr int kGetRseqConfiguration = 0x420f;
    long n = raw_ptrace(kGetRseqConfiguration, tid, sizeof conf, reinterpret_cast<unsigned long>(&conf));
    if (n < 0)
        return Error::from_errno(fmt::format("ptrace get rseq configuration {}", tid));
    return RseqConfig { conf.rseq_abi_pointer, conf.rseq_abi_size, conf.signature };
}

Result<int> wait_traced(pid_t tid)
{
    for (;;) {
        int status = 0;
        if (::waitpid(tid, &status, __WALL) >= 0)
            return status;
        if (errno != EINTR)
            return Error::from_errno(fmt::format("waitpid {}", tid));
    }
}

StopKind classify_stop(int status)
{
    if (WIFEXITED(status) || WIFSIGNALED(status))
        return StopKind::Exited;
    if (!WIFSTOPPED(status))
        return StopKind::Other;
    int event = status >> 16;
    if (WSTOPSIG(status) == (SIGTRAP | 0x80))
        return StopKind::SyscallStop;
    if (event == PTRACE_EVENT_STOP) {
        int sig = WSTOPSIG(status);
        // Under SEIZE, group-stops report as PTRACE_EVENT_STOP with the stopping signal.
        if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
            return StopKind::GroupStop;
        return StopKind::EventStop;
    }
    if (event != 0)
        return StopKind::EventStop;
    return StopKind::SignalStop;
}

} // namespace cryo::sys

namespace cryo::sys {

Registers apply_syscall_restart(Registers regs, bool restart_block_ok)
{
    constexpr long kErestartSys = 512, kErestartNoIntr = 513, kErestartNoHand = 514, kErestartRestartBlock = 516;
    if (static_cast<long>(regs.orig_rax) >= 0) {
        long rax = static_cast<long>(regs.rax);
        if (rax == -kErestartSys || rax == -kErestartNoIntr || rax == -kErestartNoHand) {
            regs.rax = regs.orig_rax;
            regs.rip -= 2; // back onto the 2-byte `syscall` instruction
        } else if (rax == -kErestartRestartBlock) {
            if (restart_block_ok) {
                regs.rax = 219; // __NR_restart_syscall
                regs.rip -= 2;
            } else {
                regs.rax = static_cast<unsigned long long>(-static_cast<long>(EINTR));
            }
        }
    }
    regs.orig_rax = static_cast<unsigned long long>(-1L);
    return regs;
}

} // namespace cryo::sys
