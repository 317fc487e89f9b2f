#include "checkpoint/freeze.h"

#include <algorithm>
#include <csignal>
#include <optional>
#include <set>

#include "base/log.h"
#include "checkpoint/syscall_reentry.h"
#include "sys/file.h"
#include "sys/process.h"
#include "sys/procfs.h"
#include "sys/ptrace_calls.h"
#include "sys/task_stat.h"
#include <sys/ptrace.h>
#include <sys/syscall.h>

namespace cryo::checkpoint {

namespace {

// A thread that is already traced (by a debugger, or by another cryo) cannot be seized;
// say so instead of reporting a bare EPERM. Asked only once PTRACE_SEIZE said EPERM (which it
// does for a traced thread, ptrace_attach): reading /proc/PID/task/TID/status for every thread
// beforehand cost more than any other read of the freeze.
Result<void> refuse_if_traced(int pid, int tid)
{
    auto text = sys::read_file(fmt::format("/proc/{}/task/{}/status", pid, tid));
    if (!text)
        return {};
    auto pos = text->find("TracerPid:");
    if (pos == std::string::npos)
        return {};
    int tracer = std::atoi(text->c_str() + pos + 10);
    if (tracer != 0)
        return Error::format("thread {} of process {} is already traced by {}", tid, pid, tracer);
    return {};
}

// A whole process that exited and waits to be reaped (state Z with no thread left but the
// leader's entry); a leader that exited while other threads run is not one.
bool is_zombie(int pid)
{
    auto stat = sys::read_stat(pid);
    if (!stat || stat->state != 'Z')
        return false;
    auto tids = sys::list_threads(pid);
    return tids && tids->size() == 1 && (*tids)[0] == pid;
}

// The thread is gone or has exited (sys::exited_state). A stat that cannot be parsed is not
// taken for an exit: the EPERM is then reported as it is.
bool task_exited(int pid, int tid)
{
    auto state = sys::read_task_state(pid, tid);
    if (!state)
        return state.error().code() != 0; // unreadable: reaped meanwhile
    return sys::exited_state(*state);
}

// PTRACE_EVENT_STOP reports our interrupt as SIGTRAP, a group-stop as its stop signal.
bool at_interrupt_stop(int tid)
{
    auto info = sys::ptrace_siginfo(tid);
    return info && info->si_signo == SIGTRAP && info->si_code == (SIGTRAP | (PTRACE_EVENT_STOP << 8));
}

// The stop signal if the seize found the thread in a group stop: PTRACE_EVENT_STOP reports it
// with the stop signal where our interrupt has SIGTRAP (do_jobctl_trap); 0 otherwise. Read
// before any probe or remote syscall turns the stop into our interrupt's.
int group_stop_signal(int tid)
{
    auto info = sys::ptrace_siginfo(tid);
    if (!info || info->si_signo == SIGTRAP || info->si_code != (info->si_signo | (PTRACE_EVENT_STOP << 8)))
        return 0;
    return info->si_signo;
}

// A freshly seized thread whose syscall the interrupt ended, put back onto it at once
// (syscall_reentry.h plan_freeze_rewind): from here on, every way the thread is let go (thaw,
// a failed dump, the kernel's detach when cryo dies) re-enters the syscall (or ends it with
// EINTR for a signal handler, as the kernel would), and the image holds the rewound form.
// Returns the Tracee that holds the thread now (a new one: its original registers are the
// planned ones, so remote syscalls put back their rewound form, not the EINTR) and records the
// rewind.
// continued: what the thread sleeps on if it was in restart_syscall before the interrupt
// (read_continued_call). probed: set once probe_continued_call ran (the stop's kind before it).
Result<sys::Tracee> rewind_interrupted_syscall(FrozenProcess& process, sys::Tracee tracee, ContinuedCall continued,
                                               std::optional<bool> probed = std::nullopt)
{
    auto const regs = tracee.original_regs();
    int tid = tracee.tid();
    // In restart_syscall, its call not read before the interrupt (stopped again inside it, or
    // SIGCONT just before the freeze): found by letting it sleep there once more
    // (syscall_reentry.h (4)). A signal taken off it at the seize would be lost by adopt.
    if (!probed && needs_continued_probe(regs, continued) && !tracee.has_deferred_signals()
        && at_syscall_instruction(process.pid, regs.rip - 2)) {
        bool interrupt_stop = at_interrupt_stop(tid);
        auto probe = probe_continued_call(process.pid, tid);
        tracee.forget(); // held by the adopting Tracee below, or gone
        if (!probe.alive)
            return Error::from_errno(ESRCH, fmt::format("thread {} exited while being frozen", tid));
        log::debug("thread {}: in restart_syscall, probed: {}", tid, continued_call_name(probe.call));
        auto held = TRY(sys::Tracee::adopt(process.pid, tid).context("probe thread {}", tid));
        return rewind_interrupted_syscall(process, std::move(held), probe.call, interrupt_stop);
    }
    FreezeStop stop { .regs = regs,
                      .signals = {},
                      .interrupt_stop = true,
                      .signal_taken = tracee.has_deferred_signals(),
                      .continued = continued };
    if (continued != ContinuedCall::Unknown && regs.orig_rax == SYS_restart_syscall) {
        log::debug("thread {}: in restart_syscall, continuing {}", tid, continued_call_name(continued));
        process.continued.emplace_back(tid, continued);
    }
    // Most threads sit in some syscall, few in one the freeze ended: judge by the registers
    // first, and read the stop's kind and the signals only for those.
    if (plan_freeze_rewind(stop).action == FreezeRewind::None)
        return tracee;
    if (!at_syscall_instruction(process.pid, regs.rip - 2))
        return tracee; // int 0x80: a 32-bit syscall number
    // A probed thread sits in an interrupt stop now; a group-stop before keeps the kernel's
    // restart (SIGCONT continues it on its deadline).
    stop.interrupt_stop = probed ? *probed : at_interrupt_stop(tid);
    auto signals = read_thread_signals(process.pid, tid);
    if (!signals)
        return tracee; // killed meanwhile: nothing to rewind, and the walk sees it gone
    stop.signals = *signals;
    auto plan = plan_freeze_rewind(stop);
    if (plan.action == FreezeRewind::None)
        return tracee;
    // No valid time left in *rem: the image falls back to the whole sleep again, which would
    // not keep the live thread's time; it keeps the kernel's restart.
    if (plan.restart.action == RestartAction::SleepRemaining && !read_time_left(process.pid, plan.restart.rem_address))
        return tracee;
    // SAFETY: a thread we hold in its interrupt stop (inside the kernel's get_signal): its own
    // registers, with the syscall's result replaced by -ERESTARTNOHAND (and a sleep's request
    // by its time left), which the kernel turns into a re-entry or, for a handler, EINTR.
    TRY(sys::ptrace_set_regs(tid, plan.regs).context("rewind thread {}", tid));
    auto rewound = TRY(sys::Tracee::adopt(process.pid, tid).context("rewind thread {}", tid));
    tracee.forget(); // handed over to `rewound`, which detaches it
    log::debug("thread {}: syscall {} ended by the freeze (rax {}): {}{}{}", tid,
               plan.restart.continued ? plan.restart.regs.rax : regs.orig_rax, static_cast<long>(regs.rax),
               freeze_rewind_name(plan.action), plan.action == FreezeRewind::RestartBlock ? ": " : "",
               plan.action == FreezeRewind::RestartBlock ? restart_action_name(plan.restart.action) : "");
    process.rewound.push_back({ .tid = tid, .live = plan.regs });
    return rewound;
}

} // namespace

Result<FrozenTree> freeze_tree(int root_pid)
{
    if (root_pid <= 1)
        return Error::format("refusing to freeze pid {}", root_pid);
    if (!sys::exists(fmt::format("/proc/{}", root_pid)))
        return Error::format("process {} does not exist", root_pid);
    FrozenTree tree;
    tree.m_root = root_pid;
    std::set<int> seized; // tids
    TreeWalk walk(root_pid);
    bool changed = true;
    while (changed) {
        changed = false;
        for (size_t i = 0; i < walk.pids().size(); ++i) {
            int pid = walk.pids()[i];
            if (tree.m_processes.size() <= i) {
                tree.m_processes.emplace_back();
                tree.m_processes.back().pid = pid;
            }
            auto& process = tree.m_processes[i];
            if (process.zombie || is_zombie(pid)) {
                process.zombie = true;
                continue;
            }
            auto tids = TRY(sys::list_threads(pid).context("list threads of {}", pid));
            // The leader first, so threads[0] is always the thread group leader.
            std::stable_partition(tids.begin(), tids.end(), [&](int t) { return t == pid; });
            for (int tid : tids) {
                if (seized.contains(tid))
                    continue;
                // Only readable before the interrupt ends the sleep (syscall_reentry.h (4)).
                auto continued = read_continued_call(pid, tid);
                auto tracee = sys::Tracee::seize(pid, tid, {});
                if (!tracee) {
                    if (tracee.error().is_errno(ESRCH)) {
                        changed = true; // exited meanwhile: walk again (it may be a zombie now)
                        continue;
                    }
                    // A task that exited since the walk read it refuses attach with EPERM:
                    // look again in the next pass (a whole process is then a zombie).
                    if (tracee.error().is_errno(EPERM)) {
                        TRY(refuse_if_traced(pid, tid));
                        if (task_exited(pid, tid)) {
                            changed = true;
                            continue;
                        }
                    }
                    return tracee.release_error().add_context(fmt::format("freeze process {}", pid));
                }
                // One thread is enough: a group stop is the whole process's.
                if (process.stop_signal == 0) {
                    process.stop_signal = group_stop_signal(tid);
                    if (process.stop_signal != 0)
                        log::debug("process {}: seized in a group stop (SIG{})", pid,
                                   ::sigabbrev_np(process.stop_signal));
                }
                auto held = rewind_interrupted_syscall(process, tracee.release_value(), continued);
                if (!held && held.error().is_errno(ESRCH)) {
                    changed = true; // exited while probed: walk again
                    continue;
                }
                if (!held)
                    return held.release_error().add_context(fmt::format("freeze process {}", pid));
                process.threads.push_back(held.release_value());
                seized.insert(tid);
                changed = true;
            }
            if (walk.add_children(pid, tids))
                changed = true;
        }
    }
    for (auto const& p : tree.m_processes)
        if (!p.zombie && (p.threads.empty() || p.threads[0].tid() != p.pid))
            return Error::format("process {}: thread group leader is gone (zombie leaders are not supported)", p.pid);
    return tree;
}

bool TreeWalk::add_children(int pid, std::span<int const> tids)
{
    bool added = false;
    for (int tid : tids) {
        auto children = sys::list_children(pid, tid);
        if (!children)
            continue;
        for (int child : *children)
            if (m_seen.insert(child).second) {
                m_pids.push_back(child);
                added = true;
            }
    }
    return added;
}

FrozenTree::~FrozenTree()
{
    rearm_rewinds(); // then each Tracee detaches as it is dropped
}

// Remote syscalls leave a rewound thread in the image's form, at the bare `syscall`
// instruction, where a signal would run its handler and then re-enter the syscall: give it the
// restartable form back before it goes.
void FrozenTree::rearm_rewinds()
{
    for (auto& p : m_processes) {
        for (auto const& r : p.rewound) {
            auto t = std::find_if(p.threads.begin(), p.threads.end(), [&](auto const& x) { return x.tid() == r.tid; });
            if (t != p.threads.end() && !t->dead())
                t->set_final_state(r.live, {});
        }
        p.rewound.clear();
    }
}

Result<void> FrozenTree::kill_all()
{
    for (auto& p : m_processes)
        p.rewound.clear();
    // pidfds while every pid is surely ours (traced, not reapable by anyone else yet).
    std::vector<Fd> pidfds;
    for (auto const& p : m_processes)
        if (!p.zombie)
            if (auto fd = sys::pidfd_open(p.pid))
                pidfds.push_back(std::move(*fd));
    for (auto& p : m_processes)
        (void)::kill(p.pid, SIGKILL);
    // Each dying process unmaps its memory alone, on one core (145-200 ms for 2 GiB here);
    // freeing it from here as well shares that work between two (73-120 ms). Only a speed-up: a
    // process whose memory is shared with a live one (vfork) refuses, and its exit frees it.
    // ESRCH: the process had already let go of its memory (a small one's exit is that quick).
    size_t released = 0;
    size_t gone = 0;
    for (auto const& fd : pidfds) {
        auto r = sys::process_mrelease(fd.ref());
        if (r)
            ++released;
        else if (r.error().is_errno(ESRCH))
            ++gone;
        else
            log::debug("kill: {}", r.error().message());
    }
    log::debug("kill: memory of {} process(es) released by cryo beside their exit, {} already freed by it", released,
               gone);
    // Children first: the init of a pid namespace (a container's) does not finish exiting
    // until its children are reaped, and a traced child is released only once we waited.
    for (auto it = m_processes.rbegin(); it != m_processes.rend(); ++it) {
        auto& p = *it;
        // Non-leader threads first: a traced leader's exit is reported only once every other
        // thread of its group has been reaped by us.
        for (size_t i = 1; i <= p.threads.size(); ++i) {
            auto& t = p.threads[i % p.threads.size()]; // 1, 2, ..., n-1, then 0
            // A traced task that dies reports to its tracer first; wait so the kernel releases
            // it to its real parent.
            for (;;) {
                auto status = sys::wait_traced(t.tid());
                if (!status || sys::classify_stop(*status) == sys::StopKind::Exited)
                    break;
                (void)sys::ptrace_cont(t.tid(), 0);
            }
            t.forget();
        }
    }
    return {};
}

namespace {

constexpr uint64_t signal_bit(int signal)
{
    return uint64_t { 1 } << (signal - 1);
}

constexpr bool is_stop_signal(int signal)
{
    return signal == SIGSTOP || signal == SIGTSTP || signal == SIGTTIN || signal == SIGTTOU;
}

} // namespace

int group_stop_now(int stop_signal, uint64_t pending, int taken)
{
    if (stop_signal == 0)
        return 0;
    uint64_t const stops = signal_bit(SIGSTOP) | signal_bit(SIGTSTP) | signal_bit(SIGTTIN) | signal_bit(SIGTTOU);
    if (pending & stops)
        return stop_signal;
    if (pending & signal_bit(SIGCONT))
        return 0;
    return taken == SIGCONT ? 0 : stop_signal;
}

Result<void> FrozenTree::recheck_group_stops()
{
    for (auto& p : m_processes) {
        if (p.stop_signal == 0 || p.zombie)
            continue;
        uint64_t pending = 0;
        int taken = 0;
        for (auto const& t : p.threads) {
            auto signals = TRY(read_thread_signals(p.pid, t.tid()).context("process {}: thread {}", p.pid, t.tid()));
            pending |= signals.thread_pending | signals.shared_pending;
            int last = 0;
            for (auto const& info : t.deferred_signals())
                if (info.si_signo == SIGCONT || is_stop_signal(info.si_signo))
                    last = info.si_signo;
            if (last != 0 && !is_stop_signal(taken))
                taken = last;
        }
        int now = group_stop_now(p.stop_signal, pending, taken);
        if (now != p.stop_signal)
            log::debug("process {}: SIGCONT since the freeze ended its group stop (SIG{}): recorded running", p.pid,
                       ::sigabbrev_np(p.stop_signal));
        p.stop_signal = now;
    }
    return {};
}

Result<void> FrozenTree::thaw()
{
    rearm_rewinds();
    std::optional<Error> first;
    for (auto& p : m_processes)
        for (auto& t : p.threads) {
            auto r = t.detach();
            if (!r && !first)
                first = r.release_error();
        }
    if (first)
        return *first;
    return {};
}

} // namespace cryo::checkpoint
