// Dump side of task_state.h.
#include "checkpoint/task_state.h"

#include <algorithm>
#include <csignal>
#include <cstring>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>

#include "base/log.h"
#include "checkpoint/syscall_reentry.h"
#include "sys/file.h"
#include "sys/file_locks.h"
#include "sys/futex_state.h"
#include "sys/proc_limits.h"
#include "sys/ptrace_calls.h"
#include "sys/task_attrs.h"

namespace cryo::checkpoint {

namespace {

static_assert(sizeof(siginfo_t) == kSiginfoSize);
constexpr uint64_t kSchedResetOnFork = 0x01; // SCHED_FLAG_RESET_ON_FORK (linux/sched.h)

std::vector<QueuedSignal> to_queued(std::vector<siginfo_t> const& infos)
{
    std::vector<QueuedSignal> out;
    for (auto const& info : infos) {
        QueuedSignal s;
        s.signal = info.si_signo;
        s.siginfo.resize(kSiginfoSize);
        std::memcpy(s.siginfo.data(), &info, kSiginfoSize);
        out.push_back(std::move(s));
    }
    return out;
}

uint64_t microseconds(struct timeval const& tv)
{
    return static_cast<uint64_t>(tv.tv_sec) * 1000000 + static_cast<uint64_t>(tv.tv_usec);
}

uint64_t nanoseconds(struct timespec const& ts)
{
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000 + static_cast<uint64_t>(ts.tv_nsec);
}

std::string thread_comm(int pid, int tid)
{
    auto text = sys::read_file(fmt::format("/proc/{}/task/{}/comm", pid, tid));
    if (!text)
        return {};
    while (!text->empty() && text->back() == '\n')
        text->pop_back();
    return *text;
}

// A thread stopped in a syscall that the kernel would continue through its restart block
// (-ERESTART_RESTARTBLOCK): its image registers as syscall_reentry.h plans them. A sleep
// that goes on with its time left needs a valid *rem (the kernel wrote it at the freeze);
// without one it sleeps its whole request again. Reads only: the running tree is not touched
// (with --leave-running, detaching lets the kernel continue the syscall with its restart block).
// continued: the call a thread found in restart_syscall continues (syscall_reentry.h (4)).
void plan_thread_restart(int pid, sys::Registers const& frozen, Thread& thread, ContinuedCall continued)
{
    auto plan = plan_restart_block(frozen, continued);
    if (plan.action == RestartAction::None)
        return;
    if (plan.action == RestartAction::SleepRemaining) {
        if (auto rem = read_time_left(pid, plan.rem_address)) {
            log::debug("thread {}: {} ns of its sleep left", thread.tid, nanoseconds(*rem));
        } else {
            auto nr = plan.regs.rax; // the sleep's number, also for one continued in restart_syscall
            plan.action = RestartAction::Reenter;
            plan.regs = same_call_registers(frozen);
            plan.regs.rax = nr;
        }
    }
    log::debug("thread {}: in syscall {}{} (-ERESTART_RESTARTBLOCK): {} after restore", thread.tid, frozen.orig_rax,
               plan.continued ? fmt::format(" continuing {}", continued_call_name(continued)) : std::string {},
               restart_action_name(plan.action));
    thread.regs = from_kernel(plan.regs);
}

} // namespace

Result<void> collect_task_state(FrozenProcess& frozen, Process& p)
{
    int pid = frozen.pid;
    auto& leader = frozen.threads.at(0);

    for (size_t i = 0; i < frozen.threads.size(); ++i) {
        int tid = frozen.threads[i].tid();
        auto continued = std::find_if(frozen.continued.begin(), frozen.continued.end(),
                                      [&](auto const& c) { return c.first == tid; });
        plan_thread_restart(pid, frozen.threads[i].original_regs(), p.threads.at(i),
                            continued == frozen.continued.end() ? ContinuedCall::Unknown : continued->second);
    }

    // Queued signals first: a remote syscall could let the kernel dequeue an unblocked one.
    for (size_t i = 0; i < frozen.threads.size(); ++i)
        p.threads.at(i).state.pending = to_queued(TRY(sys::ptrace_peek_siginfo(frozen.threads[i].tid(), false)));
    p.state.shared_pending = to_queued(TRY(sys::ptrace_peek_siginfo(leader.tid(), true)));

    p.state.stop_signal = frozen.stop_signal;
    p.state.personality = TRY(sys::read_personality(pid));
    for (size_t i = 0; i < frozen.threads.size(); ++i) {
        int tid = frozen.threads[i].tid();
        auto& s = p.threads.at(i).state;
        s.comm = thread_comm(pid, tid);
        auto sched = TRY(sys::sched_getattr(tid));
        s.sched_policy = static_cast<int>(sched.policy);
        s.sched_priority = static_cast<int>(sched.priority);
        s.sched_flags = sched.flags & kSchedResetOnFork;
        s.nice = TRY(sys::nice_of(tid));
        s.has_sched = true;
        // Kernel-only state (glibc registers each thread's list at its start); readable from
        // outside by the tracer, no remote syscall needed.
        auto robust = TRY(sys::robust_list_registration(tid).context("thread {}", tid));
        s.robust_list = RobustList { robust.head, robust.length };
    }

    // File locks held through each fd. A dup'ed fd shows the same lock again: kept once.
    auto description_of = [&](int fd) {
        for (auto const& f : p.files)
            if (f.fd == fd)
                return f.description;
        return 0u;
    };
    for (auto const& f : p.files) {
        for (auto const& l : TRY(sys::read_fd_locks(pid, f.fd).context("fd {} locks", f.fd))) {
            FileLock lock;
            if (l.kind == "FLOCK")
                lock.kind = LockKind::Flock;
            else if (l.kind == "POSIX")
                lock.kind = LockKind::Posix;
            else if (l.kind == "OFDLCK")
                lock.kind = LockKind::Ofd;
            else
                return Error::format("fd {} holds a {} lock, which is not supported", f.fd, l.kind);
            if (l.access != "READ" && l.access != "WRITE")
                return Error::format("fd {}: {} lock in state {} is not supported", f.fd, l.kind, l.access);
            lock.write = l.access == "WRITE";
            lock.fd = f.fd;
            lock.start = l.start;
            lock.length = l.length;
            bool again = std::any_of(p.state.file_locks.begin(), p.state.file_locks.end(), [&](FileLock const& o) {
                return o.kind == lock.kind && o.write == lock.write && o.start == lock.start && o.length == lock.length
                    && description_of(o.fd) == f.description;
            });
            if (!again)
                p.state.file_locks.push_back(lock);
        }
    }

    // From inside: answers land in a scratch page that is unmapped again.
    auto scratch = TRY(RemoteScratch::map(leader, 4096));
    for (size_t i = 0; i < frozen.threads.size(); ++i) {
        auto& t = frozen.threads[i];
        t.set_syscall_address(leader.syscall_address());
        TRY(t.syscall_checked("sigaltstack", SYS_sigaltstack, { 0, scratch.address() }));
        stack_t st {};
        TRY(scratch.read(0, &st, sizeof st));
        auto& a = p.threads.at(i).state.altstack;
        // SAFETY: ss_sp is an address in the tracee, kept as a number.
        a.sp = reinterpret_cast<uint64_t>(st.ss_sp);
        a.flags = st.ss_flags;
        a.size = st.ss_size;
    }
    for (int which : { ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF }) {
        TRY(leader.syscall_checked("getitimer", SYS_getitimer, { static_cast<uint64_t>(which), scratch.address() }));
        struct itimerval v { };
        TRY(scratch.read(0, &v, sizeof v));
        if (v.it_value.tv_sec || v.it_value.tv_usec)
            p.state.itimers.push_back({ which, microseconds(v.it_value), microseconds(v.it_interval) });
    }
    int value = 0;
    TRY(leader.syscall_checked("prctl PR_GET_PDEATHSIG", SYS_prctl, { PR_GET_PDEATHSIG, scratch.address() }));
    TRY(scratch.read(0, &value, sizeof value));
    p.state.pdeathsig = value;
    TRY(leader.syscall_checked("prctl PR_GET_CHILD_SUBREAPER", SYS_prctl,
                               { PR_GET_CHILD_SUBREAPER, scratch.address() }));
    TRY(scratch.read(0, &value, sizeof value));
    p.state.child_subreaper = value != 0;
    p.state.dumpable
        = static_cast<int>(TRY(leader.syscall_checked("prctl PR_GET_DUMPABLE", SYS_prctl, { PR_GET_DUMPABLE })));
    p.state.securebits = static_cast<uint32_t>(
        TRY(leader.syscall_checked("prctl PR_GET_SECUREBITS", SYS_prctl, { PR_GET_SECUREBITS })));

    // From /proc: exact, and readable from outside whatever the uids (prlimit on another
    // process needs them to match cryo's, or CAP_SYS_RESOURCE); it was 16 remote syscalls.
    for (auto const& l : TRY(sys::read_proc_limits(pid)))
        p.rlimits.push_back({ l.resource, l.soft, l.hard });
    for (auto const& t : TRY(sys::read_proc_timers(pid))) {
        PosixTimer timer;
        timer.id = t.id;
        timer.clock_id = t.clock_id;
        timer.notify = t.notify;
        timer.signal = t.signal;
        timer.value = t.value;
        timer.target = (t.notify & SIGEV_THREAD_ID) ? t.target : 0;
        TRY(leader
                .syscall_checked("timer_gettime", SYS_timer_gettime, { static_cast<uint64_t>(t.id), scratch.address() })
                .context("POSIX timer {}", t.id));
        struct itimerspec spec { };
        TRY(scratch.read(0, &spec, sizeof spec));
        timer.value_ns = nanoseconds(spec.it_value);
        timer.interval_ns = nanoseconds(spec.it_interval);
        p.state.posix_timers.push_back(timer);
    }
    std::sort(p.state.posix_timers.begin(), p.state.posix_timers.end(),
              [](PosixTimer const& a, PosixTimer const& b) { return a.id < b.id; });
    TRY(scratch.unmap());
    return {};
}

Result<Process> collect_zombie(int pid)
{
    auto stat = TRY(sys::read_stat(pid));
    auto status = TRY(sys::read_status(pid));
    Process p;
    p.pid = pid;
    p.ppid = stat.ppid;
    p.pgid = stat.pgid;
    p.sid = stat.sid;
    p.comm = stat.comm;
    std::copy(std::begin(status.uid), std::end(status.uid), p.credentials.uid);
    std::copy(std::begin(status.gid), std::end(status.gid), p.credentials.gid);
    p.credentials.groups = status.groups;
    p.state.zombie = true;
    p.state.exit_status = stat.exit_code;
    Thread leader;
    leader.tid = pid;
    leader.state.comm = stat.comm;
    leader.state.nice = static_cast<int>(stat.nice); // ps shows it ("ZN")
    leader.state.has_sched = true;
    p.threads.push_back(std::move(leader));
    return p;
}

} // namespace cryo::checkpoint
