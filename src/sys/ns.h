// Namespace syscalls: setns(2) by namespace fd or by pidfd (several at once), unshare(2),
// and helpers to open /proc/PID/ns/* files.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <sys/types.h>

#include "base/error.h"
#include "base/fd.h"

namespace cryo::sys {

// setns(fd, nstype). With a pidfd, `nstype` may hold several CLONE_NEW* flags: the kernel
// joins them all atomically, in its own correct order (user namespace first).
Result<void> setns(FdRef fd, int nstype);
Result<void> unshare(int flags);
// Opens /proc/<pid>/ns/<name> ("net", "mnt", ...); pid 0 means self.
Result<Fd> open_ns(pid_t pid, std::string_view name);
// Opens a namespace file given by path (a spec's "path"), checking it is a namespace of
// the expected CLONE_NEW* type (NS_GET_NSTYPE).
Result<Fd> open_ns_path(std::string const& path, int nstype);
// The inode number identifying a namespace (stat of /proc/<pid>/ns/<name>).
Result<ino_t> ns_inode(pid_t pid, std::string_view name);
// Runs `open` (making a socket) in the network namespace `netns`: at once when that is the
// calling thread's own, otherwise on a short-lived thread that setns'es there (setns moves
// only the calling thread; the socket keeps the namespace it was made in).
Result<Fd> open_in_netns(FdRef netns, std::function<Result<Fd>()> const& open);

} // namespace cryo::sys
