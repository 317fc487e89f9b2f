// clone3(2) with fork semantics (no new stack): the child continues on a copy of the
// caller's memory. Always asks for a pidfd (CLONE_PIDFD), so the parent names the child by
// pidfd and never by a pid that could be recycled. The raw syscall bypasses glibc's fork
// handlers: only call it from a single-threaded process, and in the child avoid raise(),
// abort() and pthread functions (glibc's cached thread id is still the parent's).
#pragma once

#include <csignal>
#include <cstdint>
#include <sys/types.h>

#include "base/error.h"
#include "base/fd.h"

namespace cryo::sys {

struct CloneOptions {
    uint64_t flags { 0 }; // CLONE_NEW*, CLONE_PARENT...; CLONE_PIDFD is always added
    int exit_signal { SIGCHLD };
    FdRef cgroup {}; // valid: CLONE_INTO_CGROUP (cgroup v2 directory fd)
};

struct Cloned {
    pid_t pid { 0 }; // 0 in the child
    Fd pidfd; // the child's pidfd, in the parent only
    bool is_child() const { return pid == 0; }
};

Result<Cloned> clone3(CloneOptions const& options);

// fork() through clone3 (same rules as above).
inline Result<Cloned> fork_with_pidfd()
{
    return clone3({});
}

// _exit(2) without running atexit handlers or flushing stdio buffers of the parent.
[[noreturn]] void exit_now(int code);

} // namespace cryo::sys
