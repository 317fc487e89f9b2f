#include "checkpoint/check.h"

#include <csignal>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/prctl.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sys/file.h"
#include "sys/pagemap_scan.h"
#include "sys/process.h"
#include "sys/ptrace_calls.h"
#include "sys/raw.h"
#include "sys/remote_memory.h"
#include "sys/seccomp_ptrace.h"
#include "sys/tracee.h"

namespace cryo::checkpoint {

namespace {

Probe from(std::string name, Result<std::string> r, bool required = true)
{
    if (r)
        return { std::move(name), true, required, r.release_value() };
    return { std::move(name), false, required, r.error().message() };
}

// A child that only waits to be killed.
Result<sys::ChildProcess> park_child()
{
    pid_t pid = ::fork();
    if (pid < 0)
        return Error::from_errno("fork");
    if (pid == 0) {
        for (;;)
            ::pause();
    }
    auto pidfd = TRY(sys::pidfd_open(pid));
    return sys::ChildProcess(pid, std::move(pidfd));
}

Result<std::string> probe_ptrace()
{
    auto child = TRY(park_child());
    auto tracee = TRY(sys::Tracee::seize(child.pid(), child.pid(), {}));
    TRY(sys::ptrace_get_xstate(child.pid()));
    TRY(sys::ptrace_get_sigmask(child.pid()));
    auto rseq = sys::ptrace_get_rseq(child.pid());
    TRY(tracee.detach());
    return std::string(rseq ? "seize, interrupt, regsets, sigmask, rseq configuration"
                            : "seize, interrupt, regsets, sigmask (no rseq configuration)");
}

Result<std::string> probe_remote_syscall()
{
    auto child = TRY(park_child());
    auto tracee = TRY(sys::Tracee::seize(child.pid(), child.pid(), {}));
    // getpid inside the child must return the child's pid.
    auto maps = TRY(sys::read_file(fmt::format("/proc/{}/maps", child.pid())));
    uint64_t vdso = 0;
    for (size_t pos = 0; (pos = maps.find("[vdso]", pos)) != std::string::npos; ++pos) {
        size_t line = maps.rfind('\n', pos);
        line = line == std::string::npos ? 0 : line + 1;
        vdso = std::stoull(maps.substr(line, maps.find('-', line) - line), nullptr, 16);
        break;
    }
    if (!vdso)
        return Error::make("no vDSO");
    std::vector<uint8_t> bytes(8192);
    sys::RemoteCopy copy { bytes.data(), vdso, bytes.size() };
    TRY(sys::process_vm_read(child.pid(), { &copy, 1 }));
    for (size_t i = 0; i + 1 < bytes.size(); ++i)
        if (bytes[i] == 0x0f && bytes[i + 1] == 0x05) {
            tracee.set_syscall_address(vdso + i);
            break;
        }
    auto r = TRY(tracee.syscall_checked("getpid", SYS_getpid));
    TRY(tracee.detach());
    if (static_cast<pid_t>(r) != child.pid())
        return Error::format("getpid returned {}", r);
    return std::string("getpid through the vDSO's syscall instruction");
}

Result<std::string> probe_clone3_set_tid()
{
    // A pid that is free now; racing another fork is possible but harmless (EEXIST).
    int last = std::atoi(TRY(sys::read_file("/proc/sys/kernel/ns_last_pid")).c_str());
    int pid = last + 100;
    while (sys::exists(fmt::format("/proc/{}", pid)))
        ++pid;
    pid_t tids[1] = { pid };
    struct clone_args args { };
    args.exit_signal = SIGCHLD;
    args.set_tid = reinterpret_cast<uint64_t>(tids);
    args.set_tid_size = 1;
    long r = ::syscall(__NR_clone3, &args, sizeof args);
    if (r < 0)
        return Error::from_errno("clone3 with set_tid");
    if (r == 0)
        ::_exit(0);
    int status = 0;
    ::waitpid(static_cast<pid_t>(r), &status, 0);
    if (r != pid)
        return Error::format("asked for pid {}, got {}", pid, r);
    return std::string("a process created with a chosen pid");
}

Result<std::string> probe_pidfd_getfd()
{
    auto self = TRY(sys::pidfd_open(::getpid()));
    auto fd = TRY(sys::pidfd_getfd(self, self.get()));
    return std::string("pidfd_open + pidfd_getfd");
}

Result<std::string> probe_vm_readv()
{
    uint64_t source = 0x1234, target = 0;
    sys::RemoteCopy copy { &target, reinterpret_cast<uint64_t>(&source), sizeof source };
    TRY(sys::process_vm_read(::getpid(), { &copy, 1 }));
    if (target != source)
        return Error::make("wrong data");
    return std::string("process_vm_readv/writev");
}

Result<std::string> probe_mm_map()
{
    unsigned size = 0;
    if (::prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, &size, 0, 0) < 0)
        return Error::from_errno("prctl PR_SET_MM_MAP_SIZE");
    return fmt::format("prctl_mm_map of {} bytes", size);
}

Result<std::string> probe_userfaultfd()
{
    long fd = ::syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return Error::from_errno("userfaultfd");
    Fd owned(static_cast<int>(fd));
    return std::string("userfaultfd");
}

// The dump plans its pages with PAGEMAP_SCAN (Linux 6.7) when it can, else reads pagemap.
Result<std::string> probe_pagemap_scan()
{
    TRY(sys::probe_pagemap_scan());
    return std::string("ioctl PAGEMAP_SCAN on /proc/PID/pagemap (the dump's page planning)");
}

// Processes under seccomp filters (every podman/containerd container) need the ptrace
// requests of CONFIG_CHECKPOINT_RESTORE, and a cryo that is not under seccomp itself.
Result<std::string> probe_seccomp()
{
    pid_t pid = ::fork();
    if (pid < 0)
        return Error::from_errno("fork");
    if (pid == 0) {
        struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
        struct sock_fprog program = { 1, &allow };
        ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program);
        for (;;)
            ::pause();
    }
    auto pidfd = sys::pidfd_open(pid);
    if (!pidfd) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        return pidfd.release_error();
    }
    sys::ChildProcess child(pid, pidfd.release_value()); // killed and reaped when dropped
    for (int tries = 0; TRY(sys::read_seccomp_status(pid, pid)).mode != 2; ++tries) {
        if (tries == 1000)
            return Error::make("the probe's child did not install its filter");
        struct timespec ms = { 0, 1000000 };
        ::nanosleep(&ms, nullptr);
    }
    auto tracee = TRY(sys::Tracee::seize(pid, pid, {}));
    auto filter = TRY(sys::ptrace_seccomp_filter(pid, 0));
    if (!filter || filter->size() != 1)
        return Error::make("PTRACE_SECCOMP_GET_FILTER did not return the child's filter");
    TRY(sys::ptrace_seccomp_flags(pid, 0));
    TRY(sys::ptrace_suspend_seccomp(pid, PTRACE_O_TRACESYSGOOD));
    TRY(tracee.detach());
    return std::string("PTRACE_SECCOMP_GET_FILTER, PTRACE_SECCOMP_GET_METADATA, PTRACE_O_SUSPEND_SECCOMP");
}

Result<std::string> probe_time_ns()
{
    if (!sys::exists("/proc/self/ns/time"))
        return Error::make("no /proc/self/ns/time");
    return std::string("time namespaces");
}

} // namespace

std::vector<Probe> probe_kernel()
{
    std::vector<Probe> out;
    out.push_back(from("ptrace", probe_ptrace()));
    out.push_back(from("remote syscall", probe_remote_syscall()));
    out.push_back(from("clone3 set_tid", probe_clone3_set_tid()));
    out.push_back(from("pidfd_getfd", probe_pidfd_getfd()));
    out.push_back(from("process_vm_readv", probe_vm_readv()));
    out.push_back(from("PR_SET_MM_MAP", probe_mm_map()));
    out.push_back(from("userfaultfd", probe_userfaultfd(), false));
    out.push_back(from("PAGEMAP_SCAN", probe_pagemap_scan(), false));
    out.push_back(from("time namespace", probe_time_ns(), false));
    out.push_back(from("seccomp filters", probe_seccomp(), false));
    return out;
}

} // namespace cryo::checkpoint
