// Reading a task's seccomp state from outside: its filters through ptrace
// (PTRACE_SECCOMP_GET_FILTER / PTRACE_SECCOMP_GET_METADATA, both need CAP_SYS_ADMIN and a
// tracer that is not itself under seccomp), the "Seccomp" lines of /proc/PID/task/TID/status,
// and PTRACE_O_SUSPEND_SECCOMP, which lets a tracer's injected syscalls bypass the filters.
// The tracee must be ptrace-stopped by the caller.
#pragma once

#include <cstdint>
#include <linux/filter.h>
#include <optional>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include "base/error.h"

namespace cryo::sys {

// The filter at `index` of the task's chain, index 0 being the first installed (the oldest;
// see get_nth_filter in kernel/seccomp.c); nullopt past the end of the chain.
Result<std::optional<std::vector<sock_filter>>> ptrace_seccomp_filter(pid_t tid, unsigned index);

// The flags of that filter that the kernel reports (only SECCOMP_FILTER_FLAG_LOG today).
Result<uint64_t> ptrace_seccomp_flags(pid_t tid, unsigned index);

// PTRACE_SETOPTIONS with `options_in_use | PTRACE_O_SUSPEND_SECCOMP`: PTRACE_SETOPTIONS
// replaces the whole set, so the caller passes the options it attached with. The kernel
// clears the suspension when the tracer detaches or dies.
Result<void> ptrace_suspend_seccomp(pid_t tid, unsigned long options_in_use);

// "Seccomp:" (0 none, 1 strict, 2 filter) and "Seccomp_filters:" (length of the chain) of
// a /proc status file. Missing lines read as 0.
struct SeccompStatus {
    int mode { 0 };
    int filters { 0 };
};
Result<SeccompStatus> parse_seccomp_status(std::string_view status_text);
Result<SeccompStatus> read_seccomp_status(pid_t pid, pid_t tid);

} // namespace cryo::sys
