// Scheduling attributes of any task (sched_getattr/sched_setattr, nice) and parsers of
// /proc/PID/timers and /proc/PID/personality. Pure parsers are fixture-tested; the wrappers
// name the syscall and the task in their errors.
#pragma once

#include <cstdint>
#include <sched.h>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include "base/error.h"

namespace cryo::sys {

// The part of struct sched_attr (sched(7)) cryo keeps: policy, flags, nice, RT priority.
struct SchedAttr {
    uint32_t policy { 0 };
    uint64_t flags { 0 };
    int32_t nice { 0 };
    uint32_t priority { 0 };
};

Result<SchedAttr> sched_getattr(pid_t tid);
Result<void> sched_setattr(pid_t tid, SchedAttr const& attr);
// The nice value (-20..19) of one task (PRIO_PROCESS on a tid is per thread on Linux).
Result<int> nice_of(pid_t tid);
Result<void> set_nice(pid_t tid, int nice);
// The CPUs one task may run on (sched_getaffinity/sched_setaffinity on a tid: per thread).
Result<cpu_set_t> cpu_affinity(pid_t tid);
Result<void> set_cpu_affinity(pid_t tid, cpu_set_t const& cpus);
// Pins `tid` to the CPU the calling thread runs on now.
Result<void> pin_to_current_cpu(pid_t tid);

// One entry of /proc/PID/timers.
struct ProcTimer {
    int id { 0 };
    int signal { 0 };
    uint64_t value { 0 }; // sigev_value
    int notify { 0 }; // SIGEV_SIGNAL / SIGEV_NONE / SIGEV_THREAD, | SIGEV_THREAD_ID for "tid."
    int target { 0 }; // the pid or tid after "pid." / "tid."
    int clock_id { 0 };
};

Result<std::vector<ProcTimer>> parse_proc_timers(std::string_view text);
Result<std::vector<ProcTimer>> read_proc_timers(pid_t pid);
Result<uint32_t> read_personality(pid_t pid);

} // namespace cryo::sys
