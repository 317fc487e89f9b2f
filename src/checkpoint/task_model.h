// The model of per-task state beyond memory and files: pending and queued signals (with their
// siginfo), alternate signal stacks, interval and POSIX timers, file locks, scheduling, personality,
// prctl-level attributes, robust futex lists, and the exit status of a zombie. Plain data only;
// collected by task_state.cpp, encoded by task_state_codec.cpp. Invariants: PosixTimer ids are unique in a
// process; QueuedSignal::siginfo is exactly kSiginfoSize bytes (the kernel's siginfo_t).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cryo::checkpoint {

inline constexpr size_t kSiginfoSize = 128;

// One signal queued to a thread or to the whole process, in queue order. A standard signal
// is queued at most once; real-time signals may be queued several times with their values.
struct QueuedSignal {
    int signal { 0 };
    std::vector<uint8_t> siginfo; // the raw siginfo_t as PTRACE_PEEKSIGINFO returned it

    bool operator==(QueuedSignal const&) const = default;
};

// sigaltstack(2) of a thread (flags SS_DISABLE when none; SS_AUTODISARM kept).
struct SignalStack {
    uint64_t sp { 0 };
    int32_t flags { 2 }; // SS_DISABLE
    uint64_t size { 0 };

    bool operator==(SignalStack const&) const = default;
};

// getitimer(2): which = ITIMER_REAL / ITIMER_VIRTUAL / ITIMER_PROF, times in microseconds.
struct IntervalTimer {
    int which { 0 };
    uint64_t value_us { 0 };
    uint64_t interval_us { 0 };

    bool operator==(IntervalTimer const&) const = default;
};

// A POSIX timer (timer_create(2)) as /proc/PID/timers and timer_gettime(2) describe it.
struct PosixTimer {
    int id { 0 };
    int clock_id { 0 };
    int notify { 0 }; // SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD_ID (| SIGEV_SIGNAL)
    int signal { 0 };
    uint64_t value { 0 }; // sigev_value
    int target { 0 }; // thread id for SIGEV_THREAD_ID
    uint64_t value_ns { 0 }; // time to the next expiry, 0: disarmed
    uint64_t interval_ns { 0 };

    bool operator==(PosixTimer const&) const = default;
};

// A file lock held through an fd of the process (fdinfo "lock:" lines). flock and OFD locks
// belong to the open file description (taken again through any fd of it: a no-op when an
// earlier process already did); POSIX locks belong to the process.
enum class LockKind { Flock, Posix, Ofd };
struct FileLock {
    LockKind kind { LockKind::Flock };
    bool write { false };
    int fd { 0 };
    uint64_t start { 0 };
    uint64_t length { 0 }; // 0: to the end of the file

    bool operator==(FileLock const&) const = default;
};

// One classic-BPF seccomp filter as the kernel keeps it (PTRACE_SECCOMP_GET_FILTER): its
// program, instruction by instruction as struct sock_filter, and the one install flag the
// kernel reports (SECCOMP_FILTER_FLAG_LOG). checkpoint/seccomp.h collects and installs them.
struct SeccompInstruction {
    uint16_t code { 0 };
    uint8_t jt { 0 };
    uint8_t jf { 0 };
    uint32_t k { 0 };

    bool operator==(SeccompInstruction const&) const = default;
};
struct SeccompFilter {
    std::vector<SeccompInstruction> program;
    bool log { false };

    bool operator==(SeccompFilter const&) const = default;
};
enum class SeccompMode { Disabled = 0, Strict = 1, Filter = 2 };

// set_robust_list(2) registration of a thread: the user address of its robust_list_head
// (0: none registered) and the length it was registered with. Kernel-only state: when the
// thread exits, the kernel walks this list and marks every robust mutex still held
// FUTEX_OWNER_DIED; a thread restored without it leaves them locked for ever.
struct RobustList {
    uint64_t head { 0 };
    uint64_t length { 0 };

    bool operator==(RobustList const&) const = default;
};

// Per thread: the kernel keeps these per task.
struct ThreadState {
    std::vector<QueuedSignal> pending; // queued to this thread only
    SignalStack altstack;
    std::string comm; // the thread's name (the leader's is Process::comm)
    int nice { 0 };
    int sched_policy { 0 }; // SCHED_OTHER ...; with SCHED_RESET_ON_FORK when set
    int sched_priority { 0 };
    uint64_t sched_flags { 0 }; // sched_attr.sched_flags (reset-on-fork ...)
    bool has_sched { false }; // false: image without scheduling data, leave as created
    SeccompMode seccomp_mode { SeccompMode::Disabled };
    // Filter mode: the thread's chain, first installed first, as indices into
    // ProcessState::seccomp_filters. Threads that share a filter (inherited at clone, or
    // synced with SECCOMP_FILTER_FLAG_TSYNC) name the same index.
    std::vector<uint32_t> seccomp_chain;
    // nullopt: an image without it; restore leaves the thread's list as created (none).
    std::optional<RobustList> robust_list;

    bool operator==(ThreadState const&) const = default;
};

struct ProcessState {
    std::vector<QueuedSignal> shared_pending; // queued to the thread group
    std::vector<IntervalTimer> itimers; // armed ones only
    std::vector<PosixTimer> posix_timers;
    std::vector<FileLock> file_locks;
    uint32_t personality { 0 };
    int dumpable { 1 }; // PR_GET_DUMPABLE
    int pdeathsig { 0 }; // PR_GET_PDEATHSIG of the leader
    bool child_subreaper { false };
    uint32_t securebits { 0 };
    std::vector<SeccompFilter> seccomp_filters; // each filter of the threads' chains, once
    // A zombie: the process had exited and was not reaped yet; restore re-creates it and
    // lets it exit with the same wait status (nothing else of it is kept).
    bool zombie { false };
    int exit_status { 0 }; // the wait(2) status word
    // In a group stop at the dump: its stop signal (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU); 0:
    // running (and every image written before it was kept). Restore stops it again.
    int stop_signal { 0 };

    bool operator==(ProcessState const&) const = default;
};

} // namespace cryo::checkpoint
