#include "runtime/wait.h"

#include <cerrno>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "runtime/launch.h"
#include "sys/file.h"

namespace cryo::runtime {

SignalForwarder::~SignalForwarder()
{
    if (m_blocked)
        ::sigprocmask(SIG_SETMASK, &m_old_mask, nullptr);
}

Result<void> SignalForwarder::block()
{
    sigset_t all;
    sigfillset(&all);
    if (::sigprocmask(SIG_SETMASK, &all, &m_old_mask) < 0)
        return Error::from_errno("sigprocmask");
    m_blocked = true;
    int fd = ::signalfd(-1, &all, SFD_CLOEXEC);
    if (fd < 0)
        return Error::from_errno("signalfd");
    m_signalfd = Fd(fd);
    return {};
}

Result<int> SignalForwarder::wait_for(sys::ChildProcess& target)
{
    pid_t pid = target.pid();
    for (;;) {
        pollfd fds[2] = { { target.pidfd().get(), POLLIN, 0 }, { m_signalfd.get(), POLLIN, 0 } };
        int n = ::poll(fds, m_signalfd ? 2 : 1, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return Error::from_errno("poll");
        if (m_signalfd && (fds[1].revents & POLLIN)) {
            signalfd_siginfo info {};
            auto got = sys::read(m_signalfd, &info, sizeof info);
            if (got && *got == sizeof info) {
                int sig = static_cast<int>(info.ssi_signo);
                if (sig == SIGCHLD) {
                    // Reap orphans re-parented to us (subreaper), never the target here.
                    siginfo_t child {};
                    while (::waitid(P_ALL, 0, &child, WEXITED | WNOHANG | WNOWAIT) == 0 && child.si_pid != 0
                           && child.si_pid != pid) {
                        ::waitpid(child.si_pid, nullptr, WNOHANG);
                        child = {};
                    }
                } else {
                    (void)sys::pidfd_send_signal(target.pidfd(), sig);
                }
            }
        }
        if (fds[0].revents & POLLIN) {
            int status = TRY(target.wait());
            // Whatever else exited meanwhile.
            while (::waitpid(-1, nullptr, WNOHANG) > 0) { }
            return status;
        }
    }
}

bool wait_exit(FdRef pidfd, int timeout_ms)
{
    for (;;) {
        pollfd fd { pidfd.get(), POLLIN, 0 };
        int n = ::poll(&fd, 1, timeout_ms);
        if (n < 0 && errno == EINTR)
            continue;
        return n > 0;
    }
}

Result<void> destroy_container(Container& container, cgroup::Manager& cgroup)
{
    auto status = container.status();
    if (status != Status::Stopped) {
        auto pidfd = container.open_init_pidfd();
        if (pidfd) {
            (void)sys::pidfd_send_signal(*pidfd, SIGKILL);
            // A frozen task dies only once thawed.
            if (status == Status::Paused)
                (void)cgroup.thaw();
            if (!wait_exit(*pidfd, 10000))
                return Error::format("container {}: init did not exit after SIGKILL", container.id());
        }
    }
    return delete_stopped(container, cgroup);
}

Result<void> delete_stopped(Container& container, cgroup::Manager& cgroup)
{
    // Without a pid namespace of its own, the init's death does not take the other
    // processes along: kill them through the cgroup.
    auto pids = cgroup.pids();
    if (pids && !pids->empty()) {
        (void)cgroup.thaw();
        TRY(cgroup.kill_all(SIGKILL).context("kill processes of {}", container.id()));
    }
    TRY(cgroup.destroy().context("remove cgroup of {}", container.id()));
    run_poststop_hooks(container);
    TRY(container.destroy());
    return {};
}

} // namespace cryo::runtime
