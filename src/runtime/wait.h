// Waiting for a container process from the command that started it (run, exec): signals
// sent to cryo are forwarded to the process, orphans are reaped (cryo is a subreaper), and
// the process's wait status comes back. Also the container teardown shared by run and
// delete.
#pragma once

#include <csignal>

#include "base/error.h"
#include "cgroup/manager.h"
#include "runtime/state_store.h"
#include "sys/process.h"

namespace cryo::runtime {

class SignalForwarder {
public:
    SignalForwarder() = default;
    SignalForwarder(SignalForwarder const&) = delete;
    SignalForwarder& operator=(SignalForwarder const&) = delete;
    ~SignalForwarder();

    // Blocks every signal (the old mask is restored when dropped) and opens a signalfd.
    Result<void> block();
    // Forwards each signal but SIGCHLD to `target` until it exits, reaping other children
    // meanwhile; returns its raw wait status (the child is reaped and released). With a
    // `console` (a pty master cryo allocated because the process wants a terminal and no
    // --console-socket was given), copies stdin to it and it to stdout, with our terminal
    // in raw mode and SIGWINCH resizing the pty, as runc does for `run` in the foreground.
    Result<int> wait_for(sys::ChildProcess& target, FdRef console = {});

private:
    bool m_blocked { false };
    sigset_t m_old_mask {};
    Fd m_signalfd;
};

// Waits up to `timeout_ms` for a process (by pidfd) to exit; true if it did.
bool wait_exit(FdRef pidfd, int timeout_ms);

// Tears a container down: SIGKILL to whatever still runs (init through its pidfd, the rest
// through the cgroup), cgroup removed, poststop hooks, state dir removed.
Result<void> destroy_container(Container& container, cgroup::Manager& cgroup);
// For run: the same once the init has exited and been reaped.
Result<void> delete_stopped(Container& container, cgroup::Manager& cgroup);

} // namespace cryo::runtime
