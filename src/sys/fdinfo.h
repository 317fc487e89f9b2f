// Typed readings of the kind-specific lines of /proc/PID/fdinfo/FD (proc(5)) that
// sys::parse_fdinfo keeps as text in FdInfo::extra. Pure: unit-tested on fixture texts.
#pragma once

#include <cstdint>
#include <optional>

#include "base/error.h"
#include "sys/procfs.h"

namespace cryo::sys {

// "ino:" (kernels since 5.14): the inode number of the open file.
std::optional<uint64_t> fdinfo_inode(FdInfo const& info);

struct EventfdFdInfo {
    uint64_t count { 0 };   // "eventfd-count:" (hexadecimal in the file)
    bool semaphore { false }; // "eventfd-semaphore:" (kernels since 6.7; absent: false)
};
Result<EventfdFdInfo> parse_eventfd_fdinfo(FdInfo const& info);

// "scm_fds:" of a unix socket: fds in flight (SCM_RIGHTS) queued on it; nullopt if absent.
std::optional<uint64_t> fdinfo_scm_fds(FdInfo const& info);

} // namespace cryo::sys
