#include "rootfs/mounts.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/scope_guard.h"
#include "rootfs/resolve.h"
#include "sys/file.h"
#include "sys/mounts.h"

namespace cryo::rootfs {

namespace {

// Turns "mount: EPERM" from the classic mount wrapper into "mount proc on /proc: EPERM"
// (the user-facing wording); other errors keep their syscall name and gain the frame.
template<typename T>
Result<T> named(Result<T>&& result, std::string_view source, std::string_view destination)
{
    if (!result.is_error())
        return std::move(result);
    auto& error = result.error();
    auto what = fmt::format("mount {} on {}", source.empty() ? "none" : source, destination);
    if (error.frames().size() == 1 && error.frames().front() == "mount")
        return Error::from_errno(error.code(), std::move(what));
    error.add_context(std::move(what));
    return std::move(result);
}

// MS_* flags that have a per-mount (mount_setattr) equivalent; the superblock flags
// (sync, dirsync, mand) cannot change through a bind and are ignored there, like runc.
struct MountAttr {
    uint64_t set { 0 };
    uint64_t clear { 0 };
};

MountAttr mount_attr_of(unsigned long flags, unsigned long clear_flags)
{
    MountAttr attr;
    auto map = [&](unsigned long ms, uint64_t ma) {
        if (flags & ms)
            attr.set |= ma;
        if (clear_flags & ms)
            attr.clear |= ma;
    };
    map(MS_RDONLY, MOUNT_ATTR_RDONLY);
    map(MS_NOSUID, MOUNT_ATTR_NOSUID);
    map(MS_NODEV, MOUNT_ATTR_NODEV);
    map(MS_NOEXEC, MOUNT_ATTR_NOEXEC);
    map(MS_NODIRATIME, MOUNT_ATTR_NODIRATIME);
    map(MS_NOSYMFOLLOW, MOUNT_ATTR_NOSYMFOLLOW);
    // The atime mode is one field: setting it means clearing MOUNT_ATTR__ATIME first (see
    // mount_setattr(2)); "atime"/"norelatime" alone leave the source's mode.
    if (flags & (MS_NOATIME | MS_RELATIME | MS_STRICTATIME)) {
        attr.clear |= MOUNT_ATTR__ATIME;
        if (flags & MS_NOATIME)
            attr.set |= MOUNT_ATTR_NOATIME;
        else if (flags & MS_RELATIME)
            attr.set |= MOUNT_ATTR_RELATIME;
        else
            attr.set |= MOUNT_ATTR_STRICTATIME;
    }
    return attr;
}

// Clones `source` (a tree with rbind), sets its attributes while still detached, then
// attaches it on `target`. Returns the tree fd, which then names the attached mount.
Result<Fd> bind_tree(FdRef source_dir, char const* source_path, FdRef target, MountStep const& step)
{
    Fd cloned;
    FdRef tree = step.prepared_tree;
    if (!tree.valid()) {
        if (step.idmap)
            return Error::make("an idmapped mount needs a tree prepared by the parent (make_idmapped_tree)");
        unsigned tree_flags = OPEN_TREE_CLONE;
        if (step.bind == BindKind::Rbind)
            tree_flags |= AT_RECURSIVE;
        if (*source_path == '\0')
            tree_flags |= AT_EMPTY_PATH;
        cloned = TRY(sys::open_tree(source_dir, source_path, tree_flags));
        tree = cloned;
    }
    auto attr = mount_attr_of(step.flags, step.clear_flags);
    if (attr.set || attr.clear)
        TRY(sys::mount_setattr(tree, "", AT_EMPTY_PATH, attr.set, attr.clear));
    if (step.recursive_attr_set || step.recursive_attr_clear) {
        TRY(sys::mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, step.recursive_attr_set,
                               step.recursive_attr_clear));
    }
    TRY(sys::move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH));
    if (cloned.valid())
        return cloned;
    return TRY(sys::dup(tree));
}

Result<void> set_propagation(FdRef mount_root, PropagationSetting propagation)
{
    if (propagation.type == Propagation::Unchanged)
        return {};
    return sys::mount_on_fd(nullptr, mount_root, nullptr, propagation_flags(propagation), nullptr);
}

// Copies a directory's content (tmpcopyup): files, dirs, symlinks, with modes and owners.
Result<void> copy_tree(FdRef from, FdRef to)
{
    auto listing = TRY(sys::openat(from, ".", O_RDONLY | O_DIRECTORY));
    DIR* dir = ::fdopendir(listing.get());
    if (!dir)
        return Error::from_errno("fdopendir");
    (void)listing.release(); // owned by dir now
    ScopeGuard close_dir([&] { ::closedir(dir); });
    while (auto* entry = ::readdir(dir)) {
        std::string_view name = entry->d_name;
        if (name == "." || name == "..")
            continue;
        struct stat st { };
        if (::fstatat(from.get(), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            return Error::from_errno(fmt::format("stat {}", name));
        if (S_ISDIR(st.st_mode)) {
            TRY(sys::mkdirat(to, entry->d_name, st.st_mode & 07777));
            auto sub_from = TRY(sys::openat(from, entry->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
            auto sub_to = TRY(sys::openat(to, entry->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
            TRY(copy_tree(sub_from, sub_to));
        } else if (S_ISREG(st.st_mode)) {
            auto in = TRY(sys::openat(from, entry->d_name, O_RDONLY | O_NOFOLLOW));
            auto out
                = TRY(sys::openat(to, entry->d_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, st.st_mode & 07777));
            for (off_t left = st.st_size; left > 0;) {
                ssize_t n = ::sendfile(out.get(), in.get(), nullptr, static_cast<size_t>(left));
                if (n < 0 && errno == EINTR)
                    continue;
                if (n <= 0)
                    return Error::from_errno(fmt::format("copy {}", name));
                left -= n;
            }
        } else if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            ssize_t n = ::readlinkat(from.get(), entry->d_name, target, sizeof target - 1);
            if (n < 0)
                return Error::from_errno(fmt::format("readlink {}", name));
            target[n] = '\0';
            TRY(sys::symlinkat(target, to, entry->d_name));
        } else {
            TRY(sys::mknodat(to, entry->d_name, st.st_mode, st.st_rdev));
        }
        TRY(sys::fchownat(to, entry->d_name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW));
    }
    return {};
}

Result<void> mount_filesystem(FdRef root, MountStep const& step)
{
    auto target = TRY(ensure_in_root(root, step.destination, step.target));
    Fd old_content;
    if (step.tmpcopyup)
        old_content = TRY(resolve_in_root(root, step.destination, O_RDONLY | O_DIRECTORY));
    auto mounted = sys::mount_on_fd(step.source.c_str(), target, step.fstype.c_str(), step.flags, step.data.c_str());
    if (!mounted && mounted.error().is_errno(EPERM)) {
        // In a user namespace that does not own the network or ipc namespace, sysfs and
        // mqueue cannot be mounted: show the host's instead, read-only (as runc does).
        char const* host = step.fstype == "sysfs" ? "/sys" : step.fstype == "mqueue" ? "/dev/mqueue" : nullptr;
        if (host) {
            MountStep bind = step;
            bind.bind = BindKind::Rbind;
            bind.flags |= MS_RDONLY;
            TRY(bind_tree(FdRef::cwd(), host, target, bind));
            return {};
        }
    }
    TRY(std::move(mounted));
    if (step.propagation.type == Propagation::Unchanged && !step.tmpcopyup)
        return {};
    auto mount_root = TRY(resolve_in_root(root, step.destination, O_RDONLY | O_DIRECTORY));
    if (step.tmpcopyup) {
        TRY(copy_tree(old_content, mount_root).context("tmpcopyup"));
        struct stat st = TRY(sys::fstat(old_content));
        if (::fchmod(mount_root.get(), st.st_mode & 07777) < 0 || ::fchown(mount_root.get(), st.st_uid, st.st_gid) < 0)
            return Error::from_errno("tmpcopyup: chown");
    }
    TRY(set_propagation(mount_root, step.propagation));
    return {};
}

Result<void> mount_bind(FdRef root, MountStep const& step)
{
    auto target = TRY(ensure_in_root(root, step.destination, step.target));
    auto tree = TRY(bind_tree(FdRef::cwd(), step.source.c_str(), target, step));
    TRY(set_propagation(tree, step.propagation));
    return {};
}

Result<void> mount_cgroup(FdRef root, MountStep const& step)
{
    auto const& cgroup = *step.cgroup;
    // `flags`: the step's flags, or 0 when one recursive mount_setattr sets them at the end.
    auto hierarchy_mount = [&](CgroupHierarchy const& h, FdRef target, unsigned long flags) -> Result<void> {
        if (cgroup.cgroup_namespace) {
            if (h.v2)
                return sys::mount_on_fd("cgroup2", target, "cgroup2", step.flags, nullptr);
            return sys::mount_on_fd("cgroup", target, "cgroup", step.flags, h.options.c_str());
        }
        MountStep bind;
        bind.bind = BindKind::Rbind;
        bind.flags = flags;
        TRY(bind_tree(FdRef::cwd(), h.host_path.c_str(), target, bind));
        return {};
    };

    auto target = TRY(ensure_in_root(root, step.destination, TargetKind::Directory));
    if (cgroup.hierarchies.size() == 1 && cgroup.hierarchies[0].dir.empty())
        return hierarchy_mount(cgroup.hierarchies[0], target, step.flags); // pure v2 host

    // v1: a tmpfs holding one directory per hierarchy. The tmpfs is new and empty, so its
    // directories are made directly; the step's flags (read-only...) go on the whole tree
    // with one recursive mount_setattr at the end instead of one per hierarchy.
    unsigned long tmpfs_flags = (step.flags & ~MS_RDONLY) | MS_NOSUID | MS_NODEV | MS_NOEXEC;
    TRY(sys::mount_on_fd("tmpfs", target, "tmpfs", tmpfs_flags, "mode=755"));
    auto tmpfs = TRY(resolve_in_root(root, step.destination, O_PATH | O_DIRECTORY));
    for (auto const& h : cgroup.hierarchies) {
        auto made = sys::mkdirat(tmpfs, h.dir.c_str(), 0755);
        if (!made && !made.error().is_errno(EEXIST))
            return made.release_error().add_context(fmt::format("cgroup {}", h.dir));
        auto sub
            = TRY(sys::openat2(tmpfs, h.dir.c_str(), O_PATH | O_DIRECTORY, 0, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)
                      .context("cgroup {}", h.dir));
        TRY(hierarchy_mount(h, sub, 0).context("cgroup {}", h.dir));
        // Co-mounted controllers ("cpu,cpuacct") are also reachable by each name.
        if (h.dir.find(',') != std::string::npos) {
            std::string_view rest = h.dir;
            while (!rest.empty()) {
                auto comma = rest.find(',');
                std::string name(rest.substr(0, comma));
                auto linked = sys::symlinkat(h.dir.c_str(), tmpfs, name.c_str());
                if (!linked && !linked.error().is_errno(EEXIST))
                    return linked.release_error();
                if (comma == std::string_view::npos)
                    break;
                rest.remove_prefix(comma + 1);
            }
        }
    }
    auto attr = mount_attr_of(step.flags | MS_NOSUID | MS_NODEV | MS_NOEXEC, 0);
    TRY(sys::mount_setattr(tmpfs, "", AT_EMPTY_PATH | AT_RECURSIVE, attr.set, attr.clear));
    return {};
}

Result<void> apply_step(FdRef root, MountStep const& step)
{
    if (step.cgroup)
        return named(mount_cgroup(root, step), "cgroup", step.destination);
    if (step.is_bind())
        return named(mount_bind(root, step), step.source, step.destination);
    return named(mount_filesystem(root, step), step.source, step.destination);
}

// Devices and links mostly share one parent (/dev): resolve it once.
class ParentCache {
public:
    Result<FdRef> get(FdRef root, std::string_view path)
    {
        if (!m_fd.valid() || m_path != path) {
            m_fd = TRY(ensure_in_root(root, path, TargetKind::Directory));
            m_path = path;
        }
        return m_fd.ref();
    }

private:
    std::string m_path;
    Fd m_fd;
};

Result<void> create_device(FdRef root, DeviceNode const& device, bool bind_from_host, ParentCache& parents)
{
    if (bind_from_host) {
        // mknod is refused in a user namespace: bind the host's node on an empty file.
        auto target = TRY(ensure_in_root(root, device.path, TargetKind::File));
        MountStep bind;
        bind.bind = BindKind::Bind;
        TRY(bind_tree(FdRef::cwd(), device.path.c_str(), target, bind));
        return {};
    }
    auto [parent_path, name] = split_last(device.path);
    auto parent = TRY(parents.get(root, parent_path));
    std::string leaf(name);
    mode_t type = device.type == DeviceType::Block ? S_IFBLK : device.type == DeviceType::Fifo ? S_IFIFO : S_IFCHR;
    auto made = sys::mknodat(parent, leaf.c_str(), type | (device.mode & 07777), makedev(device.major, device.minor));
    if (!made) {
        // A node the image already has is kept, as runc does.
        if (made.error().is_errno(EEXIST))
            return {};
        return made.release_error();
    }
    if (device.uid != 0 || device.gid != 0)
        TRY(sys::fchownat(parent, leaf.c_str(), device.uid, device.gid, AT_SYMLINK_NOFOLLOW));
    return {};
}

Result<void> create_symlink(FdRef root, Symlink const& link, ParentCache& parents)
{
    auto [parent_path, name] = split_last(link.link);
    auto parent = TRY(parents.get(root, parent_path));
    std::string leaf(name);
    auto made = sys::symlinkat(link.target.c_str(), parent, leaf.c_str());
    if (!made && !made.error().is_errno(EEXIST))
        return made.release_error();
    return {};
}

// pivot_root(".", ".") stacks the old root on top of the new one at "/"; detaching it
// leaves the new root alone, with no directory needed for put_old (see pivot_root(2) NOTES).
// `old_root_shared`: the old root tree may still have shared mounts (rootfsPropagation
// shared): make it rslave first so that detaching it cannot unmount anything on the host.
// That goes through an fd of the old root: mount(".", MS_SLAVE|MS_REC) would resolve "."
// to the new root (measured: it turned the container's rshared binds into slaves).
Result<void> pivot(std::string const& rootfs, bool old_root_shared)
{
    Fd old_root;
    if (old_root_shared)
        old_root = TRY(sys::open("/", O_PATH | O_DIRECTORY).context("open old root"));
    TRY(sys::chdir(rootfs.c_str()).context("chdir {}", rootfs));
    TRY(sys::pivot_root(".", "."));
    if (old_root_shared)
        TRY(sys::mount_setattr(old_root, "", AT_EMPTY_PATH | AT_RECURSIVE, 0, 0, MS_SLAVE)
                .context("make old root rslave"));
    TRY(sys::umount2(".", MNT_DETACH).context("detach old root"));
    TRY(sys::chdir("/"));
    return {};
}

Result<void> move_root(std::string const& rootfs)
{
    TRY(sys::chdir(rootfs.c_str()).context("chdir {}", rootfs));
    TRY(sys::mount(rootfs.c_str(), "/", nullptr, MS_MOVE, nullptr).context("move rootfs to /"));
    TRY(sys::chroot("."));
    TRY(sys::chdir("/"));
    return {};
}

// pivot_root refuses a new root whose parent mount is shared: with a shared root
// propagation, make the closest mount above the rootfs private.
Result<void> make_parent_mount_private(std::string const& rootfs)
{
    std::string dir = rootfs;
    for (;;) {
        auto slash = dir.rfind('/');
        dir = slash == 0 || slash == std::string::npos ? "/" : dir.substr(0, slash);
        auto made = sys::mount(nullptr, dir.c_str(), nullptr, MS_PRIVATE, nullptr);
        if (made || !made.error().is_errno(EINVAL) || dir == "/")
            return made;
    }
}

} // namespace

namespace {

// / first gets the requested propagation (default rslave: host mounts still reach the
// container, nothing flows back). Unbindable would forbid the rootfs bind: it starts as
// rslave and is applied to the new / after pivot_root.
PropagationSetting first_propagation(MountPlan const& plan)
{
    PropagationSetting first = plan.root_propagation;
    if (first.type == Propagation::Unbindable)
        first = { Propagation::Slave, true };
    return first;
}

} // namespace

Result<void> setup_rootfs(MountPlan const& plan)
{
    TRY(mount_rootfs(plan));
    return enter_rootfs(plan);
}

Result<void> mount_rootfs(MountPlan const& plan)
{
    // Modes in the plan are exact: no umask between them and the file system.
    mode_t old_umask = ::umask(0);
    ScopeGuard restore_umask([&] { ::umask(old_umask); });

    PropagationSetting first = first_propagation(plan);
    if (first.type != Propagation::Unchanged)
        TRY(sys::mount(nullptr, "/", nullptr, propagation_flags(first), nullptr).context("set propagation of /"));
    if (first.type == Propagation::Shared) {
        // pivot_root(2) refuses a shared current root, a shared parent of the new root and a
        // shared new root: make those single mounts private (their submounts stay shared),
        // before the bind so that the bind is private and does not propagate to the host.
        TRY(sys::mount(nullptr, "/", nullptr, MS_PRIVATE, nullptr).context("make / private"));
        auto rootfs_private = sys::mount(nullptr, plan.rootfs.c_str(), nullptr, MS_PRIVATE, nullptr);
        if (!rootfs_private && !rootfs_private.error().is_errno(EINVAL)) // EINVAL: not a mount point
            return rootfs_private.release_error().add_context(fmt::format("make {} private", plan.rootfs));
        TRY(make_parent_mount_private(plan.rootfs).context("make parent mount of {} private", plan.rootfs));
    }
    TRY(named(sys::mount(plan.rootfs.c_str(), plan.rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr), plan.rootfs,
              plan.rootfs));
    auto root = TRY(sys::open(plan.rootfs, O_PATH | O_DIRECTORY).context("open rootfs {}", plan.rootfs));

    for (auto const& step : plan.steps)
        TRY(apply_step(root, step));
    ParentCache parents;
    for (auto const& device : plan.devices)
        TRY(create_device(root, device, plan.bind_devices, parents).context("create device {}", device.path));
    if (!plan.console.empty()) {
        auto target = TRY(ensure_in_root(root, "/dev/console", TargetKind::File));
        MountStep bind;
        bind.bind = BindKind::Bind;
        TRY(named(bind_tree(FdRef::cwd(), plan.console.c_str(), target, bind), plan.console, "/dev/console"));
    }
    for (auto const& link : plan.symlinks)
        TRY(create_symlink(root, link, parents).context("symlink {} -> {}", link.link, link.target));
    return {};
}

Result<void> enter_rootfs(MountPlan const& plan)
{
    PropagationSetting first = first_propagation(plan);
    if (plan.no_pivot)
        TRY(move_root(plan.rootfs));
    else
        TRY(pivot(plan.rootfs, first.type == Propagation::Shared || first.type == Propagation::Unchanged)
                .context("pivot_root {}", plan.rootfs));
    if (plan.root_propagation.type == Propagation::Shared || plan.root_propagation.type == Propagation::Unbindable)
        TRY(sys::mount(nullptr, "/", nullptr, propagation_flags(plan.root_propagation), nullptr)
                .context("set propagation of the container's /"));
    return {};
}

Result<void> finalize_rootfs(MountPlan const& plan)
{
    auto root = TRY(sys::open("/", O_PATH | O_DIRECTORY).context("open /"));
    for (auto const& path : plan.readonly_paths) {
        auto target = resolve_in_root(root, path);
        if (!target && target.error().is_errno(ENOENT))
            continue;
        if (!target)
            return target.release_error().add_context(fmt::format("make {} read-only", path));
        // Bind the path onto itself and make the copy read-only before attaching it:
        // mount_setattr adds RDONLY and keeps nosuid/nodev/noexec (locked in a userns).
        MountStep self;
        self.bind = BindKind::Rbind;
        self.recursive_attr_set = MOUNT_ATTR_RDONLY;
        TRY(bind_tree(*target, "", *target, self).context("make {} read-only", path));
    }
    Fd dev_null;
    Fd empty_tmpfs;
    for (auto const& path : plan.masked_paths) {
        auto target = resolve_in_root(root, path);
        if (!target && target.error().is_errno(ENOENT))
            continue;
        if (!target)
            return target.release_error().add_context(fmt::format("mask {}", path));
        auto st = TRY(sys::fstat(*target).context("mask {}", path));
        if (S_ISDIR(st.st_mode)) {
            // One empty read-only tmpfs, cloned onto every masked directory: no /proc needed
            // (the container may not mount one) and one superblock instead of one each.
            if (!empty_tmpfs.valid())
                empty_tmpfs
                    = TRY(sys::fsmount_new("tmpfs",
                                           MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)
                              .context("mask {}: make empty tmpfs", path));
            auto clone = TRY(sys::open_tree(empty_tmpfs, "", OPEN_TREE_CLONE | AT_EMPTY_PATH).context("mask {}", path));
            TRY(sys::move_mount(clone, "", *target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)
                    .context("mask {}", path));
            continue;
        }
        if (!dev_null.valid())
            dev_null = TRY(resolve_in_root(root, "/dev/null").context("mask {}", path));
        MountStep bind;
        bind.bind = BindKind::Bind;
        TRY(bind_tree(dev_null, "", *target, bind).context("mask {}", path));
    }
    if (plan.readonly_root)
        TRY(sys::mount_setattr(FdRef::cwd(), "/", 0, MOUNT_ATTR_RDONLY, 0).context("make / read-only"));
    return {};
}

} // namespace cryo::rootfs
