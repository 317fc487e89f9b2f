// Freezing a bare process tree with ptrace: every thread of every descendant of the root is
// seized and interrupted, repeating the walk until no new task appears. Dropping a FrozenTree
// detaches everything (registers restored), so any error path leaves the tree running.
// A thread whose syscall the interrupt itself ended (-EINTR from epoll_wait...) is put back
// onto that syscall the moment it is seized (syscall_reentry.h (3)): whoever lets it go (thaw,
// a failed dump, the kernel when cryo dies) lets it go into the syscall, not out with EINTR.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_set>
#include <utility>
#include <vector>

#include "base/error.h"
#include "checkpoint/syscall_reentry.h"
#include "sys/tracee.h"

namespace cryo::checkpoint {

// A thread the freeze put back onto its syscall (syscall_reentry.h plan_freeze_rewind).
struct RewoundThread {
    pid_t tid { 0 };
    sys::Registers live {}; // FreezePlan::regs, given back on release (remote syscalls rewind them)
};

struct FrozenProcess {
    int pid { 0 };
    std::vector<sys::Tracee> threads; // threads[0] is the leader (tid == pid)
    // An exited process its parent has not reaped: not seized (it cannot be), no threads.
    bool zombie { false };
    std::vector<RewoundThread> rewound; // put back onto their syscalls at the freeze
    // Threads found in restart_syscall, with the call each continues (syscall_reentry.h (4)):
    // what the image's plan needs for those the freeze left with the kernel's restart.
    std::vector<std::pair<pid_t, ContinuedCall>> continued;
    // The process was in a group stop (SIGSTOP, SIGTSTP...) when seized: its stop signal, as
    // the seize's PTRACE_EVENT_STOP reported it; 0: running. Thawing leaves it stopped (the
    // kernel re-instates the group stop on detach, ptrace(2) "group-stop").
    int stop_signal { 0 };
};

class FrozenTree {
public:
    FrozenTree() = default;
    FrozenTree(FrozenTree&&) = default;
    FrozenTree& operator=(FrozenTree&&) = delete;
    // Lets every thread go (a failed dump): as thaw(), errors logged.
    ~FrozenTree();

    int root_pid() const { return m_root; }
    std::vector<FrozenProcess>& processes() { return m_processes; }
    // SIGKILLs every process and reaps the ptrace side of every thread (dump without
    // --leave-running). The tree is gone afterwards.
    Result<void> kill_all();
    // Detaches every thread, restoring registers; errors are collected, all are detached. A
    // rewound thread is let go in the restartable form (syscall_reentry.h restartable): it
    // re-enters its syscall, or, if a signal came for it meanwhile (also one cryo took off it
    // during a remote syscall and re-sends), runs the handler and returns EINTR, as the kernel
    // would have it.
    Result<void> thaw();
    // The group stops as they are now: each stopped process's stop_signal becomes 0 if a
    // SIGCONT came since the seize (group_stop_now). The dump calls it right before it writes
    // the processes' metadata, so that the image does not say stopped what runs once thawed.
    // Reads only (/proc/PID/task/TID/status and the signals cryo took off the threads).
    Result<void> recheck_group_stops();

private:
    friend Result<FrozenTree> freeze_tree(int root_pid);
    void rearm_rewinds();
    int m_root { 0 };
    std::vector<FrozenProcess> m_processes; // parents before children
};

Result<FrozenTree> freeze_tree(int root_pid);

// Pure. The stop signal now of a process seized in a group stop by `stop_signal` (0: it was
// running). A SIGCONT ends a group stop the moment it is sent, traced or not (kernel/signal.c
// prepare_signal clears SIGNAL_STOP_STOPPED), but to a traced process it stays queued until
// the process takes it; a stop signal sent after it flushes it and is queued itself (the
// process stops again once let go), and the other way round: at most one kind is queued.
// pending: the signals queued in the kernel now, shared and every thread's (bit n-1 for
// signal n): a SIGCONT there says 0, a stop signal `stop_signal`. taken: the last SIGCONT or
// stop signal among those cryo took off a thread during remote syscalls (0 if none; of several
// threads' a stop signal, their order being unknown); older than anything still queued, which
// would have flushed it, so it decides only when nothing of either kind is queued.
int group_stop_now(int stop_signal, uint64_t pending, int taken);

// The processes of a tree in the order a walk finds them: the root, then breadth first, each
// once. The dump walks its tree twice, and both walks step with this: before the freeze, to
// read smaps early (dump.cpp tree_pids_unfrozen), and in freeze_tree, which repeats its walk
// until no new task appears. They cannot be one walk: the first list is stale by the freeze
// (a pid in it may have exited and been reused outside the tree), so the freeze only follows
// children of processes it already holds.
class TreeWalk {
public:
    explicit TreeWalk(int root)
        : m_pids { root }
        , m_seen { root }
    {
    }
    std::vector<int> const& pids() const { return m_pids; }
    // Appends the children of threads `tids` of process `pid` (/proc/PID/task/TID/children)
    // that the walk has not found yet; true when there was one. A thread whose children
    // cannot be read (it exited) adds none.
    bool add_children(int pid, std::span<int const> tids);

private:
    std::vector<int> m_pids;
    std::unordered_set<int> m_seen;
};

} // namespace cryo::checkpoint
