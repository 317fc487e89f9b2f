// The container init's side of a restore: the same namespaces, cgroup, rootfs, hostname and
// console as create sets up (init.cpp), but instead of exec'ing the user's process it parks
// in pause() as pid 1 of the new pid namespace, keeping its privileges and a pidfd of cryo,
// until the checkpoint engine rebuilds the image's init in it (restore.cpp). Nothing here
// allocates after clone beyond what the shared rootfs steps do.
#include <csignal>
#include <linux/keyctl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "rootfs/mounts.h"
#include "rootfs/process.h"
#include "runtime/init.h"
#include "runtime/restore_init.h"
#include "sys/caps.h"
#include "sys/clone.h"
#include "sys/ns.h"
#include "sys/raw.h"

namespace cryo::runtime {

namespace {

Result<void> prepare_restore_init(InitConfig& config, SyncChannel& channel)
{
    auto const& ns = *config.namespaces;
    if (config.wait_for_parent)
        TRY(channel.expect(SyncStep::Proceed));
    for (auto& [type, fd] : config.join_fds)
        TRY(sys::setns(fd, type).context("join namespace"));
    config.join_fds.clear();
    if (ns.new_user) {
        TRY(sys::setresgid(0).context("become root in the user namespace"));
        TRY(sys::setresuid(0).context("become root in the user namespace"));
    }
    if (ns.new_cgroup)
        TRY(sys::unshare(CLONE_NEWCGROUP).context("create cgroup namespace"));
    // The restored init was a session leader (create made it one): the engine keeps this.
    if (::setsid() < 0)
        return Error::from_errno("setsid");
    TRY(rootfs::setup_rootfs(*config.mounts).context("prepare rootfs"));
    if (!config.hostname.empty())
        TRY(rootfs::apply_hostname(config.hostname).context("set hostname"));
    if (!config.domainname.empty())
        TRY(rootfs::apply_domainname(config.domainname).context("set domainname"));
    if (!config.sysctl.empty())
        TRY(rootfs::apply_sysctls(config.sysctl).context("set sysctl"));
    if (config.console_socket)
        TRY(setup_console(config.console_socket, config.process->console_size, true).context("set up console"));
    config.console_socket.reset();
    TRY(rootfs::finalize_rootfs(*config.mounts).context("prepare rootfs"));
    if (!config.no_new_keyring) {
        if (::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "_ses.cryo") < 0 && errno != ENOSYS)
            return Error::from_errno("join session keyring");
    }
    return {};
}

} // namespace

void run_restore_init(InitConfig& config, SyncChannel& channel, int cryo_pidfd)
{
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    // As in create: nothing in the container may reach cryo's binary while cryo's code runs
    // here. The engine replaces the executable before any container process runs.
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (config.lock_fd >= 0)
        ::close(config.lock_fd);
    auto early = [&]() -> Result<void> {
        if (config.cgroup_join)
            TRY(cgroup::join_self(*config.cgroup_join, config.cloned_into_cgroup).context("join cgroup"));
        int keep[8] = { channel.fd().get(), config.console_socket.get(), cryo_pidfd, -1, -1, -1, -1, -1 };
        size_t used = 3;
        if (config.join_fds.size() > 5)
            return Error::make("too many namespaces to join by path");
        for (auto const& join : config.join_fds)
            keep[used++] = join.second.get();
        TRY(rootfs::close_fds_except(3, { keep, used }).context("close fds"));
        return {};
    };
    if (auto result = early(); !result) {
        channel.send_error(result.error());
        sys::exit_now(1);
    }
    if (auto prepared = prepare_restore_init(config, channel); !prepared) {
        channel.send_error(prepared.error());
        sys::exit_now(1);
    }
    // From here cryo holds this process with ptrace (PTRACE_O_EXITKILL): if cryo dies
    // during the restore the process dies with it; afterwards it must outlive cryo.
    ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    // The restored processes are dumpable as the originals were (exec made them so).
    ::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    if (!channel.send(SyncStep::Ready))
        sys::exit_now(1);
    for (;;)
        ::syscall(SYS_pause);
}

} // namespace cryo::runtime
