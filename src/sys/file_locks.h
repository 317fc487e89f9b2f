// File locks as /proc/PID/fdinfo/FD lists them ("lock:" lines, fs/locks.c lock_get_status):
// the flock, OFD and POSIX locks held through that fd. The parser is pure (fixture-tested).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include "base/error.h"

namespace cryo::sys {

struct FdLock {
    std::string kind; // "FLOCK", "POSIX", "OFDLCK", "LEASE", "DELEG" ...
    std::string access; // "READ", "WRITE", "UNLCK" ...
    pid_t pid { 0 };
    uint64_t start { 0 };
    uint64_t length { 0 }; // 0: to the end of the file
};

Result<std::vector<FdLock>> parse_fdinfo_locks(std::string_view fdinfo);
Result<std::vector<FdLock>> read_fd_locks(pid_t pid, int fd);

} // namespace cryo::sys
