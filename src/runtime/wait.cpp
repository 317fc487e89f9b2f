#include "runtime/wait.h"
#include "runtime/extras.h"

#include <cerrno>
#include <fcntl.h>
#include <optional>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
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

namespace {

// Our terminal in raw mode while a container's pty is proxied; restored when dropped.
class RawTerminal {
public:
    RawTerminal()
    {
        if (!::isatty(0) || ::tcgetattr(0, &m_saved) < 0)
            return;
        termios raw = m_saved;
        ::cfmakeraw(&raw);
        if (::tcsetattr(0, TCSANOW, &raw) == 0)
            m_active = true;
    }
    ~RawTerminal()
    {
        if (m_active)
            ::tcsetattr(0, TCSANOW, &m_saved);
    }
    RawTerminal(RawTerminal const&) = delete;
    RawTerminal& operator=(RawTerminal const&) = delete;

private:
    termios m_saved {};
    bool m_active { false };
};

void copy_window_size(FdRef console)
{
    winsize ws {};
    if (::ioctl(0, TIOCGWINSZ, &ws) == 0)
        ::ioctl(console.get(), TIOCSWINSZ, &ws);
}

// Copies what is readable from `from` to `to`; false at EOF or error.
bool pump(FdRef from, FdRef to)
{
    char buffer[8192];
    auto got = sys::read(from, buffer, sizeof buffer);
    if (!got || *got == 0)
        return false;
    return sys::write_all(to, { buffer, *got }).has_value();
}

} // namespace

Result<int> SignalForwarder::wait_for(sys::ChildProcess& target, FdRef console)
{
    pid_t pid = target.pid();
    std::optional<RawTerminal> raw;
    bool stdin_open = false;
    bool console_open = console.valid();
    if (console_open) {
        raw.emplace();
        copy_window_size(console);
        stdin_open = true;
    }
    for (;;) {
        pollfd fds[4] = {
            { target.pidfd().get(), POLLIN, 0 },
            { m_signalfd ? m_signalfd.get() : -1, POLLIN, 0 },
            { console_open ? console.get() : -1, POLLIN, 0 },
            { stdin_open ? 0 : -1, POLLIN, 0 },
        };
        int n = ::poll(fds, 4, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return Error::from_errno("poll");
        if (console_open && (fds[2].revents & (POLLIN | POLLHUP | POLLERR)))
            console_open = pump(console, FdRef(1));
        if (stdin_open && (fds[3].revents & (POLLIN | POLLHUP | POLLERR)))
            stdin_open = pump(FdRef(0), console);
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
                    if (sig == SIGWINCH && console.valid())
                        copy_window_size(console);
                    (void)sys::pidfd_send_signal(target.pidfd(), sig);
                }
            }
        }
        if (fds[0].revents & POLLIN) {
            // The process is gone: what it wrote is still in the pty; copy it out.
            if (console_open) {
                int flags = ::fcntl(console.get(), F_GETFL);
                ::fcntl(console.get(), F_SETFL, flags | O_NONBLOCK);
                while (pump(console, FdRef(1))) { }
            }
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
    release_extras(container.dir());
    TRY(container.destroy());
    return {};
}

} // namespace cryo::runtime
