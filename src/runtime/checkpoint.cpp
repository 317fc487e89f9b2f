// checkpoint: a container's image, written by the checkpoint engine (checkpoint/dump.h) from
// its init's tree, plus what a container restore needs (container.json: the config, saved
// state, hostname, time namespace offsets; namespace state; rootfs-diff.tar for overlay
// roots). Then the container stops, or runs on (--leave-running). Every failure leaves it
// as it was: running (or paused, if it was), never held frozen.
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/log.h"
#include "base/scope_guard.h"
#include "cgroup/manager.h"
#include "checkpoint/dump.h"
#include "checkpoint/image.h"
#include "checkpoint/ns_state.h"
#include "image/overlay.h"
#include "runtime/api.h"
#include "runtime/checkpoint_image.h"
#include "runtime/extras.h"
#include "runtime/extras_image.h"
#include "runtime/state_store.h"
#include "sys/clone.h"
#include "sys/file.h"
#include "sys/ns.h"
#include "sys/process.h"
#include "sys/procfs.h"

namespace cryo::runtime {

Result<CgroupsMode> parse_cgroups_mode(std::string_view text)
{
    if (text == "soft")
        return CgroupsMode::Soft;
    if (text == "full")
        return CgroupsMode::Full;
    if (text == "strict")
        return CgroupsMode::Strict;
    if (text == "ignore")
        return CgroupsMode::Ignore;
    return Error::format("invalid --manage-cgroups-mode {:?} (soft, full, strict or ignore)", text);
}

Result<std::string> absolute_image_path(std::string const& path)
{
    if (!path.empty() && path.starts_with('/'))
        return path;
    char cwd[4096];
    if (!::getcwd(cwd, sizeof cwd))
        return Error::from_errno("getcwd");
    return fmt::format("{}/{}", cwd, path.empty() ? "checkpoint" : path);
}

namespace {

// The uts name the container has now (it may have changed its hostname since create): read
// by a short-lived child that joins its uts namespace.
Result<std::string> read_hostname(int pid)
{
    auto ns = TRY(sys::open_ns_path(fmt::format("/proc/{}/ns/uts", pid), CLONE_NEWUTS));
    auto [reader, writer] = TRY(sys::pipe(O_CLOEXEC));
    auto child = TRY(sys::fork_with_pidfd());
    if (child.is_child()) {
        struct utsname name { };
        if (!sys::setns(ns, CLONE_NEWUTS) || ::uname(&name) < 0)
            sys::exit_now(1);
        (void)sys::write(writer, name.nodename, std::strlen(name.nodename));
        sys::exit_now(0);
    }
    writer.reset();
    sys::ChildProcess process(child.pid, std::move(child.pidfd));
    std::string out;
    char buffer[256];
    for (;;) {
        auto got = TRY(sys::read(reader, buffer, sizeof buffer));
        if (got == 0)
            break;
        out.append(buffer, got);
    }
    int status = TRY(process.wait());
    if (sys::exit_code_of(status) != 0)
        return Error::format("read the hostname of process {}", pid);
    return out;
}

// The engine dumps the init's tree; a process of the container outside it (an exec'd
// process whose parent, `cryo exec`, still waits outside) would be lost: refuse it by name.
Result<void> refuse_outside_tree(int init_pid, std::vector<pid_t> const& cgroup_pids)
{
    std::vector<pid_t> tree { init_pid };
    for (size_t i = 0; i < tree.size() && i < 65536; ++i) {
        auto tids = sys::list_threads(tree[i]);
        if (!tids)
            continue; // exited meanwhile
        for (auto tid : *tids)
            if (auto children = sys::list_children(tree[i], tid))
                tree.insert(tree.end(), children->begin(), children->end());
    }
    for (auto pid : cgroup_pids) {
        if (std::find(tree.begin(), tree.end(), pid) != tree.end() || !sys::exists(fmt::format("/proc/{}", pid)))
            continue;
        return Error::format("process {} is in the container but not a descendant of its init (an exec'd process "
                             "still attached to its caller?): not supported yet",
                             pid);
    }
    return {};
}

// The cgroup's limits as they are now (`update` may have changed the config's).
Result<CgroupProperties> read_cgroup_properties(cgroup::Manager& manager)
{
    CgroupProperties properties;
    bool v2 = manager.version() == cgroup::Version::V2;
    for (auto const& [controller, dir] : manager.paths()) {
        for (auto file : cgroup_property_files(v2 ? "" : controller)) {
            auto path = fmt::format("{}/{}", dir, file);
            if (!sys::exists(path))
                continue; // not on this kernel (memsw without swap accounting)
            auto value = TRY(sys::read_file(path).context("read {}", path));
            while (!value.empty() && value.back() == '\n')
                value.pop_back();
            properties[fmt::format("{}/{}", v2 ? "" : controller, file)] = value;
        }
    }
    return properties;
}

// Everything besides the processes, written while they are frozen.
Result<void> write_container_files(checkpoint::ImageWriter& writer, Container const& container,
                                   std::string const& config_text, std::string const& hostname,
                                   std::optional<std::string> const& time_offsets,
                                   std::optional<std::string> const& uid_map, std::optional<std::string> const& gid_map,
                                   std::optional<CgroupProperties> const& cgroup_properties)
{
    auto const& state = container.state();
    ContainerImageInfo info;
    info.id = state.id;
    info.bundle = state.bundle;
    info.rootfs = state.rootfs;
    info.created = state.created;
    info.annotations = state.annotations;
    info.cgroup_path = state.cgroup_path;
    info.namespaces = state.namespaces;
    info.hostname = hostname;
    info.time_offsets = time_offsets;
    info.uid_map = uid_map;
    info.gid_map = gid_map;
    info.stdio_marked = state.stdio.has_value();
    auto use = TRY(read_image_use(container.dir()));
    if (use) {
        info.image = use->image;
        info.disk_limit = use->disk_limit;
    }
    TRY(writer.write_file(k_container_config_name, config_text));
    TRY(writer.write_file(k_container_info_name, encode_container_info(info)));
    if (cgroup_properties)
        TRY(writer.write_file(k_cgroup_props_name, encode_cgroup_properties(*cgroup_properties)));
    // podman restores only from a directory holding CRIU's inventory.img (it stats the file,
    // never reads it): a marker, so `podman container restore` reaches `cryo restore`.
    TRY(writer.write_file("inventory.img", "cryo checkpoint image: see manifest.json\n"));
    TRY(checkpoint_extras(container.dir(), writer)); // cryo's own options: the network (network.json)
    auto own = [&](char const* name) {
        auto it = state.namespaces.find(name);
        return it != state.namespaces.end() && it->second.empty();
    };
    if (own("ipc"))
        TRY(checkpoint::dump_ipc_namespace(state.init_pid, writer.temp_dir() + "/ipc").context("ipc namespace"));
    if (own("network"))
        TRY(checkpoint::dump_net_namespace(state.init_pid, writer.temp_dir() + "/net").context("network namespace"));
    // An overlay root from cryo's image store: its upper layer travels with the image.
    if (use && sys::exists(use->upper)) {
        auto out = TRY(
            sys::open(writer.temp_dir() + "/" + k_rootfs_diff_name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
        TRY(image::export_changes(use->upper, out).context("rootfs changes"));
    }
    return {};
}

void append_log(std::string const& work_path, std::string const& name, std::string const& text)
{
    if (work_path.empty())
        return;
    (void)sys::mkdir_all(work_path, 0755);
    auto fd = sys::open(work_path + "/" + name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd)
        (void)sys::write(*fd, text.data(), text.size());
}

} // namespace

Result<void> checkpoint(Context const& ctx, CheckpointOptions const& options)
{
    auto const& id = options.id;
    StateStore store(ctx.root);
    auto container = TRY(store.open(id));
    TRY(container.require_status("checkpoint", { Status::Running, Status::Paused }));
    auto& state = container.state();
    auto pid_ns = state.namespaces.find("pid");
    if (pid_ns == state.namespaces.end() || !pid_ns->second.empty())
        return Error::format("checkpoint {}: only a container with its own pid namespace can be checkpointed", id);
    std::optional<std::string> uid_map, gid_map;
    if (auto user = state.namespaces.find("user"); user != state.namespaces.end()) {
        if (!user->second.empty())
            return Error::format("checkpoint {}: a container joining another's user namespace is not supported yet",
                                 id);
        uid_map = TRY(
            sys::read_file(fmt::format("/proc/{}/uid_map", state.init_pid)).context("checkpoint {}: uid map", id));
        gid_map = TRY(
            sys::read_file(fmt::format("/proc/{}/gid_map", state.init_pid)).context("checkpoint {}: gid map", id));
    }
    auto image_path = TRY(absolute_image_path(options.image_path));
    auto config_text = TRY(sys::read_file(state.bundle + "/config.json").context("checkpoint {}: config", id));
    auto manager = TRY(cgroup::Manager::open({ .path = state.cgroup_path }).context("checkpoint {}: cgroup", id));
    auto cgroup_pids = TRY(manager->pids());
    TRY(refuse_outside_tree(state.init_pid, cgroup_pids).context("checkpoint {}", id));
    // --manage-cgroups-mode ignore: the image carries no cgroup properties (as CRIU's).
    std::optional<CgroupProperties> cgroup_properties;
    if (options.cgroups_mode != CgroupsMode::Ignore)
        cgroup_properties = TRY(read_cgroup_properties(*manager).context("checkpoint {}: cgroup", id));

    std::string hostname;
    if (auto uts = state.namespaces.find("uts"); uts != state.namespaces.end() && uts->second.empty())
        hostname = TRY(read_hostname(state.init_pid).context("checkpoint {}: hostname", id));
    std::optional<std::string> time_offsets;
    if (auto time = state.namespaces.find("time"); time != state.namespaces.end() && time->second.empty())
        time_offsets = TRY(sys::read_file(fmt::format("/proc/{}/timens_offsets", state.init_pid))
                               .context("checkpoint {}: time namespace offsets", id));

    // A paused container (containerd pauses before it checkpoints) is thawed for the dump:
    // the engine's ptrace stops cannot land in tasks the freezer holds. It is frozen again
    // afterwards if it runs on; a failure never leaves it frozen unless it was paused before.
    bool was_paused = container.status() == Status::Paused;
    if (was_paused)
        TRY(manager->thaw().context("checkpoint {}: thaw", id));
    ScopeGuard refreeze([&] {
        if (was_paused && container.status() != Status::Stopped)
            (void)manager->freeze();
    });

    checkpoint::DumpOptions dump;
    dump.pid = state.init_pid;
    dump.images_dir = image_path;
    dump.leave_running = options.leave_running;
    dump.tcp_established = options.tcp_established;
    dump.ext_unix_sk = options.ext_unix_sk;
    // runc (through CRIU) refuses a tree holding file locks unless --file-locks asks for them;
    // the engine does the same, naming the process and the lock.
    dump.file_locks = options.file_locks;
    dump.runtime_stdio = state.stdio;
    auto while_frozen = [&](checkpoint::ImageWriter& writer) {
        return write_container_files(writer, container, config_text, hostname, time_offsets, uid_map, gid_map,
                                     cgroup_properties);
    };
    if (char const* inject = ::getenv("CRYO_TEST_CHECKPOINT_FAILURE"))
        dump.inject_failure = inject; // tests prove a failed dump leaves the container running
    auto stats = checkpoint::dump(dump, while_frozen);
    if (!stats) {
        append_log(options.work_path, "dump.log", fmt::format("checkpoint {}: {}\n", id, stats.error().message()));
        return stats.release_error().add_context(fmt::format("checkpoint {}", id));
    }
    checkpoint::log_dump_stats(fmt::format("checkpoint {}", id), *stats);
    append_log(
        options.work_path, "dump.log",
        fmt::format("checkpoint {} into {}: {} process(es), {} threads, {} pages; frozen {:.1f} ms, total {:.1f} ms\n",
                    id, image_path, stats->processes, stats->threads, stats->pages, stats->frozen_ms, stats->total_ms));
    if (options.status_fd >= 0) {
        char zero = 0;
        (void)sys::write(FdRef(options.status_fd), &zero, 1);
    }
    if (options.leave_running)
        return {};
    // The engine killed the tree; whatever else is in the cgroup goes too.
    (void)manager->kill_all(SIGKILL);
    state.status = Status::Stopped;
    TRY(container.save().context("checkpoint {}", id));
    return {};
}

} // namespace cryo::runtime
