// exec: a new process in a running container. cryo clones a child that is already in the
// container's pid namespace (cryo joins it "for children" first), the child moves itself
// into the container's cgroup, joins every other namespace of the init at once
// (setns on the init's pidfd: the kernel orders user first), applies the process spec and
// execs through the trampoline. The child is non-dumpable from its first instruction, so
// no container process can open its /proc/PID/exe (the host binary) before it execs.
#include <climits>
#include <csignal>
#include <fcntl.h>
#include <sched.h>
#include <set>
#include <sys/prctl.h>
#include <unistd.h>

#include "base/log.h"
#include "base/scope_guard.h"
#include "cgroup/manager.h"
#include "oci/names.h"
#include "oci/spec.h"
#include "rootfs/process.h"
#include "rootfs/seccomp.h"
#include "runtime/api.h"
#include "runtime/exec_guard.h"
#include "runtime/init.h"
#include "runtime/plan.h"
#include "runtime/state_store.h"
#include "runtime/sync.h"
#include "runtime/wait.h"
#include "sys/caps.h"
#include "sys/clone.h"
#include "sys/file.h"
#include "sys/ns.h"
#include "sys/unix_socket.h"

namespace cryo::runtime {

namespace {

Result<uint32_t> parse_id(std::string_view text, std::string_view what)
{
    if (text.empty())
        return Error::format("--user: empty {}", what);
    uint64_t value = 0;
    for (char c : text) {
        if (c < '0' || c > '9')
            return Error::format("--user: {} {:?} is not a number (names are not supported)", what, text);
        value = value * 10 + static_cast<uint64_t>(c - '0');
        if (value > UINT32_MAX)
            return Error::format("--user: {} {} is out of range", what, text);
    }
    return static_cast<uint32_t>(value);
}

// The process to run: --process FILE, or the container's own process with the command
// line's overrides (runc's rules).
Result<oci::Process> exec_process(ExecOptions const& options, oci::Spec const& spec)
{
    if (!options.process_json.empty()) {
        auto text = TRY(sys::read_file(options.process_json).context("--process"));
        return TRY(oci::parse_process(text).context("{}", options.process_json));
    }
    if (options.args.empty())
        return Error::make("exec: a command is required");
    oci::Process p = spec.process ? *spec.process : oci::Process {};
    p.args = options.args;
    p.terminal = options.tty;
    p.console_size.reset();
    for (auto const& e : options.env)
        p.env.push_back(e);
    if (!options.cwd.empty())
        p.cwd = options.cwd;
    if (options.user) {
        std::string_view user = *options.user;
        auto colon = user.find(':');
        p.user.uid = TRY(parse_id(user.substr(0, colon), "uid"));
        if (colon != std::string_view::npos)
            p.user.gid = TRY(parse_id(user.substr(colon + 1), "gid"));
        // The spec's additionalGids stay, as with runc (only --additional-gids adds more).
    }
    for (auto const& g : options.additional_gids)
        p.user.additional_gids.push_back(TRY(parse_id(g, "additional gid")));
    if (!options.caps.empty()) {
        if (!p.capabilities)
            p.capabilities = oci::Capabilities {};
        auto& c = *p.capabilities;
        for (auto const& cap : options.caps) {
            c.bounding.push_back(cap);
            c.effective.push_back(cap);
            c.permitted.push_back(cap);
            // Ambient needs inheritable; like runc, only when the spec already uses it.
            if (!c.inheritable.empty()) {
                c.inheritable.push_back(cap);
                c.ambient.push_back(cap);
            }
        }
    }
    if (options.no_new_privs)
        p.no_new_privileges = true;
    return p;
}

// The CLONE_NEW* flags of the namespaces the container has (created or joined), except
// pid (joined by the parent for its child) and the ones we already share with the init.
Result<int> namespaces_to_join(SavedState const& state)
{
    int flags = 0;
    for (auto const& [name, path] : state.namespaces) {
        auto type = oci::namespace_type(name);
        if (!type)
            return Error::format("state: unknown namespace {:?}", name);
        if (*type == oci::NamespaceType::Pid)
            continue;
        auto proc = oci::namespace_proc_name(*type);
        // A namespace joined by path may be our own (the host's): joining our own user
        // namespace is an error, and the others are no-ops.
        auto theirs = sys::ns_inode(state.init_pid, proc);
        auto ours = sys::ns_inode(0, proc);
        if (theirs && ours && *theirs == *ours)
            continue;
        flags |= oci::namespace_clone_flag(*type);
    }
    return flags;
}

struct ExecChild {
    int ns_flags { 0 };
    FdRef init_pidfd;
    bool new_user { false };
    cgroup::JoinHandles const* cgroup_join { nullptr };
    bool cloned_into_cgroup { false };
    ProcessPlan const* process { nullptr };
    ExecImage* image { nullptr };
    std::optional<rootfs::SeccompProgram> const* seccomp { nullptr };
    FdRef console_socket;
    FdRef trampoline;
    int passed_fds { 0 };
    int lock_fd { -1 };
};

Result<void> prepare_exec_child(ExecChild const& c, SyncChannel const& channel)
{
    if (c.cgroup_join)
        TRY(cgroup::join_self(*c.cgroup_join, c.cloned_into_cgroup).context("join cgroup"));
    // Only what the child still needs survives: no host fd (the state dir, ...) can become
    // its cwd or reach the host through /proc/self/fd (CVE-2024-21626).
    int keep[] = { channel.fd().get(), c.console_socket.get(), c.trampoline.get(), c.init_pidfd.get() };
    TRY(rootfs::close_fds_except(3 + static_cast<unsigned>(c.passed_fds), keep).context("close fds"));
    if (c.ns_flags)
        TRY(sys::setns(c.init_pidfd, c.ns_flags).context("join the container's namespaces"));
    if (::setsid() < 0)
        return Error::from_errno("setsid");
    if (c.console_socket.valid())
        TRY(setup_console(c.console_socket, c.process->console_size, false).context("set up console"));
    auto const& process = *c.process;
    bool has_seccomp = c.seccomp->has_value();
    if (has_seccomp && !process.no_new_privileges)
        TRY(rootfs::load(**c.seccomp).context("load seccomp filter"));
    TRY(apply_process_attributes(process, c.new_user));
    if (has_seccomp && process.no_new_privileges)
        TRY(rootfs::load(**c.seccomp).context("load seccomp filter"));
    TRY(resolve_executable(*c.image));
    return {};
}

[[noreturn]] void run_exec_child(ExecChild const& c, SyncChannel& channel)
{
    // First: nothing in the container may open our /proc/PID/exe (CVE-2019-5736).
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (c.lock_fd >= 0)
        ::close(c.lock_fd);
    auto prepared = prepare_exec_child(c, channel);
    if (!prepared) {
        channel.send_error(prepared.error());
        sys::exit_now(1);
    }
    auto error = finish_exec(*c.image, c.trampoline, c.passed_fds, channel.fd());
    channel.send_error(error);
    sys::exit_now(127);
}

// exec --cgroup: join handles for the planned directories (a sub-cgroup must exist, as
// runc requires; the container's own directories are skipped where absent, like an unused
// hugetlb). A directory with `tasks` is v1; without, it is on a unified hierarchy.
Result<cgroup::JoinHandles> open_exec_cgroup(cgroup::Manager const& manager, std::string_view flag)
{
    auto dirs = TRY(plan_exec_cgroup(manager.paths(), flag));
    cgroup::JoinHandles handles;
    std::set<std::string> done; // co-mounted controllers share a directory
    for (auto const& [controller, target] : dirs) {
        if (!done.insert(target.dir).second)
            continue;
        auto tasks = sys::open(target.dir + "/tasks", O_WRONLY | O_TRUNC);
        if (tasks) {
            handles.tasks.push_back(tasks.release_value());
            continue;
        }
        if (!tasks.error().is_errno(ENOENT))
            return Error::from_errno(tasks.error().code(), fmt::format("--cgroup: open {}/tasks", target.dir));
        auto dir = sys::open(target.dir, O_PATH | O_DIRECTORY);
        if (!dir && dir.error().is_errno(ENOENT)) {
            if (target.sub)
                return Error::format("--cgroup: cgroup {} does not exist", target.dir);
            continue;
        }
        if (!dir)
            return Error::from_errno(dir.error().code(), fmt::format("--cgroup: open {}", target.dir));
        if (handles.unified_dir.valid())
            return Error::format("--cgroup: two directories on the unified hierarchy ({})", target.dir);
        handles.unified_procs = TRY(sys::open(target.dir + "/cgroup.procs", O_WRONLY | O_TRUNC)
                                        .context("--cgroup: open {}/cgroup.procs", target.dir));
        handles.unified_dir = dir.release_value();
    }
    return handles;
}

} // namespace

Result<int> exec(Context const& ctx, ExecOptions const& options)
{
    StateStore store(ctx.root);
    auto container = TRY(store.open(options.id, LockMode::Shared));
    TRY(container.require_status("exec in", { Status::Running }));
    auto const& state = container.state();

    auto spec = TRY(oci::load_spec(state.bundle).context("exec {}", options.id));
    auto process_spec = TRY(exec_process(options, spec).context("exec {}", options.id));
    auto process = TRY(plan_process(process_spec, spec.linux_config).context("exec {}", options.id));
    std::optional<rootfs::SeccompProgram> seccomp;
    if (spec.linux_config.seccomp) {
        auto profile = TRY(to_seccomp_profile(*spec.linux_config.seccomp).context("exec {}", options.id));
        // A notify listener belongs to the init; an exec'd process gets the same filter
        // without one would block on notify syscalls forever, so refuse clearly.
        seccomp = TRY(rootfs::compile(profile).context("exec {}: compile seccomp filter", options.id));
        if (seccomp->needs_listener)
            return Error::format("exec {}: seccomp notify (listenerPath) is not supported for exec", options.id);
    }

    Fd console_socket;
    Fd console_receiver; // foreground --tty without a socket: cryo proxies the pty itself
    if (process.terminal) {
        if (!options.console_socket.empty()) {
            console_socket = TRY(sys::connect_unix(options.console_socket).context("console socket"));
        } else if (!options.detach) {
            auto [ours, theirs] = TRY(sys::seqpacket_pair());
            console_receiver = std::move(ours);
            console_socket = std::move(theirs);
        } else {
            return Error::format("exec {}: --tty with --detach needs --console-socket", options.id);
        }
    }
    int passed_fds = options.preserve_fds;
    for (int fd = 3; fd < 3 + passed_fds; ++fd)
        if (::fcntl(fd, F_GETFD) < 0)
            return Error::format("exec {}: fd {} is not open (--preserve-fds)", options.id, fd);

    auto init_pidfd = TRY(container.open_init_pidfd());
    int ns_flags = TRY(namespaces_to_join(state).context("exec {}", options.id));
    bool new_user = state.namespaces.contains("user");
    auto manager = TRY(cgroup::Manager::open({ .path = state.cgroup_path }).context("exec {}", options.id));
    auto join_handles = options.cgroup.empty()
        ? TRY(manager->open_join_handles().context("exec {}: cgroup", options.id))
        : TRY(open_exec_cgroup(*manager, options.cgroup).context("exec {}", options.id));

    ExecImage image;
    image.prepare(process.args, process.env, 0);
    auto trampoline = TRY(make_exec_trampoline());

    ExecChild child_config {
        .ns_flags = ns_flags,
        .init_pidfd = init_pidfd,
        .new_user = new_user,
        .cgroup_join = &join_handles,
        .cloned_into_cgroup = join_handles.unified_dir.valid(),
        .process = &process,
        .image = &image,
        .seccomp = &seccomp,
        .console_socket = console_socket.ref(),
        .trampoline = trampoline,
        .passed_fds = passed_fds,
        .lock_fd = container.lock_fd().get(),
    };

    if (!options.detach)
        ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    SignalForwarder forwarder;
    if (!options.detach)
        TRY(forwarder.block());

    // Our children are born in the container's pid namespace; we stay where we are.
    bool join_pid = state.namespaces.contains("pid");
    Fd own_pid_ns;
    if (join_pid) {
        own_pid_ns = TRY(sys::open_ns(0, "pid"));
        TRY(sys::setns(init_pidfd, CLONE_NEWPID).context("exec {}: join pid namespace", options.id));
    }
    auto [parent_end, child_end] = TRY(sys::seqpacket_pair());
    auto cloned
        = sys::clone3({ .cgroup = join_handles.unified_dir.valid() ? join_handles.unified_dir.ref() : FdRef {} });
    if (cloned && cloned->is_child()) {
        parent_end.reset();
        SyncChannel channel(std::move(child_end));
        run_exec_child(child_config, channel);
    }
    if (own_pid_ns)
        (void)sys::setns(own_pid_ns, CLONE_NEWPID);
    if (!cloned) {
        auto error = cloned.release_error();
        error.add_context(fmt::format("exec {}", options.id));
        return error;
    }
    child_end.reset();
    console_socket.reset();
    SyncChannel channel(std::move(parent_end));
    sys::ChildProcess child(cloned->pid, std::move(cloned->pidfd));
    TRY(channel.expect_eof().context("exec {}", options.id));
    Fd console;
    if (console_receiver) {
        char name[64];
        std::vector<Fd> fds;
        TRY(sys::recv_with_fds(console_receiver, name, &fds).context("exec {}: receive the console", options.id));
        if (fds.empty())
            return Error::format("exec {}: receive the console: no pty master", options.id);
        console = std::move(fds.front());
    }
    if (!options.pid_file.empty())
        TRY(replace_file(options.pid_file, fmt::format("{}", child.pid()), 0644)
                .context("write pid file {}", options.pid_file));
    if (options.detach) {
        child.release();
        return 0;
    }
    container.unlock();
    int status = TRY(forwarder.wait_for(child, console));
    return sys::exit_code_of(status);
}

} // namespace cryo::runtime
