#include "checkpoint/collect.h"

#include <algorithm>
#include <csignal>
#include <cstring>
#include <string_view>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "base/log.h"
#include "checkpoint/files_collect.h"
#include "checkpoint/memory_objects.h"
#include "checkpoint/remote.h"
#include "checkpoint/seccomp.h"
#include "checkpoint/task_state.h"
#include "sys/file.h"
#include "sys/procfs.h"
#include "sys/ptrace_calls.h"

namespace cryo::checkpoint {

namespace {

bool has_flag(sys::SmapsEntry const& smaps, std::string_view flag)
{
    return std::find(smaps.vm_flags.begin(), smaps.vm_flags.end(), flag) != smaps.vm_flags.end();
}

Result<std::vector<MemoryArea>> collect_areas(int pid, std::vector<sys::MapsEntry> const& maps, Process& p,
                                              CollectOptions const& options)
{
    std::vector<MemoryArea> areas;
    for (auto const& m : maps) {
        MemoryArea a;
        a.start = m.start;
        a.end = m.end;
        a.read = m.read;
        a.write = m.write;
        a.exec = m.exec;
        a.name = m.path;
        a.file_offset = m.offset;
        if (m.path == "[vdso]")
            a.kind = AreaKind::Vdso;
        else if (m.path == "[vvar]")
            a.kind = AreaKind::Vvar;
        else if (m.path == "[vvar_vclock]")
            a.kind = AreaKind::VvarVclock;
        else if (m.path == "[vsyscall]")
            a.kind = AreaKind::Vsyscall;
        else if (m.shared && m.path.starts_with("/SYSV"))
            return Error::format("memory area {:#x}-{:#x} ({}): attached SysV shared memory is not supported yet",
                                 m.start, m.end, m.path);
        else if (needs_memory_object(m)) // shared anonymous, deleted file, memfd (memory_objects.cpp)
            TRY(attach_memory_object(pid, m, a, p));
        else if (m.inode != 0 && !m.path.empty() && m.path[0] == '/') {
            a.kind = m.shared ? AreaKind::FileShared : AreaKind::FilePrivate;
        } else if (m.shared) {
            return Error::format("memory area {:#x}-{:#x} ({}): unsupported shared mapping", m.start, m.end, m.path);
        } else {
            a.kind = AreaKind::Anonymous;
        }
        areas.push_back(std::move(a));
    }
    if (options.smaps_later)
        return areas;
    auto const* early = options.smaps_before_freeze;
    if (early && same_areas(maps, *early)) {
        apply_smaps(areas, *early);
        return areas;
    }
    if (early)
        log::debug("process {}: its areas changed since smaps was read before the freeze; read again", pid);
    apply_smaps(areas, TRY(sys::read_smaps(pid)));
    return areas;
}

// What can only be asked from inside, with answers written into a scratch page that is
// unmapped again afterwards: each thread's set_tid_address pointer (prctl PR_GET_TID_ADDRESS,
// run in that thread), and rt_sigaction(sig, NULL, &old) per signal caught or ignored.
Result<std::vector<SignalAction>> collect_from_inside(FrozenProcess& frozen, std::vector<Thread>& threads,
                                                      sys::StatusInfo const& status, bool inject_failure)
{
    auto& leader = frozen.threads.at(0);
    std::vector<SignalAction> out;
    auto scratch = TRY(RemoteScratch::map(leader, 4096));
    if (inject_failure)
        return Error::make("injected failure while collecting signal actions");
    for (size_t i = 0; i < frozen.threads.size(); ++i) {
        auto& t = frozen.threads[i];
        t.set_syscall_address(leader.syscall_address());
        TRY(t.syscall_checked("prctl PR_GET_TID_ADDRESS", SYS_prctl, { PR_GET_TID_ADDRESS, scratch.address() + 64 }));
        TRY(scratch.read(64, &threads.at(i).clear_child_tid, sizeof(uint64_t)));
    }
    uint64_t interesting = status.sig_caught | status.sig_ignored;
    for (int sig = 1; sig <= 64; ++sig) {
        if (!(interesting & (1ULL << (sig - 1))) || sig == SIGKILL || sig == SIGSTOP)
            continue;
        TRY(leader.syscall_checked("rt_sigaction", SYS_rt_sigaction,
                                   { static_cast<uint64_t>(sig), 0, scratch.address(), 8 }));
        uint64_t k[4]; // struct kernel_sigaction: handler, flags, restorer, mask
        TRY(scratch.read(0, k, sizeof k));
        out.push_back({ sig, k[0], k[1], k[2], k[3] });
    }
    TRY(scratch.unmap());
    return out;
}

Result<std::vector<uint64_t>> read_auxv(int pid)
{
    auto text = TRY(sys::read_file(fmt::format("/proc/{}/auxv", pid)));
    std::vector<uint64_t> out(text.size() / 8);
    std::memcpy(out.data(), text.data(), out.size() * 8);
    return out;
}

} // namespace

void apply_smaps(std::vector<MemoryArea>& areas, std::vector<sys::SmapsEntry> const& smaps)
{
    // Both ascending by start: one pass.
    auto s = smaps.begin();
    for (auto& a : areas) {
        while (s != smaps.end() && s->start < a.start)
            ++s;
        bool const found = s != smaps.end() && s->start == a.start;
        a.growsdown = found && has_flag(*s, "gd");
        a.huge = found && (has_flag(*s, "hg") || s->anon_huge_kib > 0);
    }
}

bool same_areas(std::vector<sys::MapsEntry> const& maps, std::vector<sys::SmapsEntry> const& smaps)
{
    return std::equal(maps.begin(), maps.end(), smaps.begin(), smaps.end(),
                      [](sys::MapsEntry const& m, sys::SmapsEntry const& s) { return m == s.area; });
}

Result<Process> collect_process(FrozenProcess& frozen, SocketDefaults& socket_defaults, CollectOptions const& options)
{
    int pid = frozen.pid;
    if (frozen.zombie)
        return collect_zombie(pid); // task_state.cpp
    auto& leader = frozen.threads.at(0);
    auto stat = TRY(sys::read_stat(pid));
    auto status = TRY(sys::read_status(pid));
    auto maps = TRY(sys::read_maps(pid));

    Process p;
    p.pid = pid;
    p.ppid = stat.ppid;
    p.pgid = stat.pgid;
    p.sid = stat.sid;
    p.comm = stat.comm;
    p.umask = status.umask;
    p.cwd = TRY(sys::readlink(fmt::format("/proc/{}/cwd", pid)));
    p.root = TRY(sys::readlink(fmt::format("/proc/{}/root", pid)));
    auto& c = p.credentials;
    std::copy(std::begin(status.uid), std::end(status.uid), c.uid);
    std::copy(std::begin(status.gid), std::end(status.gid), c.gid);
    c.groups = status.groups;
    c.cap_inheritable = status.cap_inh;
    c.cap_permitted = status.cap_prm;
    c.cap_effective = status.cap_eff;
    c.cap_bounding = status.cap_bnd;
    c.cap_ambient = status.cap_amb;
    c.no_new_privs = status.no_new_privs != 0;

    // Unsupported objects first: refusing them costs nothing and touches nothing.
    p.areas = TRY(collect_areas(pid, maps, p, options).context("process {}", pid));
    TRY(collect_open_files(pid, p, socket_defaults, options.runtime_stdio).context("process {}", pid));

    leader.set_syscall_address(TRY(find_vdso_syscall(pid, maps)));
    for (auto& t : frozen.threads) {
        Thread thread;
        thread.tid = t.tid();
        // Saved as the task would resume: an interrupted syscall is re-run (or -EINTR for a
        // restart_block, which a new task does not have). A syscall the freeze itself ended
        // with -EINTR, and a restart_block with a plan, were rewound when the thread was seized
        // (freeze.cpp, syscall_reentry.h (3)): original_regs() are already the planned ones.
        thread.regs = from_kernel(sys::apply_syscall_restart(t.original_regs(), false));
        thread.xstate = TRY(sys::ptrace_get_xstate(t.tid()));
        thread.sigmask = TRY(sys::ptrace_get_sigmask(t.tid()));
        auto rseq = TRY(sys::ptrace_get_rseq(t.tid()));
        thread.rseq_address = rseq.address;
        thread.rseq_size = rseq.size;
        thread.rseq_signature = rseq.signature;
        p.threads.push_back(std::move(thread));
    }
    // Seccomp mode and filters (seccomp.h), before the first remote syscall: from here on
    // the filters do not apply to cryo's remote syscalls.
    TRY(collect_seccomp(frozen, p, {}).context("process {}", pid)); // freeze.cpp seizes with default options
    // Pending signals, sigaltstacks, timers, scheduling, prctl attributes (task_state.cpp),
    // before the remote syscalls below could let an unblocked pending signal be dequeued.
    TRY(collect_task_state(frozen, p).context("process {}", pid));

    p.mm.start_code = stat.start_code;
    p.mm.end_code = stat.end_code;
    p.mm.start_data = stat.start_data;
    p.mm.end_data = stat.end_data;
    p.mm.start_brk = stat.start_brk;
    p.mm.start_stack = stat.start_stack;
    p.mm.arg_start = stat.arg_start;
    p.mm.arg_end = stat.arg_end;
    p.mm.env_start = stat.env_start;
    p.mm.env_end = stat.env_end;
    p.mm.auxv = TRY(read_auxv(pid));
    p.mm.exe_path = TRY(sys::readlink(fmt::format("/proc/{}/exe", pid)));
    if (p.mm.exe_path.ends_with(" (deleted)"))
        return Error::format("process {}: its executable {} was deleted (not supported yet)", pid, p.mm.exe_path);
    // The current break is not in /proc; brk(0) returns it without changing anything.
    p.mm.brk = TRY(leader.syscall_checked("brk", SYS_brk, { 0 }));

    p.signal_actions = TRY(
        collect_from_inside(frozen, p.threads, status, options.inject_failure == "signals").context("process {}", pid));

    // rlimits are read from /proc/PID/limits (collect_task_state): prlimit on another process
    // needs CAP_SYS_RESOURCE once its uids differ from cryo's.

    return p;
}

} // namespace cryo::checkpoint
