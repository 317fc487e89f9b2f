// create, start, run: the verbs that bring a container to life (launch.cpp does the work).
#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "runtime/api.h"
#include "runtime/hooks.h"
#include "runtime/launch.h"
#include "runtime/wait.h"
#include "sys/file.h"
#include "sys/process.h"

namespace cryo::runtime {

Result<void> create(Context const& ctx, CreateOptions const& options)
{
    auto launched = TRY(launch(ctx, options, LaunchMode::Create));
    // The init now belongs to whoever reaps our orphans (containerd's shim, conmon...).
    launched.init.release();
    return {};
}

Result<void> start(Context const& ctx, std::string const& id)
{
    StateStore store(ctx.root);
    auto container = TRY(store.open(id));
    TRY(container.require_status("start", { Status::Created }));
    auto fifo_path = container.exec_fifo_path();
    // Non-blocking: a reader that exists is all the init's blocking open(O_WRONLY) needs;
    // then wait for its byte, or for the init to die (poll on its pidfd), never forever.
    // The pidfd first: opening the FIFO releases the init, and a short-lived process (/bin/true)
    // can exit and be reaped before a pidfd opened afterwards could pin it.
    auto pidfd = TRY(container.open_init_pidfd().context("start {}", id));
    auto fifo = TRY(sys::open(fifo_path, O_RDONLY | O_NONBLOCK).context("start {}: open exec fifo", id));
    for (;;) {
        pollfd fds[2] = { { fifo.get(), POLLIN, 0 }, { pidfd.get(), POLLIN, 0 } };
        int n = ::poll(fds, 2, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return Error::from_errno("poll exec fifo");
        if (fds[0].revents & POLLIN) {
            char byte = 0;
            auto got = TRY(sys::read(fifo, &byte, 1));
            if (got == 1)
                break;
        }
        if (fds[1].revents & POLLIN)
            return Error::format("start {}: the container init exited before it could start", id);
    }
    // The init keeps its write end open until it execs the user's process (CLOEXEC):
    // EOF here means exec happened (or the init died), which poststart must wait for.
    // Without poststart hooks nobody needs it: return as runc and crun do, once the byte
    // was read (the exec itself is the init's business; a failing exec ends the container).
    bool wait_for_exec = !container.state().poststart.empty();
    while (wait_for_exec) {
        pollfd fds[2] = { { fifo.get(), POLLIN, 0 }, { pidfd.get(), POLLIN, 0 } };
        int n = ::poll(fds, 2, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || (fds[1].revents & POLLIN))
            break;
        if (fds[0].revents & (POLLIN | POLLHUP)) {
            char byte = 0;
            auto got = sys::read(fifo, &byte, 1);
            if (!got || *got == 0)
                break;
        }
    }
    (void)sys::unlink(fifo_path);
    container.state().status = Status::Running;
    TRY(container.save());
    if (!container.state().poststart.empty())
        run_hooks_warn(container.state().poststart, "poststart", hook_state_of(container, Status::Running));
    return {};
}

Result<int> run(Context const& ctx, CreateOptions const& options)
{
    if (!options.no_subreaper && !options.detach)
        ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    // Signals for the container are forwarded, not acted on: block them before the init
    // exists (it unblocks its own copy of the mask), so none is lost in between.
    SignalForwarder forwarder;
    if (!options.detach)
        TRY(forwarder.block());

    auto launched = TRY(launch(ctx, options, LaunchMode::Run));
    auto& container = launched.container;
    // The init execs as soon as it is ready: EOF on the channel means exec happened (its
    // CLOEXEC end closed); a message means the final steps failed.
    auto started = launched.channel.expect_eof();
    if (!started) {
        auto error = started.release_error();
        (void)launched.init.wait();
        (void)launched.cgroup->destroy();
        (void)container.destroy();
        return error;
    }
    launched.channel.close();
    if (!container.state().poststart.empty())
        run_hooks_warn(container.state().poststart, "poststart", hook_state_of(container, Status::Running));
    if (options.detach) {
        launched.init.release();
        return 0;
    }
    // While the process runs, other commands (kill, state, exec) must get the lock.
    container.unlock();
    int status = TRY(forwarder.wait_for(launched.init, launched.console));
    if (options.keep)
        return sys::exit_code_of(status);

    StateStore store(ctx.root);
    auto reopened = store.open(options.id);
    if (reopened) {
        auto removed = delete_stopped(*reopened, *launched.cgroup);
        if (!removed)
            log::warn("run {}: {}", options.id, removed.error().message());
    }
    return sys::exit_code_of(status);
}

} // namespace cryo::runtime
