// Process syscalls: pidfds, signals, waiting. ChildProcess owns a child through its pidfd
// and kills + reaps it when dropped unless released.
#pragma once

#include <csignal>
#include <sys/types.h>

#include "base/error.h"
#include "base/fd.h"

namespace cryo::sys {

Result<Fd> pidfd_open(pid_t pid, unsigned flags = 0);
Result<void> pidfd_send_signal(FdRef pidfd, int signal);
Result<Fd> pidfd_getfd(FdRef pidfd, int target_fd);
// Frees the memory of a process that is being killed (SIGKILL sent) in the caller's context,
// beside the dying task's own teardown: the two share the unmapping. EINVAL if the process is
// not dying or shares its memory with one that is not; nothing to do if its memory is gone.
Result<void> process_mrelease(FdRef pidfd);
Result<void> kill(pid_t pid, int signal);
// waitpid that retries EINTR; returns the raw wait status.
Result<int> waitpid(pid_t pid, int options = 0);
// Exit code as a shell reports it: status for exits, 128+signal for deaths by signal.
int exit_code_of(int wait_status);

class ChildProcess {
public:
    ChildProcess() = default;
    ChildProcess(pid_t pid, Fd pidfd)
        : m_pid(pid)
        , m_pidfd(std::move(pidfd))
    {
    }
    ChildProcess(ChildProcess&& other) noexcept;
    ChildProcess& operator=(ChildProcess&& other) noexcept;
    ~ChildProcess();

    pid_t pid() const { return m_pid; }
    FdRef pidfd() const { return m_pidfd.ref(); }
    bool valid() const { return m_pid > 0; }
    // Waits for exit and returns the raw wait status; the child is reaped.
    Result<int> wait();
    // Stops owning the child: it is neither killed nor reaped when dropped.
    pid_t release();

private:
    pid_t m_pid { -1 };
    Fd m_pidfd;
};

} // namespace cryo::sys
