#include "sys/clone.h"

#include <linux/sched.h>
#include <unistd.h>

#include "sys/raw.h"

namespace cryo::sys {

Result<Cloned> clone3(CloneOptions const& options)
{
    int pidfd = -1;
    struct clone_args args { };
    args.flags = options.flags | CLONE_PIDFD;
    // SAFETY: the kernel stores an int through this u64-encoded pointer (CLONE_PIDFD).
    args.pidfd = reinterpret_cast<uintptr_t>(&pidfd);
    args.exit_signal = static_cast<uint64_t>(options.exit_signal);
    if (options.cgroup.valid() && options.cgroup != FdRef::cwd()) {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = static_cast<uint64_t>(options.cgroup.get());
    }
    long pid = ::syscall(__NR_clone3, &args, sizeof args);
    if (pid < 0)
        return Error::from_errno("clone3");
    if (pid == 0)
        return Cloned { .pid = 0, .pidfd = Fd {} };
    return Cloned { .pid = static_cast<pid_t>(pid), .pidfd = Fd(pidfd) };
}

void exit_now(int code)
{
    ::_exit(code);
}

} // namespace cryo::sys
