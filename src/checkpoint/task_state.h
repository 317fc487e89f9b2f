// Collecting and re-creating the per-task state of task_model.h (Linux side): pending and
// queued signals with their siginfo (PTRACE_PEEKSIGINFO; re-queued from inside the task with
// rt_tgsigqueueinfo), sigaltstack, itimers and POSIX timers (same ids), personality, nice and
// scheduling, thread names, robust futex lists (set_robust_list), prctl attributes (dumpable,
// parent-death signal, subreaper, securebits) and the capability sets. Everything that can
// only be asked from inside runs as remote syscalls through a scratch area of the caller;
// nothing stays mapped.
#pragma once

#include <vector>

#include "base/error.h"
#include "checkpoint/freeze.h"
#include "checkpoint/model.h"
#include "checkpoint/remote.h"
#include "sys/tracee.h"

namespace cryo::checkpoint {

// Dump side. Call after the threads' registers are in process.threads and before any remote
// syscall of collect.cpp that could dequeue a pending signal; the leader's syscall address
// must be set. Fills process.state and every thread's state.
Result<void> collect_task_state(FrozenProcess& frozen, Process& process);

// A zombie (FrozenProcess::zombie): ids, name, credentials and its wait status only; one
// placeholder thread (the leader) so the image keeps its invariants.
Result<Process> collect_zombie(int pid);

// Restore side; `scratch` is mapped in the process and bytes from `offset` on are free for
// syscall arguments. Threads: threads[i] holds process.threads[i + 1].

// Once every thread exists, before credentials: personality, names, scheduling, sigaltstacks,
// robust lists (set_robust_list in each thread), subreaper, timers (their targets must
// exist), then the queued signals, with every signal blocked until the final masks go in (so
// none is delivered to cryo's remote syscalls).
Result<void> restore_task_state(Process const& process, sys::Tracee& leader, std::vector<sys::Tracee>& threads,
                                RemoteScratch& scratch, uint64_t offset);

// Around the uid/gid change of one thread (restore_credentials): before it, while still
// privileged, keep capabilities across the uid change and shrink the bounding set; after it,
// the permitted/effective/inheritable and ambient sets, no_new_privs, and the prctl
// attributes that a credential change resets (dumpable, parent-death signal).
Result<void> prepare_capabilities(Process const& process, sys::Tracee& thread, RemoteScratch& scratch, uint64_t offset);
Result<void> restore_capabilities(Process const& process, sys::Tracee& thread, RemoteScratch& scratch, uint64_t offset);

// Makes the freshly forked process (still a copy of cryo, held by `leader`) a zombie with
// the image's wait status: exit_group(code) from inside, or its terminating signal with the
// default action. The real parent then sees it as an unreaped child; `leader` is released.
Result<void> restore_zombie(Process const& process, sys::Tracee& leader);

} // namespace cryo::checkpoint
