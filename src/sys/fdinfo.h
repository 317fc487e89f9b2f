// Typed readings of the kind-specific lines of /proc/PID/fdinfo/FD (proc(5)) that
// sys::parse_fdinfo keeps as text in FdInfo::extra. Pure: unit-tested on fixture texts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "sys/procfs.h"

namespace cryo::sys {

// "ino:" (kernels since 5.14): the inode number of the open file.
std::optional<uint64_t> fdinfo_inode(FdInfo const& info);

struct EventfdFdInfo {
    uint64_t count { 0 }; // "eventfd-count:" (hexadecimal in the file)
    bool semaphore { false }; // "eventfd-semaphore:" (kernels since 6.7; absent: false)
};
Result<EventfdFdInfo> parse_eventfd_fdinfo(FdInfo const& info);

// "scm_fds:" of a unix socket: fds in flight (SCM_RIGHTS) queued on it; nullopt if absent.
std::optional<uint64_t> fdinfo_scm_fds(FdInfo const& info);

// "sigmask:" of a signalfd (hexadecimal).
Result<uint64_t> parse_signalfd_fdinfo(FdInfo const& info);

struct TimerfdFdInfo {
    int clock_id { 0 };
    uint64_t ticks { 0 }; // expirations not read yet
    uint32_t settime_flags { 0 }; // TFD_TIMER_ABSTIME ... (octal in the file)
    uint64_t value_ns { 0 }; // time left until the next expiration (0: disarmed)
    uint64_t interval_ns { 0 };
};
Result<TimerfdFdInfo> parse_timerfd_fdinfo(FdInfo const& info);

struct EpollTargetFdInfo {
    int fd { 0 };
    uint32_t events { 0 };
    uint64_t data { 0 };
    uint64_t inode { 0 };
};
// The "tfd:" lines of an epoll fd, in the kernel's order.
Result<std::vector<EpollTargetFdInfo>> parse_epoll_fdinfo(FdInfo const& info);

struct InotifyWatchFdInfo {
    int wd { 0 };
    uint64_t inode { 0 };
    uint64_t device { 0 }; // the kernel's s_dev: major << 20 | minor
    uint32_t mask { 0 };
    int handle_type { 0 };
    std::vector<uint8_t> handle; // f_handle bytes (for open_by_handle_at)
};
// The "inotify wd:..." lines of an inotify fd.
Result<std::vector<InotifyWatchFdInfo>> parse_inotify_fdinfo(FdInfo const& info);

// The mount point (octal escapes decoded) in /proc/PID/mountinfo text of a mount of device
// major:minor, preferring one that mounts the filesystem's root; nullopt if none.
std::optional<std::string> mount_point_of_device(std::string_view mountinfo, unsigned major, unsigned minor);

} // namespace cryo::sys
