#include "sys/process.h"

#include <sys/wait.h>
#include <utility>

#include "sys/raw.h"

namespace cryo::sys {

Result<Fd> pidfd_open(pid_t pid, unsigned flags)
{
    long fd = ::syscall(__NR_pidfd_open, pid, flags);
    if (fd < 0)
        return Error::from_errno(fmt::format("pidfd_open {}", pid));
    return Fd(static_cast<int>(fd));
}

Result<void> pidfd_send_signal(FdRef pidfd, int signal)
{
    if (::syscall(__NR_pidfd_send_signal, pidfd.get(), signal, nullptr, 0) < 0)
        return Error::from_errno(fmt::format("pidfd_send_signal {}", signal));
    return {};
}

Result<Fd> pidfd_getfd(FdRef pidfd, int target_fd)
{
    long fd = ::syscall(__NR_pidfd_getfd, pidfd.get(), target_fd, 0);
    if (fd < 0)
        return Error::from_errno(fmt::format("pidfd_getfd {}", target_fd));
    return Fd(static_cast<int>(fd));
}

Result<void> process_mrelease(FdRef pidfd)
{
    if (::syscall(__NR_process_mrelease, pidfd.get(), 0) < 0)
        return Error::from_errno("process_mrelease");
    return {};
}

Result<void> kill(pid_t pid, int signal)
{
    if (::kill(pid, signal) < 0)
        return Error::from_errno(fmt::format("kill {} with signal {}", pid, signal));
    return {};
}

Result<int> waitpid(pid_t pid, int options)
{
    for (;;) {
        int status = 0;
        pid_t r = ::waitpid(pid, &status, options);
        if (r >= 0) {
            if (r == 0)
                return -1; // WNOHANG and still running
            return status;
        }
        if (errno != EINTR)
            return Error::from_errno(fmt::format("waitpid {}", pid));
    }
}

int exit_code_of(int wait_status)
{
    if (WIFEXITED(wait_status))
        return WEXITSTATUS(wait_status);
    if (WIFSIGNALED(wait_status))
        return 128 + WTERMSIG(wait_status);
    return 255;
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : m_pid(std::exchange(other.m_pid, -1))
    , m_pidfd(std::move(other.m_pidfd))
{
}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept
{
    if (this != &other) {
        this->~ChildProcess();
        m_pid = std::exchange(other.m_pid, -1);
        m_pidfd = std::move(other.m_pidfd);
    }
    return *this;
}

ChildProcess::~ChildProcess()
{
    if (m_pid <= 0)
        return;
    if (m_pidfd.valid())
        (void)::syscall(__NR_pidfd_send_signal, m_pidfd.get(), SIGKILL, nullptr, 0);
    else
        ::kill(m_pid, SIGKILL);
    int status = 0;
    while (::waitpid(m_pid, &status, 0) < 0 && errno == EINTR) { }
    m_pid = -1;
}

Result<int> ChildProcess::wait()
{
    auto status = TRY(waitpid(m_pid));
    m_pid = -1;
    return status;
}

pid_t ChildProcess::release()
{
    m_pidfd.reset();
    return std::exchange(m_pid, -1);
}

} // namespace cryo::sys
