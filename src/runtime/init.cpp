#include "runtime/init.h"

#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci/names.h"
#include "rootfs/mounts.h"
#include "rootfs/process.h"
#include "rootfs/resolve.h"
#include "runtime/exec_guard.h"
#include "runtime/hooks.h"
#include "sys/caps.h"
#include "sys/clone.h"
#include "sys/file.h"
#include "sys/mounts.h"
#include "sys/ns.h"
#include "sys/pty.h"
#include "sys/raw.h"
#include "sys/unix_socket.h"

namespace cryo::runtime {

void ExecImage::prepare(std::vector<std::string> process_args, std::vector<std::string> process_env, int listen_fds)
{
    args = std::move(process_args);
    env = std::move(process_env);
    listen_pid_index = -1;
    if (listen_fds > 0) {
        env_set(env, "LISTEN_FDS", std::to_string(listen_fds));
        std::erase_if(env, [](std::string const& e) { return e.starts_with("LISTEN_PID="); });
        env.emplace_back(); // placeholder for LISTEN_PID, pointed at listen_pid below
        listen_pid_index = static_cast<int>(env.size() - 1);
    }
    argv.clear();
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    envp.clear();
    for (auto& e : env)
        envp.push_back(e.data());
    envp.push_back(nullptr);
    if (listen_pid_index >= 0)
        envp[static_cast<size_t>(listen_pid_index)] = listen_pid;
    trampoline_argv.assign(args.size() + 3, nullptr);
}

namespace {

bool is_executable_file(char const* path)
{
    struct stat st;
    if (::stat(path, &st) < 0)
        return false;
    return S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0;
}

} // namespace

Result<void> resolve_executable(ExecImage& image)
{
    std::string_view name = image.args.at(0);
    if (name.empty())
        return Error::make("exec: \"\": executable file not found in $PATH");
    auto store = [&image](std::string_view path) -> Result<void> {
        if (path.size() >= sizeof image.resolved_path)
            return Error::format("exec: \"{}\": path too long", path);
        std::memcpy(image.resolved_path, path.data(), path.size());
        image.resolved_path[path.size()] = '\0';
        return {};
    };
    if (name.find('/') != std::string_view::npos) {
        struct stat st;
        std::string path(name);
        if (::stat(path.c_str(), &st) < 0)
            return Error::from_errno(fmt::format("exec: \"{}\": stat {}", name, name));
        if (S_ISDIR(st.st_mode))
            return Error::from_errno(EACCES, fmt::format("exec: \"{}\": is a directory", name));
        return store(name);
    }
    auto path_list = env_value(image.env, "PATH").value_or(default_path);
    size_t begin = 0;
    while (begin <= path_list.size()) {
        auto end = path_list.find(':', begin);
        if (end == std::string_view::npos)
            end = path_list.size();
        auto dir = path_list.substr(begin, end - begin);
        auto candidate = fmt::format("{}/{}", dir.empty() ? "." : dir, name);
        if (is_executable_file(candidate.c_str()))
            return store(candidate);
        begin = end + 1;
    }
    return Error::format("exec: \"{}\": executable file not found in $PATH", name);
}

Result<void> apply_process_attributes(ProcessPlan const& plan, bool in_new_user_ns)
{
    (void)in_new_user_ns;
    if (!plan.rlimits.empty())
        TRY(rootfs::apply_rlimits(plan.rlimits).context("set rlimits"));
    if (plan.oom_score_adj)
        TRY(rootfs::apply_oom_score_adj(*plan.oom_score_adj).context("set oom_score_adj"));
    if (plan.io_priority)
        TRY(rootfs::apply_io_priority(*plan.io_priority).context("set io priority"));
    if (plan.scheduler)
        TRY(rootfs::apply_scheduler(*plan.scheduler).context("set scheduler"));
    if (plan.personality)
        TRY(rootfs::apply_personality(*plan.personality).context("set personality"));
    if (plan.umask)
        TRY(rootfs::apply_umask(*plan.umask));
    TRY(rootfs::apply_credentials(plan.user, plan.capabilities)
            .context("set user {}:{}", plan.user.uid, plan.user.gid));
    if (plan.no_new_privileges)
        TRY(rootfs::set_no_new_privs());
    // After the user switch, so the cwd is checked with the process's own credentials; and
    // after pivot_root, so that no host directory can remain the cwd (CVE-2024-21626).
    TRY(sys::chdir(plan.cwd.c_str()).context("chdir to cwd {}", plan.cwd));
    // The cwd must be inside our root: getcwd() reports "(unreachable)" (or fails) for a
    // directory outside it, e.g. a host directory reached through a leaked fd.
    char cwd[4096];
    if (!::getcwd(cwd, sizeof cwd) || cwd[0] != '/')
        return Error::format("chdir to cwd {}: the directory is outside the container", plan.cwd);
    return {};
}

Error finish_exec(ExecImage& image, FdRef trampoline, int passed_fds, FdRef keep_open)
{
    int keep[] = { trampoline.get(), keep_open.get() };
    auto closed = rootfs::close_fds_except(3 + static_cast<unsigned>(passed_fds), keep);
    if (!closed) {
        auto error = closed.release_error();
        error.add_context("close fds");
        return error;
    }
    for (int fd = 3; fd < 3 + passed_fds; ++fd) {
        if (::fcntl(fd, F_SETFD, 0) < 0)
            return Error::from_errno(fmt::format("pass fd {}", fd));
    }
    if (image.listen_pid_index >= 0)
        std::snprintf(image.listen_pid, sizeof image.listen_pid, "LISTEN_PID=%d", static_cast<int>(::getpid()));
    exec_via_trampoline(trampoline, image.resolved_path, image.argv.data(), image.envp.data(),
                        image.trampoline_argv.data());
    return Error::from_errno(fmt::format("exec {}", image.resolved_path));
}

Result<void> setup_console(FdRef console_socket, std::optional<oci::ConsoleSize> size, bool mount_dev_console)
{
    auto master = TRY(sys::open_pty_master("/dev/ptmx").context("open /dev/ptmx"));
    auto slave = TRY(sys::open_pty_peer(master));
    if (mount_dev_console) {
        auto name = TRY(sys::pty_name(master));
        auto root = TRY(sys::open("/", O_PATH | O_DIRECTORY));
        auto target = TRY(
            rootfs::ensure_in_root(root, "/dev/console", rootfs::TargetKind::File).context("create /dev/console"));
        TRY(sys::mount_on_fd(name.c_str(), target, nullptr, MS_BIND, nullptr).context("bind {} on /dev/console", name));
    }
    if (size && size->height && size->width)
        TRY(sys::set_window_size(slave, static_cast<uint16_t>(size->height), static_cast<uint16_t>(size->width)));
    char const name[] = "/dev/ptmx";
    FdRef fds[] = { master.ref() };
    TRY(sys::send_with_fds(console_socket, { name, sizeof name - 1 }, fds).context("send pty to console socket"));
    for (int target = 0; target < 3; ++target)
        TRY(sys::dup2(slave, target).context("console as stdio"));
    TRY(sys::set_controlling_terminal(slave));
    return {};
}

Result<ParentJoins> ParentJoins::enter(std::vector<std::pair<int, std::string>> const& joins)
{
    ParentJoins entered;
    for (auto const& [type, path] : joins) {
        auto target = TRY(sys::open_ns_path(path, type).context("namespace {}", path));
        std::string_view proc_name;
        for (auto t : oci::all_namespace_types())
            if (oci::namespace_clone_flag(t) == type)
                proc_name = oci::namespace_proc_name(t);
        auto own = TRY(sys::open_ns(0, proc_name).context("open own namespace"));
        TRY(sys::setns(target, type).context("join namespace {}", path));
        entered.m_previous.emplace_back(type, std::move(own));
    }
    return entered;
}

void ParentJoins::leave()
{
    // Back in reverse order; nothing useful can be done if that fails (only with EPERM,
    // which a namespace we were in cannot give).
    for (auto it = m_previous.rbegin(); it != m_previous.rend(); ++it)
        (void)sys::setns(it->second, it->first);
    m_previous.clear();
}

namespace {

// Every step of the container's first process up to (not including) its final action,
// shared by create's init and a restore's parked init; errors carry their step. A parked
// init runs no hooks (they ran when the container was created) and keeps root and every
// capability in its namespaces: the checkpoint engine restores the image's credentials.
Result<void> prepare_container_process(InitConfig& config, SyncChannel& channel, FinalAction action)
{
    auto const& ns = *config.namespaces;
    bool exec = action == FinalAction::Exec;
    if (config.wait_for_parent)
        TRY(channel.expect(SyncStep::Proceed));

    for (auto& [type, fd] : config.join_fds)
        TRY(sys::setns(fd, type).context("join namespace {}", [&] {
            for (auto const& j : ns.joins)
                if (j.first == type)
                    return j.second;
            return std::string("?");
        }()));
    config.join_fds.clear();

    if (ns.new_user) {
        // Become the namespace's root (uid 0 is mapped now): the host uid is not.
        TRY(sys::setresgid(0).context("become root in the user namespace"));
        TRY(sys::setresuid(0).context("become root in the user namespace"));
    }
    if (ns.new_cgroup)
        TRY(sys::unshare(CLONE_NEWCGROUP).context("create cgroup namespace"));
    // A parked init was a session leader too (create made it one): the engine keeps this.
    if (::setsid() < 0)
        return Error::from_errno("setsid");

    std::string hook_state_json;
    if (exec && (!config.create_container_hooks.empty() || !config.start_container_hooks.empty())) {
        // Our host pid: /proc is still the host's here, and /proc/self resolves in the pid
        // namespace of that proc mount (the host's), not ours.
        auto self = TRY(sys::readlink("/proc/self"));
        config.hook_state.pid = std::atoi(self.c_str());
        config.hook_state.status = "creating";
        hook_state_json = oci::hook_state_to_json(config.hook_state);
    }
    if (exec && config.has_runtime_hooks) {
        TRY(channel.send(SyncStep::RunHooks));
        TRY(channel.expect(SyncStep::HooksDone));
    }
    TRY(rootfs::mount_rootfs(*config.mounts).context("prepare rootfs"));
    // OCI createContainer: in the container's namespaces, after the rootfs mounts, before
    // pivot_root: the hook's path resolves in the runtime's root and it sees the
    // container's mounts under the rootfs path.
    if (exec && !config.create_container_hooks.empty())
        TRY(run_hooks(config.create_container_hooks, "createContainer", hook_state_json));
    TRY(rootfs::enter_rootfs(*config.mounts).context("prepare rootfs"));

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
        // A fresh session keyring, so the container cannot see the host's keys.
        if (::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "_ses.cryo") < 0 && errno != ENOSYS)
            return Error::from_errno("join session keyring");
    }
    if (!exec)
        return {};

    auto const& process = *config.process;
    bool listener = config.seccomp && config.seccomp->needs_listener;
    // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: do it before the user
    // switch drops it. With a notify listener, the fd must reach the parent during create.
    bool seccomp_early = config.seccomp && (!process.no_new_privileges || listener);
    if (seccomp_early && !process.no_new_privileges) {
        auto fd = TRY(rootfs::load(*config.seccomp).context("load seccomp filter"));
        if (fd) {
            // Wait until the listener has it: if that fails, nothing of ours may run.
            TRY(channel.send_fd(SyncStep::SeccompListener, fd));
            TRY(channel.expect(SyncStep::Proceed));
        }
    }
    TRY(apply_process_attributes(process, config.namespaces->new_user));
    if (seccomp_early && process.no_new_privileges) {
        auto fd = TRY(rootfs::load(*config.seccomp).context("load seccomp filter"));
        if (fd) {
            // Wait until the listener has it: if that fails, nothing of ours may run.
            TRY(channel.send_fd(SyncStep::SeccompListener, fd));
            TRY(channel.expect(SyncStep::Proceed));
        }
    }
    if (seccomp_early)
        config.seccomp.reset();
    // Before reporting ready, so that a missing program is a create error (as runc).
    TRY(resolve_executable(*config.image));
    return {};
}

[[noreturn]] void fail_after_ready(Error const& error)
{
    // `create` has returned: nobody reads the sync channel. The container's stderr is
    // where this can still be seen.
    auto text = fmt::format("cryo init: {}\n", error.message());
    (void)!::write(2, text.data(), text.size());
    sys::exit_now(127);
}

} // namespace

void run_container_process(InitConfig& config, SyncChannel& channel, FinalAction action)
{
    // Signals blocked in the parent (run forwards them) must not stay blocked in the
    // container; exec keeps the mask.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    // Non-dumpable until exec (or until the engine replaces a parked init's executable): no
    // container process may open our /proc/PID/exe (the host binary) or ptrace us while we
    // still run cryo's code (CVE-2019-5736).
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    // If create dies before the init is set up, the init must not linger.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (config.lock_fd >= 0)
        ::close(config.lock_fd);

    // Into the cgroup before anything heavy, then drop every fd the init does not need:
    // a host directory fd left open could become the cwd ("/proc/self/fd/N") or be
    // reached through /proc after pivot_root (CVE-2024-21626). A parked init keeps the
    // pidfd the engine takes files through, and no passed fds (the image has its own).
    auto early = [&]() -> Result<void> {
        if (config.cgroup_join)
            TRY(cgroup::join_self(*config.cgroup_join, config.cloned_into_cgroup).context("join cgroup"));
        int keep[9] = { channel.fd().get(),
                        config.exec_fifo.get(),
                        config.console_socket.get(),
                        config.trampoline.get(),
                        config.cryo_pidfd,
                        -1,
                        -1,
                        -1,
                        -1 };
        size_t used = 5;
        if (config.join_fds.size() > std::size(keep) - used)
            return Error::make("too many namespaces to join by path");
        for (auto const& join : config.join_fds)
            keep[used++] = join.second.get();
        unsigned first = action == FinalAction::Exec ? 3 + static_cast<unsigned>(config.passed_fds) : 3;
        TRY(rootfs::close_fds_except(first, { keep, used }).context("close fds"));
        return {};
    };
    if (auto result = early(); !result) {
        channel.send_error(result.error());
        sys::exit_now(1);
    }

    auto prepared = prepare_container_process(config, channel, action);
    if (!prepared) {
        channel.send_error(prepared.error());
        sys::exit_now(1);
    }
    // From here a parked init is held by cryo with ptrace (PTRACE_O_EXITKILL): if cryo dies
    // during the restore the process dies with it; afterwards it must outlive cryo.
    ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    if (action == FinalAction::Park) {
        // The restored processes are dumpable as the originals were (exec made them so).
        ::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
        if (!channel.send(SyncStep::Ready))
            sys::exit_now(1);
        for (;;)
            ::syscall(SYS_pause);
    }
    auto ready = channel.send(SyncStep::Ready);
    if (!ready)
        sys::exit_now(1);

    // The FIFO's write end stays open (CLOEXEC) until exec: `start` waits for its EOF, so
    // it runs poststart only once the user's process has been exec'd (OCI).
    Fd fifo_writer;
    if (config.exec_fifo) {
        // Blocks until `start` opens the FIFO for reading. Through /proc/self/fd: the
        // FIFO lives in the host's state dir, outside our root.
        char path[64];
        std::snprintf(path, sizeof path, "/proc/self/fd/%d", config.exec_fifo.get());
        auto fifo = sys::open(path, O_WRONLY);
        if (!fifo) {
            auto error = fifo.release_error();
            error.add_context("open exec fifo");
            fail_after_ready(error);
        }
        char byte = '0';
        (void)sys::write(*fifo, &byte, 1);
        fifo_writer = fifo.release_value();
        config.exec_fifo.reset();
        channel.close();
    }

    if (!config.start_container_hooks.empty()) {
        config.hook_state.status = "created";
        auto hooks
            = run_hooks(config.start_container_hooks, "startContainer", oci::hook_state_to_json(config.hook_state));
        if (!hooks) {
            if (channel.fd().valid())
                channel.send_error(hooks.error());
            fail_after_ready(hooks.error());
        }
    }
    if (config.seccomp) {
        auto fd = rootfs::load(*config.seccomp);
        if (!fd) {
            if (channel.fd().valid())
                channel.send_error(fd.error());
            fail_after_ready(fd.error());
        }
    }
    auto error = finish_exec(*config.image, config.trampoline, config.passed_fds,
                             fifo_writer ? fifo_writer.ref() : channel.fd());
    if (channel.fd().valid())
        channel.send_error(error);
    fail_after_ready(error);
}

} // namespace cryo::runtime
