// Freezing a bare process tree with ptrace: every thread of every descendant of the root is
// seized and interrupted, repeating the walk until no new task appears. Dropping a FrozenTree
// detaches everything (registers restored), so any error path leaves the tree running.
#pragma once

#include <vector>

#include "base/error.h"
#include "sys/tracee.h"

namespace cryo::checkpoint {

struct FrozenProcess {
    int pid { 0 };
    std::vector<sys::Tracee> threads; // threads[0] is the leader (tid == pid)
    // An exited process its parent has not reaped: not seized (it cannot be), no threads.
    bool zombie { false };
};

class FrozenTree {
public:
    int root_pid() const { return m_root; }
    std::vector<FrozenProcess>& processes() { return m_processes; }
    // SIGKILLs every process and reaps the ptrace side of every thread (dump without
    // --leave-running). The tree is gone afterwards.
    Result<void> kill_all();
    // Detaches every thread, restoring registers; errors are collected, all are detached.
    Result<void> thaw();

private:
    friend Result<FrozenTree> freeze_tree(int root_pid);
    int m_root { 0 };
    std::vector<FrozenProcess> m_processes; // parents before children
};

Result<FrozenTree> freeze_tree(int root_pid);

} // namespace cryo::checkpoint
