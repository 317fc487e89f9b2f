// Thin wrappers of mount syscalls (named mounts.h: a src/sys/mount.h would shadow <sys/mount.h>
// for every file built with -Isrc): classic mount(2)/umount2/pivot_root, the new mount API
// (open_tree, move_mount, mount_setattr), openat2 and the *at() creators the rootfs layer
// needs. Every fd created here is O_CLOEXEC.
#pragma once

#include <linux/mount.h>
#include <linux/openat2.h>
#include <string>
#include <sys/mount.h>
#include <sys/types.h>

#include "base/error.h"
#include "base/fd.h"

#ifndef MOUNT_ATTR_NOSYMFOLLOW
#define MOUNT_ATTR_NOSYMFOLLOW 0x00200000
#endif
#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP 0x00100000
#endif
#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif

namespace cryo::sys {

// Classic mount(2); null-able strings passed as nullptr when empty.
Result<void> mount(char const* source, char const* target, char const* fstype, unsigned long flags, char const* data);
// mount(2) onto an O_PATH fd through its /proc/self/fd/N magic link.
Result<void> mount_on_fd(char const* source, FdRef target, char const* fstype, unsigned long flags, char const* data);
Result<void> umount2(char const* target, int flags);
Result<void> pivot_root(char const* new_root, char const* put_old);
Result<void> chroot(char const* path);
Result<void> chdir(char const* path);
Result<void> fchdir(FdRef dir);

// open_tree(2): with OPEN_TREE_CLONE a detached copy of a mount (tree, with AT_RECURSIVE).
Result<Fd> open_tree(FdRef dir, char const* path, unsigned flags);
// move_mount(2).
Result<void> move_mount(FdRef from_dir, char const* from_path, FdRef to_dir, char const* to_path, unsigned flags);
// mount_setattr(2) on (dir, path); use path "" with AT_EMPTY_PATH for an fd.
Result<void> mount_setattr(FdRef dir, char const* path, unsigned flags, uint64_t attr_set, uint64_t attr_clear,
                           uint64_t propagation = 0);

// fsopen(2) + fsconfig(FSCONFIG_CMD_CREATE) + fsmount(2): a new, detached mount of a fresh
// `fstype` with no options and `attr` (MOUNT_ATTR_*), attached later with move_mount.
Result<Fd> fsmount_new(char const* fstype, uint64_t attr);

// mount_setattr(2) with MOUNT_ATTR_IDMAP: idmaps a detached tree with `userns`.
Result<void> mount_setattr_idmap(FdRef tree, unsigned flags, FdRef userns);

// openat2(2); O_CLOEXEC is always added. EAGAIN (a rename raced a "..") is retried.
Result<Fd> openat2(FdRef dir, char const* path, uint64_t flags, uint64_t mode, uint64_t resolve);

Result<void> mkdirat(FdRef dir, char const* name, mode_t mode);
Result<void> mknodat(FdRef dir, char const* name, mode_t mode, dev_t dev);
Result<void> symlinkat(char const* target, FdRef dir, char const* name);
Result<void> fchownat(FdRef dir, char const* name, uid_t uid, gid_t gid, int flags);
Result<void> fchmodat(FdRef dir, char const* name, mode_t mode);

} // namespace cryo::sys
