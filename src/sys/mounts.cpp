#include "sys/mounts.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys/raw.h"

namespace cryo::sys {

namespace {

char const* or_null(char const* s)
{
    return s && *s ? s : nullptr;
}

} // namespace

Result<void> mount(char const* source, char const* target, char const* fstype, unsigned long flags, char const* data)
{
    if (::mount(or_null(source), target, or_null(fstype), flags, or_null(data)) < 0)
        return Error::from_errno("mount");
    return {};
}

Result<void> mount_on_fd(char const* source, FdRef target, char const* fstype, unsigned long flags, char const* data)
{
    char path[32];
    snprintf(path, sizeof path, "/proc/self/fd/%d", target.get());
    return mount(source, path, fstype, flags, data);
}

Result<void> umount2(char const* target, int flags)
{
    if (::umount2(target, flags) < 0)
        return Error::from_errno("umount2");
    return {};
}

Result<void> pivot_root(char const* new_root, char const* put_old)
{
    if (::syscall(SYS_pivot_root, new_root, put_old) < 0)
        return Error::from_errno("pivot_root");
    return {};
}

Result<void> chroot(char const* path)
{
    if (::chroot(path) < 0)
        return Error::from_errno("chroot");
    return {};
}

Result<void> chdir(char const* path)
{
    if (::chdir(path) < 0)
        return Error::from_errno("chdir");
    return {};
}

Result<void> fchdir(FdRef dir)
{
    if (::fchdir(dir.get()) < 0)
        return Error::from_errno("fchdir");
    return {};
}

Result<Fd> open_tree(FdRef dir, char const* path, unsigned flags)
{
    long fd = ::syscall(__NR_open_tree, dir.get(), path, flags | OPEN_TREE_CLOEXEC);
    if (fd < 0)
        return Error::from_errno("open_tree");
    return Fd(static_cast<int>(fd));
}

Result<void> move_mount(FdRef from_dir, char const* from_path, FdRef to_dir, char const* to_path, unsigned flags)
{
    if (::syscall(__NR_move_mount, from_dir.get(), from_path, to_dir.get(), to_path, flags) < 0)
        return Error::from_errno("move_mount");
    return {};
}

Result<void> mount_setattr(FdRef dir, char const* path, unsigned flags, uint64_t attr_set, uint64_t attr_clear,
                           uint64_t propagation)
{
    struct mount_attr attr { };
    attr.attr_set = attr_set;
    attr.attr_clr = attr_clear;
    attr.propagation = propagation;
    if (::syscall(__NR_mount_setattr, dir.get(), path, flags, &attr, sizeof attr) < 0)
        return Error::from_errno("mount_setattr");
    return {};
}

Result<Fd> fsmount_new(char const* fstype, uint64_t attr)
{
    long fs = ::syscall(__NR_fsopen, fstype, FSOPEN_CLOEXEC);
    if (fs < 0)
        return Error::from_errno("fsopen");
    Fd context(static_cast<int>(fs));
    if (::syscall(__NR_fsconfig, context.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0)
        return Error::from_errno("fsconfig");
    long mount_fd = ::syscall(__NR_fsmount, context.get(), FSMOUNT_CLOEXEC, attr);
    if (mount_fd < 0)
        return Error::from_errno("fsmount");
    return Fd(static_cast<int>(mount_fd));
}

Result<void> mount_setattr_idmap(FdRef tree, unsigned flags, FdRef userns)
{
    struct mount_attr attr { };
    attr.attr_set = MOUNT_ATTR_IDMAP;
    attr.userns_fd = static_cast<uint64_t>(userns.get());
    if (::syscall(__NR_mount_setattr, tree.get(), "", flags, &attr, sizeof attr) < 0)
        return Error::from_errno("mount_setattr idmap");
    return {};
}

Result<Fd> openat2(FdRef dir, char const* path, uint64_t flags, uint64_t mode, uint64_t resolve)
{
    struct open_how how { };
    how.flags = flags | O_CLOEXEC;
    how.mode = mode;
    how.resolve = resolve;
    for (;;) {
        long fd = ::syscall(__NR_openat2, dir.get(), path, &how, sizeof how);
        if (fd >= 0)
            return Fd(static_cast<int>(fd));
        if (errno != EINTR && errno != EAGAIN)
            return Error::from_errno("openat2");
    }
}

Result<void> mkdirat(FdRef dir, char const* name, mode_t mode)
{
    if (::mkdirat(dir.get(), name, mode) < 0)
        return Error::from_errno("mkdir");
    return {};
}

Result<void> mknodat(FdRef dir, char const* name, mode_t mode, dev_t dev)
{
    if (::mknodat(dir.get(), name, mode, dev) < 0)
        return Error::from_errno("mknod");
    return {};
}

Result<void> symlinkat(char const* target, FdRef dir, char const* name)
{
    if (::symlinkat(target, dir.get(), name) < 0)
        return Error::from_errno("symlink");
    return {};
}

Result<void> fchownat(FdRef dir, char const* name, uid_t uid, gid_t gid, int flags)
{
    if (::fchownat(dir.get(), name, uid, gid, flags) < 0)
        return Error::from_errno("chown");
    return {};
}

Result<void> fchmodat(FdRef dir, char const* name, mode_t mode)
{
    if (::fchmodat(dir.get(), name, mode, 0) < 0)
        return Error::from_errno("chmod");
    return {};
}

} // namespace cryo::sys
