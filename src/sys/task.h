// Thin wrappers of syscalls that set attributes of the calling task: no_new_privs,
// rlimits, io priority, scheduler, personality, host and domain names.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/error.h"

namespace cryo::sys {

Result<void> set_no_new_privs();
Result<bool> no_new_privs();
Result<void> setrlimit(int resource, uint64_t soft, uint64_t hard);
Result<void> ioprio_set_self(int io_class, int priority);
Result<int> ioprio_get_self();

// struct sched_attr of sched_setattr(2) (glibc 2.36 has no declaration).
struct SchedAttr {
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime;
    uint64_t sched_deadline;
    uint64_t sched_period;
};
Result<void> sched_setattr_self(SchedAttr attr);

Result<void> personality(unsigned long persona);
Result<void> sethostname(std::string_view name);
Result<void> setdomainname(std::string_view name);

} // namespace cryo::sys
