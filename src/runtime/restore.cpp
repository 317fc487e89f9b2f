// restore: a container comes back from its checkpoint image. The runtime sets the container
// up again from its config through the launch path (namespaces of the same kinds, cgroup with
// its limits, rootfs mounts, the hostname and time offsets it had, console or stdio), with an
// init that parks instead of exec'ing (LaunchMode::Restore); the engine then rebuilds the
// image's init in it and forks the rest of the tree inside the new pid namespace with their
// pids. The container is `running` without `start`. A failure leaves nothing behind.
#include <chrono>
#include <csignal>
#include <cstdint>
#include <sys/prctl.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "base/log.h"
#include "base/scope_guard.h"
#include "cgroup/manager.h"
#include "checkpoint/image.h"
#include "checkpoint/ns_state.h"
#include "checkpoint/restore.h"
#include "image/extract.h"
#include "image/overlay.h"
#include "image/store.h"
#include "runtime/api.h"
#include "runtime/checkpoint_image.h"
#include "runtime/extras.h"
#include "runtime/extras_image.h"
#include "runtime/launch.h"
#include "runtime/restore_init.h"
#include "runtime/wait.h"
#include "sys/file.h"
#include "sys/idmap.h"
#include "sys/mounts.h"

namespace cryo::runtime {

namespace {

void append_restore_log(std::string const& work_path, std::string const& text)
{
    if (work_path.empty())
        return;
    (void)sys::mkdir_all(work_path, 0755);
    auto fd = sys::open(work_path + "/restore.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd)
        (void)sys::write(*fd, text.data(), text.size());
}

// What the restore takes from --bundle and what from the image (plan_restore_rootfs).
struct RestoreSources {
    RestoreRootfsPlan plan;
    std::string config_json; // the saved config, root.path made absolute (config from the image)
    std::string cgroups_path; // the config's linux.cgroupsPath ("" = none)
    bool new_user_ns { false }; // the config asks for a new user namespace
};

bool non_empty_dir(std::string const& path)
{
    auto st = sys::stat(path);
    if (!st || !S_ISDIR(st->st_mode))
        return false;
    auto entries = sys::list_dir(path);
    return entries && !entries->empty();
}

Result<RestoreSources> find_sources(checkpoint::ImageReader& image, ContainerImageInfo const& info,
                                    std::string const& image_path, std::string const& bundle)
{
    RestoreBundleFacts facts;
    facts.has_config = sys::exists(bundle + "/config.json");
    facts.image_has_diff = sys::exists(image_path + "/" + k_rootfs_diff_name);
    std::string config_text;
    if (facts.has_config)
        config_text = TRY(sys::read_file(bundle + "/config.json").context("{}/config.json", bundle));
    else
        config_text = TRY(image.read_file(k_container_config_name).context("image {}", image_path));
    std::string root_path;
    std::string cgroups_path;
    bool new_user_ns = false;
    nlohmann::json config;
    try {
        config = nlohmann::json::parse(config_text);
        root_path = config.at("root").at("path").get<std::string>();
        if (config.contains("linux") && config["linux"].contains("cgroupsPath"))
            cgroups_path = config["linux"]["cgroupsPath"].get<std::string>();
        if (config.contains("linux") && config["linux"].contains("namespaces"))
            for (auto const& ns : config["linux"]["namespaces"])
                new_user_ns |= ns.value("type", "") == "user" && ns.value("path", "").empty();
    } catch (std::exception const& e) {
        return Error::format("{}: root.path: {}", facts.has_config ? bundle + "/config.json" : "saved config.json",
                             e.what());
    }
    if (!root_path.starts_with('/'))
        root_path = bundle + "/" + root_path;
    facts.has_rootfs = non_empty_dir(root_path);
    RestoreSources sources { .plan = plan_restore_rootfs(info, facts),
                             .config_json = {},
                             .cgroups_path = cgroups_path,
                             .new_user_ns = new_user_ns };
    if (sources.plan.config == RestoreConfigSource::Image) {
        // The state dir becomes the bundle: a relative root.path still means --bundle's.
        config["root"]["path"] = root_path;
        sources.config_json = config.dump(1) + "\n";
    }
    return sources;
}

// rootfs-diff.tar (an OCI layer: .wh.NAME deletes NAME, .wh..wh..opq empties its directory)
// applied onto a plain directory tree, as a layer is flattened. Every path resolves inside
// `rootfs`, so an entry cannot reach outside it.
Result<void> apply_diff_to_tree(std::string const& tar_path, std::string const& rootfs)
{
    auto root = TRY(sys::open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC).context("open {}", rootfs));
    std::vector<std::string> names;
    {
        auto tar = TRY(sys::open(tar_path, O_RDONLY | O_CLOEXEC).context("open {}", tar_path));
        names = TRY(image::list_archive(tar, SIZE_MAX).context("read {}", tar_path));
    }
    constexpr std::string_view whiteout = ".wh.";
    constexpr std::string_view opaque = ".wh..wh..opq";
    auto split = [](std::string const& name) {
        auto slash = name.rfind('/');
        if (slash == std::string::npos)
            return std::pair<std::string, std::string>(".", name);
        return std::pair<std::string, std::string>(name.substr(0, slash), name.substr(slash + 1));
    };
    auto open_parent = [&](std::string const& dir) -> Result<std::optional<Fd>> {
        auto parent = sys::openat2(root, dir.c_str(), O_PATH | O_DIRECTORY, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
        if (parent.is_error() && parent.error().is_errno(ENOENT))
            return std::optional<Fd>();
        return std::optional<Fd>(TRY(std::move(parent).context("open {} in {}", dir, rootfs)));
    };
    // Deletions first: the archive never holds both NAME and .wh.NAME in one directory, and
    // an opaque directory's own entries come back with the extraction below.
    for (auto const& name : names) {
        auto [dir, base] = split(name);
        if (!base.starts_with(whiteout))
            continue;
        auto parent = TRY(open_parent(dir));
        if (!parent)
            continue;
        auto under = [&](std::string const& entry) { return fmt::format("/proc/self/fd/{}/{}", parent->get(), entry); };
        if (base == opaque) {
            for (auto const& entry : TRY(sys::list_dir(under(".")).context("read {}", dir)))
                TRY(sys::remove_all(under(entry)).context("empty {}", dir));
        } else {
            TRY(sys::remove_all(under(base.substr(whiteout.size())))
                    .context("delete {}/{}", dir, base.substr(whiteout.size())));
        }
    }
    {
        auto tar = TRY(sys::open(tar_path, O_RDONLY | O_CLOEXEC).context("open {}", tar_path));
        TRY(image::extract_archive(tar, root, image::ExtractOptions { .whiteouts = image::Whiteouts::Literal })
                .context("unpack {}", tar_path));
    }
    // The markers came out as empty files: they are not part of the tree.
    for (auto const& name : names) {
        auto [dir, base] = split(name);
        if (!base.starts_with(whiteout))
            continue;
        if (auto parent = TRY(open_parent(dir)))
            (void)sys::remove_all(fmt::format("/proc/self/fd/{}/{}", parent->get(), base));
    }
    return {};
}

// An --image container's new overlay (mounted by launch from the store's image) gets the
// image's upper-layer changes: unmounted for that (overlayfs leaves changes to a mounted
// upper dir undefined), the changes unpacked into its upper dir, mounted again.
Result<void> apply_diff_to_overlay(std::string const& tar_path, std::string const& state_dir)
{
    auto use = TRY(read_image_use(state_dir));
    if (!use)
        return Error::format("{}: no overlay root was set up", state_dir);
    auto store = TRY(image::Store::open(use->store));
    image::ImageRecord record;
    {
        auto lock = TRY(store.lock(sys::LockKind::Shared));
        record = TRY(store.read_image(use->image));
    }
    auto mounts = TRY(image::plan_container_rootfs(store, record, state_dir, use->disk_mount));
    TRY(image::unmount_rootfs(mounts.target));
    auto tar = TRY(sys::open(tar_path, O_RDONLY | O_CLOEXEC).context("open {}", tar_path));
    TRY(image::apply_changes(tar, mounts.upper_dir));
    TRY(image::mount_rootfs(mounts));
    return {};
}

// Whether the cgroup launch will use exists already (--manage-cgroups-mode soft and strict
// depend on it). Under --systemd-cgroup the path is systemd's: treated as new.
Result<bool> cgroup_exists(Context const& ctx, std::string const& cgroups_path, std::string const& id)
{
    if (ctx.systemd_cgroup)
        return false;
    auto manager = TRY(cgroup::Manager::open({ .path = cgroups_path.empty() ? id : cgroups_path }));
    for (auto const& [controller, dir] : manager->paths())
        if (sys::exists(dir))
            return true;
    return false;
}

// The saved properties written over the config's limits. A write the kernel refuses because
// of another one's value (v1 memsw below the new limit) is retried once the others are in.
Result<void> apply_cgroup_properties(cgroup::Manager& manager, CgroupProperties const& properties)
{
    auto paths = manager.paths();
    std::vector<std::pair<std::string, std::string>> pending;
    // In cgroup_property_files order, not the map's alphabetical one.
    for (auto const& [controller, dir] : paths) {
        bool v2 = manager.version() == cgroup::Version::V2;
        for (auto file : cgroup_property_files(v2 ? "" : controller)) {
            auto it = properties.find(fmt::format("{}/{}", v2 ? "" : controller, file));
            if (it != properties.end())
                pending.emplace_back(fmt::format("{}/{}", dir, file), it->second);
        }
    }
    for (int round = 0; round < 2 && !pending.empty(); ++round) {
        std::vector<std::pair<std::string, std::string>> failed;
        for (auto const& [path, value] : pending) {
            auto written = sys::write_file(path, value);
            if (written.is_error()) {
                if (round == 1)
                    return written.release_error().add_context(fmt::format("write {:?} to {}", value, path));
                failed.emplace_back(path, value);
            }
        }
        pending = std::move(failed);
    }
    return {};
}

// The image's ids are the host's: the restored container's new user namespace must map them
// as the checkpointed one did (the config's mappings), else credentials would change meaning.
Result<void> check_id_maps(ContainerImageInfo const& info, Container const& container)
{
    auto const& state = container.state();
    bool had_user = info.namespaces.contains("user");
    bool has_user = state.namespaces.contains("user");
    if (had_user != has_user)
        return Error::format("the image's container {} a user namespace, the config {}", had_user ? "had" : "had no",
                             has_user ? "asks for one" : "has none");
    if (!had_user || !info.uid_map || !info.gid_map)
        return {};
    for (auto [kind, saved] : { std::pair { "uid_map", &*info.uid_map }, std::pair { "gid_map", &*info.gid_map } }) {
        auto now = TRY(sys::read_file(fmt::format("/proc/{}/{}", state.init_pid, kind)));
        if (TRY(sys::parse_id_map(now)) != TRY(sys::parse_id_map(*saved)))
            return Error::format("linux.{}: the new user namespace maps other ids than the checkpointed one",
                                 kind == std::string_view("uid_map") ? "uidMappings" : "gidMappings");
    }
    return {};
}

// Rebuilds the tree into the parked init; undoes the whole container on failure.
// A namespace whose saved state is what a new one has already needs no restore (the
// common case: no SysV objects, loopback down); its file is read to know.
bool state_is_fresh(std::string const& path, bool (*is_fresh)(std::string_view))
{
    auto text = sys::read_file(path);
    return text && is_fresh(*text);
}

// `namespaces_ms`: the time spent restoring namespace state (part of the engine's total).
Result<void> restore_into(Launched& launched, std::string const& image_path, ContainerImageInfo const& info,
                          double& namespaces_ms)
{
    auto timed = [&](auto&& step) -> Result<void> {
        auto t = std::chrono::steady_clock::now();
        auto result = step();
        namespaces_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
        return result;
    };
    auto& container = launched.container;
    auto const& state = container.state();
    auto own = [&](char const* name) {
        auto it = state.namespaces.find(name);
        return it != state.namespaces.end() && it->second.empty();
    };
    int init_pid = launched.init.pid();
    TRY(check_id_maps(info, container));
    checkpoint::RestoreInto into {
        .into_pid = init_pid,
        .into_cryo_pidfd = launched.cryo_pidfd.get(),
        .stdio_marked = info.stdio_marked,
        // Namespace state the image carries, into the fresh namespaces: the network's before
        // the files (sockets bind to its addresses), SysV IPC before any restored process runs.
        .before_files = [&]() -> Result<void> {
            if (own("network") && info.namespaces.contains("network") && sys::exists(image_path + "/net")
                && !state_is_fresh(image_path + "/net/net.json", net_state_is_fresh))
                return timed([&] { return checkpoint::restore_net_namespace(init_pid, image_path + "/net"); })
                    .context("network namespace");
            return {};
        },
        .before_resume = [&]() -> Result<void> {
            if (own("ipc") && info.namespaces.contains("ipc") && sys::exists(image_path + "/ipc")
                && !state_is_fresh(image_path + "/ipc/ipc.json", ipc_state_is_fresh))
                return timed([&] { return checkpoint::restore_ipc_namespace(init_pid, image_path + "/ipc"); })
                    .context("ipc namespace");
            return {};
        },
    };
    auto restored = TRY(checkpoint::restore({ .images_dir = image_path }, &into));
    checkpoint::log_restore_stats(fmt::format("restore {}", container.id()), init_pid, restored.stats);
    return {};
}

} // namespace

Result<int> restore(Context const& ctx, ContainerRestoreOptions const& options)
{
    auto const& id = options.create.id;
    auto start = std::chrono::steady_clock::now();
    auto ms_since = [](std::chrono::steady_clock::time_point t) {
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
    };
    auto image_path = TRY(absolute_image_path(options.image_path));
    // The image first: a missing or corrupt one fails before anything is created.
    auto image = TRY(checkpoint::ImageReader::open(image_path).context("restore {}", id));
    auto info_text = TRY(image.read_file(k_container_info_name).context("restore {}: image {}", id, image_path));
    auto info = TRY(decode_container_info(info_text).context("restore {}: image {}", id, image_path));
    auto pid_ns = info.namespaces.find("pid");
    if (pid_ns == info.namespaces.end() || !pid_ns->second.empty())
        return Error::format("restore {}: image {} is not of a container with its own pid namespace", id, image_path);

    auto create = options.create;
    create.extras = {}; // cryo's own create options do not apply to a restore
    // ... except those the image carries (the network), set up again by the launch.
    TRY(restore_extras(image, options.create.extras, create.extras).context("restore {}: image {}", id, image_path));
    auto sources = TRY(find_sources(image, info, image_path, create.bundle).context("restore {}", id));
    auto diff = image_path + "/" + k_rootfs_diff_name;
    if (sources.plan.rootfs == RestoreRootfs::ImageOverlay) {
        // The overlay root again, from this machine's store (CRYO_STORE), as --image makes it.
        create.extras.image = info.image;
        if (info.disk_limit)
            create.extras.disk_limit = fmt::format("{}", info.disk_limit);
    }
    if (!create.no_subreaper && !create.detach)
        ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    SignalForwarder forwarder;
    if (!create.detach)
        TRY(forwarder.block());

    // --manage-cgroups-mode: decided before launch creates (or reuses) the cgroup.
    bool cgroup_existed = TRY(cgroup_exists(ctx, sources.cgroups_path, id).context("restore {}: cgroup", id));
    auto cgroup_plan = TRY(plan_cgroup_restore(options.cgroups_mode, cgroup_existed).context("restore {}", id));
    std::optional<CgroupProperties> saved_properties;
    if (cgroup_plan == CgroupRestore::SavedProperties && sys::exists(image_path + "/" + k_cgroup_props_name)) {
        auto text = TRY(image.read_file(k_cgroup_props_name).context("restore {}: image {}", id, image_path));
        saved_properties = TRY(decode_cgroup_properties(text).context("restore {}: image {}", id, image_path));
    }
    std::optional<FileHolder> holder;
    if (sources.new_user_ns)
        holder = TRY(FileHolder::start().context("restore {}", id));
    RestoreLaunch restore_launch {
        .hostname = info.hostname,
        .time_offsets = info.time_offsets,
        .config_json = sources.config_json,
        .prepare_rootfs = [&](std::string const& state_dir, std::string const& rootfs) -> Result<void> {
            if (sources.plan.rootfs == RestoreRootfs::ImageOverlay && sys::exists(diff))
                return apply_diff_to_overlay(diff, state_dir).context("rootfs changes");
            if (sources.plan.rootfs == RestoreRootfs::BundleDiff)
                return apply_diff_to_tree(diff, rootfs).context("rootfs changes onto {}", rootfs);
            return {};
        },
        .files_pidfd = holder ? holder->pidfd() : FdRef {},
    };
    double prepare_ms = ms_since(start);
    auto launch_start = std::chrono::steady_clock::now();
    auto launched = TRY(launch(ctx, create, LaunchMode::Restore, &restore_launch));
    double launch_ms = ms_since(launch_start);
    auto engine_start = std::chrono::steady_clock::now();
    double namespaces_ms = 0;
    auto& container = launched.container;
    auto restored = [&]() -> Result<void> {
        if (holder)
            TRY(holder->enter_user_ns(launched.init.pid()));
        if (saved_properties)
            TRY(apply_cgroup_properties(*launched.cgroup, *saved_properties)
                    .context("cgroup {}", launched.cgroup->path()));
        return restore_into(launched, image_path, info, namespaces_ms);
    }();
    if (!restored) {
        append_restore_log(options.work_path,
                           fmt::format("restore {} from {}: {}\n", id, image_path, restored.error().message()));
        (void)::kill(launched.init.pid(), SIGKILL);
        (void)launched.init.wait();
        (void)launched.cgroup->kill_all(SIGKILL);
        (void)launched.cgroup->destroy();
        release_extras(container.dir()); // the network (veth, lease, rules), an overlay root
        (void)container.destroy();
        return restored.release_error().add_context(fmt::format("restore {}", id));
    }
    launched.cryo_pidfd.reset();
    holder.reset(); // the restored processes closed their pidfd of it
    // Where the time goes (bench/cr_container.sh compares the total with a bare restore).
    auto figures = fmt::format("restore {} from {}: init pid {}; image and plans {:.1f} ms, launch {:.1f} ms, "
                               "engine {:.1f} ms (namespace state {:.1f} ms), total {:.1f} ms",
                               id, image_path, launched.init.pid(), prepare_ms, launch_ms, ms_since(engine_start),
                               namespaces_ms, ms_since(start));
    log::debug("{}", figures);
    append_restore_log(options.work_path, figures + "\n");
    if (create.detach) {
        launched.init.release();
        return 0;
    }
    container.unlock();
    int status = TRY(forwarder.wait_for(launched.init, launched.console));
    StateStore store(ctx.root);
    if (auto reopened = store.open(id)) {
        auto removed = delete_stopped(*reopened, *launched.cgroup);
        if (!removed)
            log::warn("restore {}: {}", id, removed.error().message());
    }
    return sys::exit_code_of(status);
}

} // namespace cryo::runtime
