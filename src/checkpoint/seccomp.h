// Seccomp state of a process tree: collected per thread at dump (mode, filter chain, LOG
// flag) and installed again at restore. The pure halves (sharing of chains between threads,
// the order of installation) are plain data and unit-tested; the Linux halves read filters
// through ptrace and install them by remote seccomp(2) calls. Invariant: cryo's own remote
// syscalls never meet a filter: every thread of a filtered process is traced with
// PTRACE_O_SUSPEND_SECCOMP from collection on (dump) and from installation on (restore),
// and the kernel lifts that suspension only when cryo detaches (or dies).
#pragma once

#include <cstdint>
#include <vector>

#include "base/error.h"
#include "checkpoint/freeze.h"
#include "checkpoint/model.h"
#include "sys/tracee.h"

namespace cryo::checkpoint {

// --- Plain data ---

// Per-thread chains (oldest filter first) as one table of filters plus index lists. A
// filter is shared between two threads when their chains are equal up to and including it:
// the kernel gives no identity for filters, and equal prefixes are what inheritance at
// clone and SECCOMP_FILTER_FLAG_TSYNC produce.
struct SeccompTable {
    std::vector<SeccompFilter> filters;
    std::vector<std::vector<uint32_t>> chains; // one per thread, indices into filters
};
SeccompTable share_seccomp_chains(std::vector<std::vector<SeccompFilter>> const& chains);

// Why a filter cannot be checkpointed, or an empty string: a SECCOMP_RET_USER_NOTIF return
// (its listener fd belongs to a supervisor that a restore cannot reconnect).
std::string seccomp_filter_problem(SeccompFilter const& filter);

// One installation, run in thread `thread` (0: the leader).
struct SeccompStep {
    size_t thread { 0 };
    SeccompMode mode { SeccompMode::Filter };
    uint32_t filter { 0 }; // index into ProcessState::seccomp_filters (filter mode)
    bool tsync { false }; // SECCOMP_FILTER_FLAG_TSYNC: every thread of the process gets it
};
// The installation order: the prefix common to every thread's chain from the leader with
// TSYNC (so threads share those filters again and a later TSYNC by the program works), then
// each thread's own rest in its chain order, strict mode last. Errors on an inconsistent
// model (index out of range, a strict thread with filters).
Result<std::vector<SeccompStep>> plan_seccomp(Process const& process);

// When the process's filters go in: after its credentials when their final state allows a
// thread to install filters (no_new_privs, or CAP_SYS_ADMIN in the effective set), else
// before them, while the new threads are still privileged (a container init loaded its
// filter before dropping privileges, without no_new_privs).
enum class SeccompPoint { BeforeCredentials, AfterCredentials };
SeccompPoint seccomp_point(Process const& process);

// --- Linux ---

// Dump side, before any remote syscall into the process: suspends seccomp for cryo's
// remote syscalls (threads attached with `trace_options`) and fills each thread's mode and
// chain and process.state.seccomp_filters. Refuses in one line a filter with a user-space
// notifier or an install flag the restore could not reproduce.
Result<void> collect_seccomp(FrozenProcess& frozen, Process& process, sys::Tracee::Options trace_options);

// Restore side: when `point` is the process's seccomp_point, installs the plan's steps by
// remote seccomp(2) in each thread (threads[i] holds process.threads[i + 1]) through a
// scratch area of its own, with every thread suspended from seccomp for the rest of the
// restore. Does nothing at the other point or for a process without seccomp.
Result<void> restore_seccomp(Process const& process, sys::Tracee& leader, std::vector<sys::Tracee>& threads,
                             sys::Tracee::Options trace_options, SeccompPoint point);

} // namespace cryo::checkpoint
