// Futex state of another task that only the kernel holds: its robust-list head
// (get_robust_list(2)) and the syscall it is stopped in (/proc/PID/task/TID/syscall). The
// task must be stopped (ptrace) for either to stay true while it is used.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <sys/types.h>

#include "base/error.h"

namespace cryo::sys {

// get_robust_list(2) of thread `tid`: the user address of its struct robust_list_head (0 if
// it registered none) and the length (what set_robust_list(2) takes back:
// sizeof(struct robust_list_head), 24 on x86-64).
struct RobustListHead {
    uint64_t head { 0 };
    uint64_t length { 0 };
};
Result<RobustListHead> robust_list_registration(pid_t tid);

// A task inside (or stopped at the exit of) a syscall, from /proc/PID/task/TID/syscall.
struct TaskSyscall {
    long nr { -1 };
    std::array<uint64_t, 6> args {};
};
// Pure: "NR ARG1..ARG6 SP PC" gives the call; "-1 SP PC" (not in a syscall), "running" and
// anything malformed give nullopt.
std::optional<TaskSyscall> parse_task_syscall(std::string_view text);
Result<std::optional<TaskSyscall>> task_syscall(pid_t pid, pid_t tid);

} // namespace cryo::sys
