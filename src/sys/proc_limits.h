// Resource limits of any process from /proc/PID/limits: every RLIMIT_* at once, exact (the
// kernel prints each as a decimal number or "unlimited"), readable without the caller's uids
// matching (prlimit(2) on another process needs that or CAP_SYS_RESOURCE) and without
// running anything in the process. The parser is fixture-tested.
#pragma once

#include <cstdint>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include "base/error.h"

namespace cryo::sys {

struct ProcLimit {
    int resource { 0 }; // RLIMIT_*
    uint64_t soft { 0 }; // RLIM64_INFINITY for "unlimited"
    uint64_t hard { 0 };
};

// All RLIM_NLIMITS limits, by resource (0..15). A row missing, unknown or malformed is an
// error naming it: a limit silently left out would come back as cryo's own at restore.
Result<std::vector<ProcLimit>> parse_proc_limits(std::string_view text);
Result<std::vector<ProcLimit>> read_proc_limits(pid_t pid);

} // namespace cryo::sys
