#include "runtime/launch.h"
#include "runtime/extras.h"

#include <array>
#include <climits>
#include <cstdlib>
#include <ctime>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/scope_guard.h"
#include "oci/state.h"
#include "rootfs/seccomp.h"
#include "runtime/exec_guard.h"
#include "runtime/hooks.h"
#include "runtime/init.h"
#include "runtime/plan.h"
#include "runtime/restore_init.h"
#include "sys/clone.h"
#include "sys/file.h"
#include "sys/ns.h"
#include "sys/unix_socket.h"

namespace cryo::runtime {

std::string now_rfc3339()
{
    timespec ts {};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return oci::format_rfc3339_nano(ts.tv_sec, ts.tv_nsec);
}

std::string hook_state_of(Container const& container, Status status)
{
    auto state = container.oci_state();
    state.status = std::string(status_name(status));
    if (status == Status::Stopped)
        state.pid = 0;
    else
        state.pid = container.state().init_pid;
    return oci::hook_state_to_json(state);
}

void run_poststop_hooks(Container const& container)
{
    if (container.state().poststop.empty())
        return;
    run_hooks_warn(container.state().poststop, "poststop", hook_state_of(container, Status::Stopped));
}

namespace {

// realpath(3); errors read "<what> <path>: <reason>" ("rootfs /b/rootfs: No such file...").
Result<std::string> real_path(std::string const& path, std::string_view what)
{
    char buffer[PATH_MAX];
    if (!::realpath(path.c_str(), buffer))
        return Error::from_errno(fmt::format("{} {}", what, path));
    return std::string(buffer);
}

// LISTEN_FDS from our own environment (socket activation): passed on like runc does.
int listen_fds_from_env()
{
    char const* value = ::getenv("LISTEN_FDS");
    if (!value || !*value)
        return 0;
    char* end = nullptr;
    long n = std::strtol(value, &end, 10);
    if (*end != '\0' || n < 0 || n > 1024)
        return 0;
    return static_cast<int>(n);
}

Result<void> check_passed_fds(int count)
{
    for (int fd = 3; fd < 3 + count; ++fd)
        if (::fcntl(fd, F_GETFD) < 0)
            return Error::format("fd {} is not open (--preserve-fds / LISTEN_FDS)", fd);
    return {};
}

// Internal fds must never land on 0-2 (they would become the container's stdio): if the
// caller started us with any of them closed, fill the hole with /dev/null first.
void ensure_stdio_open()
{
    for (int fd = 0; fd < 3; ++fd) {
        if (::fcntl(fd, F_GETFD) >= 0)
            continue;
        int null = ::open("/dev/null", O_RDWR);
        if (null >= 0 && null != fd) {
            ::dup2(null, fd);
            ::close(null);
        }
    }
}

// What cryo's fds 0-2 are: the init inherits them as its stdio (unless a console replaces them).
Result<std::array<sys::FileIdentity, 3>> stdio_identity()
{
    std::array<sys::FileIdentity, 3> files;
    for (int fd = 0; fd < 3; ++fd)
        files[static_cast<size_t>(fd)] = sys::identity_of(TRY(sys::fstat(FdRef(fd)).context("stdio fd {}", fd)));
    return files;
}

// "slice:prefix:name" (systemd cgroup driver syntax) -> "/slice/prefix-name.scope".
Result<std::string> systemd_cgroup_path(std::string const& path, std::string const& id)
{
    if (!sys::exists("/run/systemd/system"))
        return Error::make("--systemd-cgroup: systemd is not running on this host");
    if (path.empty())
        return fmt::format("/system.slice/cryo-{}.scope", id);
    auto first = path.find(':');
    auto second = first == std::string::npos ? std::string::npos : path.find(':', first + 1);
    if (second == std::string::npos)
        return Error::format("linux.cgroupsPath: {:?} is not \"slice:prefix:name\" (--systemd-cgroup)", path);
    auto slice = path.substr(0, first);
    auto prefix = path.substr(first + 1, second - first - 1);
    auto name = path.substr(second + 1);
    if (slice.empty())
        slice = "system.slice";
    return fmt::format("/{}/{}-{}.scope", slice, prefix, name);
}

// Sends the seccomp notify fd to the listener of linux.seccomp.listenerPath with the
// container process state as payload (OCI "containerProcessState").
Result<void> send_seccomp_listener(std::string const& path, std::string const& metadata, FdRef fd,
                                   Container const& container)
{
    auto state = container.oci_state();
    state.status = "creating";
    state.pid = container.state().init_pid;
    auto payload = fmt::format(R"({{"ociVersion":"{}","fds":["seccompFd"],"pid":{},"metadata":"{}","state":{}}})",
                               oci::k_oci_version, container.state().init_pid, log::json_escape(metadata),
                               oci::hook_state_to_json(state));
    auto socket = TRY(sys::connect_unix(path));
    FdRef fds[] = { fd };
    TRY(sys::send_with_fds(socket, payload, fds));
    return {};
}

} // namespace

namespace {

Result<Launched> launch_in(Context const& ctx, CreateOptions const& options, LaunchMode mode,
                           RestoreLaunch const* restore, Container& container);

} // namespace

Result<Launched> launch(Context const& ctx, CreateOptions const& options, LaunchMode mode, RestoreLaunch const* restore)
{
    ensure_stdio_open();
    StateStore store(ctx.root);
    auto container = TRY(store.create(options.id));
    return launch_in(ctx, options, mode, restore, container)
        .context("{} {}", mode == LaunchMode::Restore ? "restore" : "create", options.id);
}

namespace {

Result<Launched> launch_in(Context const& ctx, CreateOptions const& options, LaunchMode mode,
                           RestoreLaunch const* restore, Container& container)
{
    ArmedScopeGuard remove_dir([&] {
        release_extras(container.dir());
        (void)sys::remove_all(container.dir());
    });

    ExtrasRun extras_run { .id = options.id, .state_dir = container.dir(), .bundle = options.bundle };
    if (restore && !restore->config_json.empty()) {
        // Before prepare_bundle, so that --image keeps this config as it keeps a bundle's.
        auto path = container.dir() + "/config.json";
        TRY(sys::write_file_atomic(path, restore->config_json, 0600).context("write {}", path));
        extras_run.bundle = container.dir();
    }
    TRY(prepare_bundle(ctx, options.extras, extras_run));
    auto bundle = TRY(real_path(extras_run.bundle, "bundle"));
    auto spec = TRY(oci::load_spec(bundle));
    TRY(amend_spec(ctx, options.extras, extras_run, spec));
    if (!spec.process)
        return Error::format("{}/config.json: process: required to create a container", bundle);
    if (restore && !restore->hostname.empty())
        spec.hostname = restore->hostname;
    auto rootfs_path = spec.root.path.starts_with('/') ? spec.root.path : bundle + "/" + spec.root.path;
    auto rootfs = TRY(real_path(rootfs_path, "rootfs"));
    if (!sys::stat(rootfs).has_value() || !S_ISDIR(sys::stat(rootfs)->st_mode))
        return Error::format("rootfs {}: Not a directory", rootfs);
    if (restore && restore->prepare_rootfs)
        TRY(restore->prepare_rootfs(container.dir(), rootfs));

    auto const& linux_config = spec.linux_config;
    auto namespaces = TRY(plan_namespaces(linux_config).context("{}/config.json", bundle));
    bool own_uts = (namespaces.clone_flags & CLONE_NEWUTS) != 0;
    if ((!spec.hostname.empty() || !spec.domainname.empty()) && !own_uts)
        return Error::format("{}/config.json: hostname: needs a new uts namespace", bundle);
    auto process = TRY(plan_process(*spec.process, linux_config).context("{}/config.json", bundle));
    for (auto const& cap : process.unknown_capabilities)
        log::warn("capability {} is unknown to this kernel: ignored", cap);

    std::optional<rootfs::SeccompProgram> seccomp;
    std::optional<rootfs::SeccompProfile> seccomp_profile;
    if (linux_config.seccomp) {
        seccomp_profile = TRY(to_seccomp_profile(*linux_config.seccomp).context("{}/config.json", bundle));
        seccomp = TRY(rootfs::compile(*seccomp_profile).context("compile seccomp filter"));
    }

    // Console: the pty master goes to --console-socket; without one there is nowhere to send it.
    Fd console_socket;
    Fd console_receiver; // our end when cryo itself holds the terminal (foreground run)
    if (process.terminal) {
        if (!options.console_socket.empty()) {
            console_socket = TRY(sys::connect_unix(options.console_socket).context("console socket"));
        } else if ((mode == LaunchMode::Run || mode == LaunchMode::Restore) && !options.detach) {
            auto [ours, theirs] = TRY(sys::seqpacket_pair());
            console_receiver = std::move(ours);
            console_socket = std::move(theirs);
        } else {
            return Error::make("process.terminal needs a console socket (--console-socket)");
        }
    }

    int listen_fds = listen_fds_from_env();
    int passed_fds = listen_fds + options.preserve_fds;
    TRY(check_passed_fds(passed_fds));

    // The cgroup, created before the init exists, so the init joins it before it runs
    // anything heavy.
    auto cgroup_path = linux_config.cgroups_path.empty() ? options.id : linux_config.cgroups_path;
    if (ctx.systemd_cgroup)
        cgroup_path = TRY(systemd_cgroup_path(linux_config.cgroups_path, options.id));
    auto manager = TRY(cgroup::Manager::open({ .path = cgroup_path }).context("cgroup"));
    auto resources = plan_cgroup_resources(linux_config);
    TRY(manager->create(resources).context("create cgroup {}", manager->path()));
    ArmedScopeGuard destroy_cgroup([&] { (void)manager->destroy(); });

    MountPlanInput mount_input {
        .rootfs = rootfs,
        .bundle = bundle,
        .no_pivot = options.no_pivot,
        .user_ns = namespaces.new_user,
        .cgroup_ns = namespaces.new_cgroup,
        .cgroup_paths = manager->paths(),
        .hierarchies = manager->hierarchies(),
        .is_file =
            [](std::string const& path) {
                auto st = sys::stat(path);
                return st.has_value() && !S_ISDIR(st->st_mode);
            },
        .exists = [](std::string const& path) { return sys::exists(path); },
    };
    auto mounts = TRY(plan_mounts(spec, mount_input).context("{}/config.json", bundle));

    auto join_handles = TRY(manager->open_join_handles().context("cgroup {}", manager->path()));

    ExecImage image;
    image.prepare(process.args, process.env, listen_fds);

    // The state, saved once the init is ready (until then `state` reports no container).
    auto& state = container.state();
    state.bundle = bundle;
    state.rootfs = rootfs;
    state.created = now_rfc3339();
    state.oci_version = spec.oci_version;
    state.annotations = spec.annotations;
    state.cgroup_path = manager->path();
    state.systemd_cgroup = ctx.systemd_cgroup;
    state.namespaces = namespaces.saved;
    state.poststart = spec.hooks.poststart;
    state.poststop = spec.hooks.poststop;

    InitConfig init;
    init.namespaces = &namespaces;
    init.cgroup_join = &join_handles;
    init.cloned_into_cgroup = join_handles.unified_dir.valid();
    init.wait_for_parent = namespaces.new_user;
    for (auto const& [type, path] : namespaces.joins)
        init.join_fds.emplace_back(type, TRY(sys::open_ns_path(path, type).context("namespace {}", path)));
    init.mounts = &mounts;
    init.process = &process;
    init.image = &image;
    init.seccomp = seccomp;
    init.hostname = spec.hostname;
    init.domainname = spec.domainname;
    init.new_uts = own_uts;
    init.sysctl.assign(linux_config.sysctl.begin(), linux_config.sysctl.end());
    init.has_runtime_hooks = !spec.hooks.prestart.empty() || !spec.hooks.create_runtime.empty();
    init.create_container_hooks = spec.hooks.create_container;
    init.start_container_hooks = spec.hooks.start_container;
    init.hook_state = container.oci_state();
    init.console_socket = std::move(console_socket);
    console_socket.reset();
    init.trampoline = TRY(make_exec_trampoline());
    init.passed_fds = passed_fds;
    init.no_new_keyring = options.no_new_keyring;
    init.lock_fd = container.lock_fd().get();
    if (mode == LaunchMode::Create) {
        auto fifo = container.exec_fifo_path();
        if (::mkfifo(fifo.c_str(), 0622) < 0)
            return Error::from_errno(fmt::format("mkfifo {}", fifo));
        init.exec_fifo = TRY(sys::open(fifo, O_PATH));
    }

    // Namespaces the parent arranges for its next child: a pid namespace given by path,
    // and a new time namespace whose offsets must be written before any process is in it.
    Fd restore_pid_ns;
    Fd restore_time_ns;
    auto restore_namespaces = [&] {
        if (restore_pid_ns)
            (void)sys::setns(restore_pid_ns, CLONE_NEWPID);
        if (restore_time_ns)
            (void)sys::setns(restore_time_ns, CLONE_NEWTIME);
        restore_pid_ns.reset();
        restore_time_ns.reset();
    };
    ScopeGuard restore_guard(restore_namespaces);
    if (!namespaces.pid_path.empty()) {
        restore_pid_ns = TRY(sys::open_ns(0, "pid"));
        auto target
            = TRY(sys::open_ns_path(namespaces.pid_path, CLONE_NEWPID).context("namespace {}", namespaces.pid_path));
        TRY(sys::setns(target, CLONE_NEWPID).context("join pid namespace {}", namespaces.pid_path));
    }
    if (namespaces.new_time) {
        restore_time_ns = TRY(sys::open_ns(0, "time"));
        TRY(sys::unshare(CLONE_NEWTIME).context("create time namespace"));
        if (restore && restore->time_offsets) {
            // The offsets the container had at checkpoint (they cannot change once a
            // process is in the namespace, so they are the config's of its create).
            if (!restore->time_offsets->empty())
                TRY(sys::write_file("/proc/self/timens_offsets", *restore->time_offsets)
                        .context("write time namespace offsets"));
        } else if (!linux_config.time_offsets.empty()) {
            auto text = TRY(time_offsets_text(linux_config.time_offsets));
            TRY(sys::write_file("/proc/self/timens_offsets", text).context("write time namespace offsets"));
        }
    }

    // Restore: the parked init takes files from cryo through this pidfd (same number there).
    Fd cryo_pidfd;
    if (mode == LaunchMode::Restore && restore && restore->files_pidfd.valid())
        cryo_pidfd = TRY(sys::dup(restore->files_pidfd).context("pidfd of the file holder"));
    else if (mode == LaunchMode::Restore)
        cryo_pidfd = TRY(sys::pidfd_open(::getpid()).context("pidfd of cryo"));

    auto [parent_end, child_end] = TRY(sys::seqpacket_pair());
    auto parent_joins = TRY(ParentJoins::enter(namespaces.parent_joins));
    auto cloned
        = TRY(sys::clone3({ .flags = static_cast<uint64_t>(namespaces.clone_flags),
                            .cgroup = join_handles.unified_dir.valid() ? join_handles.unified_dir.ref() : FdRef {} })
                  .context("clone container init"));
    if (cloned.is_child()) {
        parent_end.reset();
        SyncChannel channel(std::move(child_end));
        if (mode == LaunchMode::Restore)
            run_restore_init(init, channel, cryo_pidfd.get());
        run_init(init, channel);
    }
    restore_namespaces();
    parent_joins.leave();
    child_end.reset();
    init.console_socket.reset(); // the init's end; ours (if any) is console_receiver
    SyncChannel channel(std::move(parent_end));
    sys::ChildProcess child(cloned.pid, std::move(cloned.pidfd));
    pid_t pid = child.pid();
    state.init_pid = pid;
    state.init_start_time = TRY(process_start_time(pid).context("read start time of the init"));
    if (!process.terminal)
        state.stdio = TRY(stdio_identity());

    auto setup = [&]() -> Result<void> {
        if (namespaces.new_user) {
            auto uid_map = TRY(id_map_text(linux_config.uid_mappings).context("linux.uidMappings"));
            auto gid_map = TRY(id_map_text(linux_config.gid_mappings).context("linux.gidMappings"));
            TRY(sys::write_file(fmt::format("/proc/{}/uid_map", pid), uid_map).context("write uid_map"));
            TRY(sys::write_file(fmt::format("/proc/{}/gid_map", pid), gid_map).context("write gid_map"));
            TRY(channel.send(SyncStep::Proceed));
        }
        for (;;) {
            std::vector<Fd> fds;
            auto message = TRY(channel.receive(&fds));
            switch (message.step) {
            case SyncStep::RunHooks: {
                auto hs = hook_state_of(container, Status::Creating);
                TRY(run_hooks(spec.hooks.prestart, "prestart", hs));
                TRY(run_hooks(spec.hooks.create_runtime, "createRuntime", hs));
                TRY(channel.send(SyncStep::HooksDone));
                break;
            }
            case SyncStep::SeccompListener:
                if (fds.empty())
                    return Error::make("seccomp listener message without fd");
                TRY(send_seccomp_listener(seccomp_profile->listener_path, seccomp_profile->listener_metadata,
                                          fds.front(), container)
                        .context("send seccomp listener to {}", seccomp_profile->listener_path));
                TRY(channel.send(SyncStep::Proceed));
                break;
            case SyncStep::Ready:
                return {};
            case SyncStep::Error:
                return error_from_message(message);
            default:
                return Error::format("unexpected message {} from the init", sync_step_name(message.step));
            }
        }
    };
    auto result = setup();
    if (!result) {
        // The init may have died first and closed the channel; its own report wins.
        return result.release_error();
    }

    Fd console;
    if (console_receiver) {
        // The init sent the pty master before it reported ready.
        char name[64];
        std::vector<Fd> fds;
        TRY(sys::recv_with_fds(console_receiver, name, &fds).context("receive the console"));
        if (fds.empty())
            return Error::make("receive the console: no pty master");
        console = std::move(fds.front());
    }

    // Restore: saved as running under the lock; if the engine fails, the container goes.
    state.status = mode == LaunchMode::Create ? Status::Created : Status::Running;
    TRY(container.save());
    if (!options.pid_file.empty())
        TRY(replace_file(options.pid_file, fmt::format("{}", pid), 0644)
                .context("write pid file {}", options.pid_file));

    if (mode == LaunchMode::Create)
        channel.close();
    destroy_cgroup.disarm();
    remove_dir.disarm();
    return Launched {
        .container = std::move(container),
        .spec = std::move(spec),
        .cgroup = std::move(manager),
        .init = std::move(child),
        .channel = std::move(channel),
        .console = std::move(console),
        .cryo_pidfd = std::move(cryo_pidfd),
    };
}

} // namespace

} // namespace cryo::runtime
