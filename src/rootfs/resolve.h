// Resolution of paths inside a container's root without ever leaving it: every lookup is
// openat2(RESOLVE_IN_ROOT), so "..", absolute symlinks and "/etc -> /" stay in the root
// (CVE-2021-30465 class of bugs). Missing components are created one at a time with
// *at() calls relative to an already-resolved parent.
#pragma once

#include <string_view>
#include <sys/types.h>

#include "base/error.h"
#include "base/fd.h"
#include "rootfs/mount_plan.h"

namespace cryo::rootfs {

// Opens `path` (absolute or relative, interpreted inside `root`) with openat2 and
// RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS. `flags` default to an O_PATH handle.
Result<Fd> resolve_in_root(FdRef root, std::string_view path, int flags = O_PATH);

// Like resolve_in_root, but creates what is missing: parent directories (0755) and the
// final component as a directory or an empty file (0644 for files, 0755 for dirs).
// Returns an O_PATH fd of the target, suitable as a mount point via /proc/self/fd/N or
// move_mount(MOVE_MOUNT_T_EMPTY_PATH).
Result<Fd> ensure_in_root(FdRef root, std::string_view path, TargetKind kind);

// chdir to `path` resolved inside `root` (normally the container's / after pivot_root):
// the process cwd of the spec can then neither be a magic link such as /proc/self/fd/N
// naming a leaked host directory (CVE-2024-21626: refused with ELOOP) nor climb out of
// the root. fchdir checks search permission with the caller's credentials, so call it
// after the user switch.
Result<void> chdir_in_root(FdRef root, std::string_view path);

// Splits off the last component: "/a/b/c" -> ("/a/b", "c"); "/c" -> ("/", "c").
std::pair<std::string_view, std::string_view> split_last(std::string_view path);

} // namespace cryo::rootfs
