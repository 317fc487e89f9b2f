// Restore side of task_state.h: everything here runs as remote syscalls in the restored
// threads (held stopped by cryo) or, for what the kernel allows on other tasks (scheduling,
// nice), from cryo.
#include <algorithm>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "checkpoint/task_state.h"
#include "sys/file.h"
#include "sys/procfs.h"
#include "sys/ptrace_calls.h"
#include "sys/task_attrs.h"

#ifndef PR_TIMER_CREATE_RESTORE_IDS
#define PR_TIMER_CREATE_RESTORE_IDS 77 // Linux 6.15: timer_create takes the id to use
#define PR_TIMER_CREATE_RESTORE_IDS_OFF 0
#define PR_TIMER_CREATE_RESTORE_IDS_ON 1
#endif

namespace cryo::checkpoint {

namespace {

constexpr uint64_t kOfdSetLock = 37; // F_OFD_SETLK (fcntl.h with _GNU_SOURCE)
constexpr uint32_t kSecbitKeepCaps = 1U << 4; // SECBIT_KEEP_CAPS (linux/securebits.h)
constexpr uint32_t kSecbitKeepCapsLocked = 1U << 5;
// Kernel struct sigevent: value, signo, notify, then a union whose first int is the tid.
struct KernelSigevent {
    uint64_t value;
    int32_t signo;
    int32_t notify;
    int32_t tid;
    int32_t pad[11];
};
static_assert(sizeof(KernelSigevent) == 64);

struct timeval to_timeval(uint64_t us)
{
    return { static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000) };
}

struct timespec to_timespec(uint64_t ns)
{
    return { static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000) };
}

Result<int> last_cap()
{
    auto text = TRY(sys::read_file("/proc/sys/kernel/cap_last_cap"));
    return std::atoi(text.c_str());
}

Result<sys::StatusInfo> thread_status(int pid, int tid)
{
    auto text = TRY(sys::read_file(fmt::format("/proc/{}/task/{}/status", pid, tid)));
    return sys::parse_status(text);
}

Result<void> prctl(sys::Tracee& t, char const* what, std::array<uint64_t, 5> args)
{
    TRY(t.syscall_checked(what, SYS_prctl, { args[0], args[1], args[2], args[3], args[4] }));
    return {};
}

// Creates the process's POSIX timers with their ids: with PR_TIMER_CREATE_RESTORE_IDS the
// kernel takes the id from *created_timer_id; older kernels hand ids out in increasing order,
// so timers are created (and unwanted ones deleted) until the wanted id comes.
Result<void> restore_posix_timers(Process const& p, sys::Tracee& leader, RemoteScratch& scratch, uint64_t offset)
{
    auto timers = p.state.posix_timers;
    if (timers.empty())
        return {};
    std::sort(timers.begin(), timers.end(), [](auto const& a, auto const& b) { return a.id < b.id; });
    uint64_t event_at = scratch.address() + offset;
    uint64_t id_at = event_at + sizeof(KernelSigevent);
    uint64_t spec_at = id_at + 8;
    long r = TRY(leader.syscall(SYS_prctl, { PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_ON, 0, 0, 0 }));
    bool explicit_ids = r == 0;
    for (auto const& t : timers) {
        KernelSigevent event {};
        event.value = t.value;
        event.signo = t.signal;
        event.notify = t.notify;
        event.tid = t.target;
        TRY(scratch.write(offset, &event, sizeof event));
        int got = -1;
        for (int attempt = 0; got != t.id; ++attempt) {
            if (attempt > 65536)
                return Error::format("POSIX timer {}: id not reached after {} timers", t.id, attempt);
            int32_t wanted = t.id;
            TRY(scratch.write(offset + sizeof event, &wanted, sizeof wanted));
            TRY(leader
                    .syscall_checked("timer_create", SYS_timer_create,
                                     { static_cast<uint64_t>(t.clock_id), event_at, id_at })
                    .context("POSIX timer {}", t.id));
            TRY(scratch.read(offset + sizeof event, &got, sizeof got));
            if (got == t.id)
                break;
            TRY(leader.syscall_checked("timer_delete", SYS_timer_delete, { static_cast<uint64_t>(got) }));
            if (explicit_ids || got > t.id)
                return Error::format("POSIX timer {}: the kernel gave id {}", t.id, got);
        }
        if (t.value_ns == 0)
            continue;
        struct itimerspec spec {
            to_timespec(t.interval_ns), to_timespec(t.value_ns)
        };
        TRY(scratch.write(offset + sizeof event + 8, &spec, sizeof spec));
        TRY(leader.syscall_checked("timer_settime", SYS_timer_settime, { static_cast<uint64_t>(t.id), 0, spec_at, 0 })
                .context("POSIX timer {}", t.id));
    }
    if (explicit_ids)
        TRY(prctl(leader, "prctl PR_TIMER_CREATE_RESTORE_IDS off",
                  { PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_OFF, 0, 0, 0 }));
    return {};
}

// Queues signals from inside the receiving thread: the kernel lets a task queue any siginfo
// (si_code >= 0 included) only to itself. pid and tid are the ids the process sees (its own
// pid namespace), i.e. the image's.
Result<void> queue_signals(sys::Tracee& t, int pid, int tid, std::vector<QueuedSignal> const& signals, bool shared,
                           RemoteScratch& scratch, uint64_t offset)
{
    for (auto const& s : signals) {
        if (s.siginfo.size() != kSiginfoSize)
            return Error::format("signal {}: siginfo of {} bytes", s.signal, s.siginfo.size());
        TRY(scratch.write(offset, s.siginfo.data(), kSiginfoSize));
        uint64_t info = scratch.address() + offset;
        auto sig = static_cast<uint64_t>(s.signal);
        if (shared)
            TRY(t.syscall_checked("rt_sigqueueinfo", SYS_rt_sigqueueinfo, { static_cast<uint64_t>(pid), sig, info })
                    .context("queue signal {}", s.signal));
        else
            TRY(t.syscall_checked("rt_tgsigqueueinfo", SYS_rt_tgsigqueueinfo,
                                  { static_cast<uint64_t>(pid), static_cast<uint64_t>(tid), sig, info })
                    .context("queue signal {}", s.signal));
    }
    return {};
}

} // namespace

Result<void> restore_task_state(Process const& p, sys::Tracee& leader, std::vector<sys::Tracee>& threads,
                                RemoteScratch& scratch, uint64_t offset)
{
    auto const& s = p.state;
    auto thread_at = [&](size_t i) -> sys::Tracee& { return i == 0 ? leader : threads.at(i - 1); };
    if (threads.size() + 1 != p.threads.size())
        return Error::format("{} threads restored, the image has {}", threads.size() + 1, p.threads.size());
    // Nothing may be delivered while cryo still runs syscalls in the threads; the final masks
    // go in last (finish_thread), with the registers.
    for (size_t i = 0; i < p.threads.size(); ++i)
        TRY(sys::ptrace_set_sigmask(thread_at(i).tid(), ~0ULL));

    for (size_t i = 0; i < p.threads.size(); ++i) {
        auto& t = thread_at(i);
        auto const& ts = p.threads[i].state;
        TRY(t.syscall_checked("personality", SYS_personality, { s.personality }));
        if (i > 0 && !ts.comm.empty()) {
            auto name = ts.comm.substr(0, 15);
            TRY(scratch.write(offset, name.c_str(), name.size() + 1));
            TRY(prctl(t, "prctl PR_SET_NAME", { PR_SET_NAME, scratch.address() + offset, 0, 0, 0 }));
        }
        if (ts.has_sched) {
            sys::SchedAttr wanted { static_cast<uint32_t>(ts.sched_policy), ts.sched_flags, ts.nice,
                                    static_cast<uint32_t>(ts.sched_priority) };
            auto current = TRY(sys::sched_getattr(t.tid()));
            if (current.policy != wanted.policy || current.priority != wanted.priority || current.flags != wanted.flags
                || current.nice != wanted.nice)
                TRY(sys::sched_setattr(t.tid(), wanted).context("thread {} scheduling", t.tid()));
            if (TRY(sys::nice_of(t.tid())) != ts.nice)
                TRY(sys::set_nice(t.tid(), ts.nice));
        }
        if (!(ts.altstack.flags & SS_DISABLE)) {
            stack_t st {};
            // SAFETY: ss_sp is an address in the restored process, written there as a number.
            st.ss_sp = reinterpret_cast<void*>(ts.altstack.sp);
            st.ss_flags = ts.altstack.flags & ~SS_ONSTACK;
            st.ss_size = ts.altstack.size;
            TRY(scratch.write(offset, &st, sizeof st));
            TRY(t.syscall_checked("sigaltstack", SYS_sigaltstack, { scratch.address() + offset, 0 })
                    .context("thread {}", t.tid()));
        }
        // set_robust_list(2) acts on the calling thread only: run in each thread. A head of 0
        // (the image says none) is set too.
        if (ts.robust_list)
            TRY(t.syscall_checked("set_robust_list", SYS_set_robust_list,
                                  { ts.robust_list->head, ts.robust_list->length })
                    .context("thread {} robust list {:#x}", p.threads[i].tid, ts.robust_list->head));
    }
    // File locks, through the same fds (installed already); never waiting: a lock taken by
    // someone else meanwhile is an error naming the fd.
    for (auto const& l : s.file_locks) {
        auto fd = static_cast<uint64_t>(l.fd);
        if (l.kind == LockKind::Flock) {
            TRY(leader
                    .syscall_checked("flock", SYS_flock,
                                     { fd, static_cast<uint64_t>((l.write ? LOCK_EX : LOCK_SH) | LOCK_NB) })
                    .context("file lock on fd {}", l.fd));
            continue;
        }
        struct flock f { };
        f.l_type = static_cast<short>(l.write ? F_WRLCK : F_RDLCK);
        f.l_whence = SEEK_SET;
        f.l_start = static_cast<off_t>(l.start);
        f.l_len = static_cast<off_t>(l.length);
        TRY(scratch.write(offset, &f, sizeof f));
        uint64_t command = l.kind == LockKind::Posix ? F_SETLK : kOfdSetLock;
        TRY(leader.syscall_checked("fcntl F_SETLK", SYS_fcntl, { fd, command, scratch.address() + offset })
                .context("{} lock on fd {} ({}+{})", l.kind == LockKind::Posix ? "POSIX" : "OFD", l.fd, l.start,
                         l.length));
    }
    if (s.child_subreaper)
        TRY(prctl(leader, "prctl PR_SET_CHILD_SUBREAPER", { PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0 }));

    for (auto const& it : s.itimers) {
        struct itimerval v {
            to_timeval(it.interval_us), to_timeval(it.value_us)
        };
        TRY(scratch.write(offset, &v, sizeof v));
        TRY(leader
                .syscall_checked("setitimer", SYS_setitimer,
                                 { static_cast<uint64_t>(it.which), scratch.address() + offset, 0 })
                .context("itimer {}", it.which));
    }
    TRY(restore_posix_timers(p, leader, scratch, offset));

    for (size_t i = 0; i < p.threads.size(); ++i)
        TRY(queue_signals(thread_at(i), p.pid, p.threads[i].tid, p.threads[i].state.pending, false, scratch, offset)
                .context("thread {}", p.threads[i].tid));
    TRY(queue_signals(leader, p.pid, p.pid, s.shared_pending, true, scratch, offset));
    return {};
}

Result<void> prepare_capabilities(Process const& p, sys::Tracee& t, RemoteScratch&, uint64_t)
{
    auto const& c = p.credentials;
    auto status = TRY(thread_status(t.tgid(), t.tid()));
    int last = TRY(last_cap());
    for (int cap = 0; cap <= last && cap < 64; ++cap) {
        uint64_t bit = 1ULL << cap;
        if ((status.cap_bnd & bit) && !(c.cap_bounding & bit))
            TRY(prctl(t, "prctl PR_CAPBSET_DROP", { PR_CAPBSET_DROP, static_cast<uint64_t>(cap), 0, 0, 0 }));
    }
    // Keep the permitted set across a change away from uid 0 (capabilities(7), "Effect of user
    // ID changes"); restore_capabilities clears the bit again unless the image had it.
    uint32_t bits = p.state.securebits;
    if (!(bits & kSecbitKeepCapsLocked))
        bits |= kSecbitKeepCaps;
    long current = TRY(t.syscall_checked("prctl PR_GET_SECUREBITS", SYS_prctl, { PR_GET_SECUREBITS }));
    if (static_cast<uint32_t>(current) != bits)
        TRY(prctl(t, "prctl PR_SET_SECUREBITS", { PR_SET_SECUREBITS, bits, 0, 0, 0 }));
    return {};
}

Result<void> restore_capabilities(Process const& p, sys::Tracee& t, RemoteScratch& scratch, uint64_t offset)
{
    auto const& c = p.credentials;
    auto status = TRY(thread_status(t.tgid(), t.tid()));
    if (status.cap_eff != c.cap_effective || status.cap_prm != c.cap_permitted || status.cap_inh != c.cap_inheritable) {
        struct __user_cap_header_struct header {
            _LINUX_CAPABILITY_VERSION_3, 0
        };
        struct __user_cap_data_struct data[2] {};
        for (int i = 0; i < 2; ++i) {
            data[i].effective = static_cast<uint32_t>(c.cap_effective >> (32 * i));
            data[i].permitted = static_cast<uint32_t>(c.cap_permitted >> (32 * i));
            data[i].inheritable = static_cast<uint32_t>(c.cap_inheritable >> (32 * i));
        }
        TRY(scratch.write(offset, &header, sizeof header));
        TRY(scratch.write(offset + sizeof header, data, sizeof data));
        TRY(t.syscall_checked("capset", SYS_capset,
                              { scratch.address() + offset, scratch.address() + offset + sizeof header })
                .context("capabilities eff {:#x} prm {:#x} inh {:#x}", c.cap_effective, c.cap_permitted,
                         c.cap_inheritable));
    }
    if (status.cap_amb != c.cap_ambient) {
        TRY(prctl(t, "prctl PR_CAP_AMBIENT_CLEAR_ALL", { PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0 }));
        for (int cap = 0; cap < 64; ++cap)
            if (c.cap_ambient & (1ULL << cap))
                TRY(prctl(t, "prctl PR_CAP_AMBIENT_RAISE",
                          { PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, static_cast<uint64_t>(cap), 0, 0 })
                        .context("ambient capability {}", cap));
    }
    if (!(p.state.securebits & kSecbitKeepCaps) && !(p.state.securebits & kSecbitKeepCapsLocked))
        TRY(prctl(t, "prctl PR_SET_KEEPCAPS", { PR_SET_KEEPCAPS, 0, 0, 0, 0 }));
    if (c.no_new_privs)
        TRY(prctl(t, "prctl PR_SET_NO_NEW_PRIVS", { PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0 }));
    if (t.tid() != t.tgid())
        return {};
    // A credential change resets both (commit_creds); set them after it. Only 0 and 1 can be
    // set (2, suid_dumpable, comes from the kernel alone).
    if (p.state.dumpable == 0 || p.state.dumpable == 1)
        TRY(prctl(t, "prctl PR_SET_DUMPABLE", { PR_SET_DUMPABLE, static_cast<uint64_t>(p.state.dumpable), 0, 0, 0 }));
    if (p.state.pdeathsig) {
        // Only under its own parent: the tree's root sits under cryo now, whose exit must not
        // signal it.
        auto stat = TRY(sys::read_stat(t.tgid()));
        if (stat.ppid != ::getpid())
            TRY(prctl(t, "prctl PR_SET_PDEATHSIG",
                      { PR_SET_PDEATHSIG, static_cast<uint64_t>(p.state.pdeathsig), 0, 0, 0 }));
    }
    return {};
}

Result<void> restore_zombie(Process const& p, sys::Tracee& leader)
{
    int status = p.state.exit_status;
    int host = leader.tgid();
    if (TRY(sys::nice_of(host)) != p.threads.at(0).state.nice)
        TRY(sys::set_nice(host, p.threads.at(0).state.nice));
    if (WIFSIGNALED(status)) {
        // The default action of its signal, then the signal itself injected at this stop.
        int sig = WTERMSIG(status);
        auto scratch = TRY(RemoteScratch::map(leader, 4096));
        uint64_t action[4] = { 0, 0, 0, 0 }; // SIG_DFL
        TRY(scratch.write(0, action, sizeof action));
        TRY(leader.syscall_checked("rt_sigaction", SYS_rt_sigaction,
                                   { static_cast<uint64_t>(sig), scratch.address(), 0, 8 }));
        uint64_t unblock = 1ULL << (sig - 1);
        uint64_t mask = TRY(sys::ptrace_get_sigmask(host));
        TRY(sys::ptrace_set_sigmask(host, mask & ~unblock));
        scratch.release(); // dies with the process
        leader.forget();
        TRY(sys::ptrace_cont(host, sig));
    } else {
        // Dies inside the remote syscall: the Tracee reports that as an error and lets go.
        auto r = leader.syscall(SYS_exit_group, { static_cast<uint64_t>(WEXITSTATUS(status)) });
        if (r)
            return Error::format("exit_group returned {}", *r);
    }
    // As its tracer cryo collects the exit first; the real parent then sees the zombie.
    for (;;) {
        auto st = sys::wait_traced(host);
        if (!st || sys::classify_stop(*st) == sys::StopKind::Exited)
            break;
        (void)sys::ptrace_cont(host, 0);
    }
    auto stat = TRY(sys::read_stat(host));
    if (stat.state != 'Z' || stat.exit_code != status)
        return Error::format("zombie {}: state {} exit status {:#x}, expected Z and {:#x}", p.pid, stat.state,
                             stat.exit_code, status);
    return {};
}

} // namespace cryo::checkpoint
