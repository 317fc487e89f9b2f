// The container init's side of a restore: the same steps as create's init (init.cpp,
// run_container_process) with FinalAction::Park, keeping a pidfd the engine takes files
// through; and the FileHolder of a container with a new user namespace.
#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "runtime/init.h"
#include "runtime/restore_init.h"
#include "sys/clone.h"
#include "sys/file.h"
#include "sys/ns.h"
#include "sys/raw.h"

namespace cryo::runtime {

void run_restore_init(InitConfig& config, SyncChannel& channel, int cryo_pidfd)
{
    config.cryo_pidfd = cryo_pidfd;
    run_container_process(config, channel, FinalAction::Park);
}

Result<FileHolder> FileHolder::start()
{
    // Both pipes exist before the clone, so in the shared table they are the holder's too;
    // messages, never EOF, since a close in one process closes for both.
    auto [command_read, command_write] = TRY(sys::pipe(O_CLOEXEC));
    auto [done_read, done_write] = TRY(sys::pipe(O_CLOEXEC));
    auto cloned = TRY(sys::clone3({ .flags = CLONE_FILES }).context("start the file holder"));
    if (cloned.is_child()) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        int ns = -1;
        if (::read(command_read.get(), &ns, sizeof ns) != sizeof ns)
            sys::exit_now(1);
        unsigned char result = 0;
        if (::setns(ns, CLONE_NEWUSER) < 0 || ::setresgid(0, 0, 0) < 0 || ::setresuid(0, 0, 0) < 0)
            result = static_cast<unsigned char>(errno);
        // Changing credentials made it non-dumpable: the restored tasks may only take its
        // files when it is dumpable (or they held CAP_SYS_PTRACE in cryo's namespace).
        ::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
        (void)!::write(done_write.get(), &result, 1);
        for (;;)
            ::syscall(SYS_pause);
    }
    FileHolder holder;
    holder.m_process = sys::ChildProcess(cloned.pid, std::move(cloned.pidfd));
    holder.m_command = std::move(command_write);
    holder.m_done = std::move(done_read);
    // The holder's ends stay open in the shared table until cryo exits; harmless.
    (void)command_read.release();
    (void)done_write.release();
    return holder;
}

Result<void> FileHolder::enter_user_ns(int pid)
{
    auto ns = TRY(sys::open_ns(pid, "user").context("user namespace of {}", pid));
    int number = ns.get();
    TRY(sys::write(m_command, &number, sizeof number).context("file holder"));
    // The holder answers at once; it cannot die quietly (pdeathsig only), but a poll on its
    // pidfd keeps a failure from hanging the restore.
    pollfd fds[] = { { .fd = m_done.get(), .events = POLLIN, .revents = 0 },
                     { .fd = m_process.pidfd().get(), .events = POLLIN, .revents = 0 } };
    if (::poll(fds, 2, 5000) <= 0 || !(fds[0].revents & POLLIN))
        return Error::make("file holder: no answer");
    unsigned char result = 0;
    TRY(sys::read(m_done, &result, 1).context("file holder"));
    if (result != 0)
        return Error::from_errno(result, fmt::format("file holder: join the user namespace of {}", pid));
    return {};
}

} // namespace cryo::runtime
