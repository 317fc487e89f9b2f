// Thin wrappers of the file-system calls the image store needs that sys/file.h and
// sys/mounts.h lack: xattrs on a name relative to a directory fd (via /proc/self/fd so the
// last component is never followed), flock, renameat2, linkat, utimensat, fsync, mkdtemp.
#pragma once

#include <optional>
#include <string>
#include <sys/stat.h>
#include <sys/types.h>
#include <vector>

#include "base/error.h"
#include "base/fd.h"

namespace cryo::sys {

// lsetxattr/lgetxattr/llistxattr/lremovexattr on `name` inside `dir` (not following `name`).
Result<void> setxattr_at(FdRef dir, std::string const& name, std::string const& key, std::string_view value);
// nullopt when the attribute is absent (ENODATA).
Result<std::optional<std::string>> getxattr_at(FdRef dir, std::string const& name, std::string const& key);
Result<std::vector<std::string>> listxattr_at(FdRef dir, std::string const& name);
Result<void> removexattr_at(FdRef dir, std::string const& name, std::string const& key);

enum class LockKind { Shared, Exclusive };
// flock(2), blocking; EINTR retried.
Result<void> flock(FdRef fd, LockKind kind);

Result<void> renameat2(FdRef from_dir, std::string const& from, FdRef to_dir, std::string const& to,
                       unsigned flags = 0);
Result<void> linkat(FdRef from_dir, std::string const& from, FdRef to_dir, std::string const& to);
Result<void> unlinkat(FdRef dir, std::string const& name, int flags = 0);
Result<void> utimensat(FdRef dir, std::string const& name, struct timespec const times[2], int flags);
Result<struct stat> fstatat(FdRef dir, std::string const& name, int flags);
Result<std::string> readlinkat(FdRef dir, std::string const& name);
Result<void> fsync(FdRef fd);
Result<void> pwrite_all(FdRef fd, void const* data, size_t size, off_t offset);
Result<void> ftruncate(FdRef fd, off_t size);
// fallocate(2) of [0, size) (the file's size becomes at least `size`). Returns false when the
// file system cannot preallocate (EOPNOTSUPP): the caller writes as it would have anyway.
Result<bool> preallocate(FdRef fd, off_t size);
// syncfs(2): flushes the whole file system holding `fd` (cheaper than sync(2) on a busy host).
Result<void> syncfs(FdRef fd);
// statx(2) STATX_ATTR_MOUNT_ROOT: whether `path` (not followed) is the root of a mount.
Result<bool> is_mount_root(std::string const& path);
// mkdtemp(3) with `prefix` + "XXXXXX"; returns the created path.
Result<std::string> mkdtemp(std::string const& prefix);

} // namespace cryo::sys
