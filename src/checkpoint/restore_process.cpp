#include "checkpoint/restore_process.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>
#include <linux/prctl.h>
#include <linux/sched.h>
#include <map>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "checkpoint/files_restore.h"
#include "checkpoint/image.h"
#include "checkpoint/memory_objects.h"
#include "checkpoint/pages.h"
#include "checkpoint/pages_fill.h"
#include "checkpoint/remote.h"
#include "checkpoint/restore_areas.h"
#include "checkpoint/seccomp.h"
#include "checkpoint/syscall_reentry.h"
#include "checkpoint/task_state.h"
#include "sys/file.h"
#include "sys/idmap.h"
#include "sys/pagemap_scan.h"
#include "sys/process.h"
#include "sys/procfs.h"
#include "sys/ptrace_calls.h"
#include "sys/raw.h"
#include "sys/task_attrs.h"
#include "sys/tracee.h"

namespace cryo::checkpoint {

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

constexpr uint64_t kUserLimit = (1ULL << 47) - 4096;
constexpr uint64_t kScratchSize = 4 * 4096; // page 0: code; pages 1..3: syscall arguments
constexpr uint64_t kScratchData = 4096;

char const* special_name(AreaKind k)
{
    return k == AreaKind::Vdso ? "[vdso]" : k == AreaKind::Vvar ? "[vvar]" : "[vvar_vclock]";
}

} // namespace

void pin_for_restore(ProcessPlace& place, std::optional<cpu_set_t> const& inherited)
{
    place.affinity.reset();
    auto original = inherited ? Result<cpu_set_t>(*inherited) : sys::cpu_affinity(place.host_pid);
    if (!original || !sys::pin_to_current_cpu(place.host_pid))
        return;
    place.affinity = *original;
}

void repin_for_restore(ProcessPlace const& place)
{
    if (place.affinity)
        (void)sys::pin_to_current_cpu(place.host_pid);
}

void RestoreTimeline::mark(std::string_view phase)
{
    auto now = Clock::now();
    double ms = std::chrono::duration<double, std::milli>(now - m_last).count();
    m_last = now;
    for (auto& [name, total] : m_phases)
        if (name == phase) {
            total += ms;
            return;
        }
    m_phases.emplace_back(std::string(phase), ms);
}

double RestoreTimeline::elapsed_ms() const
{
    return std::chrono::duration<double, std::milli>(Clock::now() - m_start).count();
}

std::string RestoreTimeline::summary() const
{
    std::string out;
    for (auto const& [name, ms] : m_phases)
        out += fmt::format("{}{} {:.2f}", out.empty() ? "" : ", ", name, ms);
    return fmt::format("{} (total {:.2f} ms)", out, elapsed_ms());
}

Result<void> ProcessRestorer::prepare_memory(PageFiller& filler)
{
    if (m_p.state.zombie)
        return {}; // already exited in step 1 (restore_zombie)
    auto child_maps = TRY(sys::read_maps(host()));
    m_t.set_syscall_address(TRY(find_vdso_syscall(host(), child_maps)));
    // The child is a copy of cryo: drop glibc's rseq registration (the kernel would keep
    // writing into memory we are about to replace) and every inherited fd.
    auto rseq = TRY(sys::ptrace_get_rseq(host()));
    if (rseq.address)
        TRY(m_t.syscall_checked("rseq unregister", SYS_rseq, { rseq.address, rseq.size, 1, rseq.signature }));
    mark("child setup");
    if (inherits_area_fds()) {
        // The fds cryo had at the clone stay until the areas are mapped from them.
        TRY(prepare_address_space(child_maps));
        mark("address space");
        TRY(install_cryo_pidfd());
        TRY(map_areas());
        TRY(close_all_but(m_cryo_pidfd));
        mark("map areas");
    } else {
        // Keep the pidfd of cryo it was given, if any; every other inherited fd goes.
        if (m_place.cryo_pidfd < 0)
            TRY(m_t.syscall_checked("close_range", __NR_close_range, { 0, ~0U, 0 }));
        else
            TRY(close_all_but(static_cast<uint64_t>(m_place.cryo_pidfd)));
        TRY(prepare_address_space(child_maps));
        TRY(install_cryo_pidfd());
        TRY(map_areas());
    }
    mark("map areas");
    auto t = Clock::now();
    auto sources = TRY(open_page_files(m_image, m_place.image_pid));
    auto uffd = TRY(prepare_uffd_fill(m_t, m_p.areas, m_p.pages));
    mark("uffd");
    m_fill_job
        = TRY(filler.submit(host(), m_p.pages, std::move(sources), std::move(uffd)).context("image {}", m_image.dir()));
    m_stats.memory_ms += ms_since(t); // memory time not overlapped with other work
    mark("submit");
    return {};
}

Result<void> ProcessRestorer::prepare_rest(PageFiller& filler)
{
    if (m_p.state.zombie)
        return {};
    auto t = Clock::now();
    TRY(filler.wait(m_fill_job).context("image {}", m_image.dir()));
    m_stats.memory_ms += ms_since(t);
    m_stats.pages += m_p.page_count();
    m_stats.bytes += m_p.page_count() * 4096;
    mark("fill wait");
    repin_for_restore(m_place); // its threads, created below, start on the same CPU
    TRY(protect_areas());
    TRY(install_guards());
    TRY(set_mm_layout());
    mark("protect+mm");
    TRY(restore_files());
    mark("files");
    TRY(restore_signals());
    TRY(restore_misc());
    TRY(m_t.syscall_checked("close cryo pidfd", SYS_close, { m_cryo_pidfd }));
    mark("signals+misc");
    // Threads are cloned while the leader still has the privilege to pick their tids;
    // credentials are per thread in the kernel, so each thread gets its own afterwards.
    for (size_t i = 1; i < m_p.threads.size(); ++i)
        TRY(create_thread(m_p.threads[i]).context("thread {}", m_p.threads[i].tid));
    mark("threads");
    TRY(restore_task_state(m_p, m_t, m_threads, *m_scratch, kScratchData)); // signals, timers, attrs
    mark("task state");
    // Seccomp filters last, or just before the credentials when those would forbid
    // installing them (seccomp.h); either way they never judge cryo's own remote syscalls.
    sys::Tracee::Options const traced { .exit_kill = true, .trace_clone = true, .trace_fork = true }; // kRestoreTrace
    TRY(restore_seccomp(m_p, m_t, m_threads, traced, SeccompPoint::BeforeCredentials));
    TRY(finish_thread(m_t, m_p.threads[0]));
    for (size_t i = 1; i < m_p.threads.size(); ++i)
        TRY(finish_thread(m_threads.at(i - 1), m_p.threads[i]).context("thread {}", m_p.threads[i].tid));
    TRY(restore_seccomp(m_p, m_t, m_threads, traced, SeccompPoint::AfterCredentials));
    mark("creds+regs");
    return {};
}

Result<void> ProcessRestorer::finish()
{
    if (m_p.state.zombie)
        return {};
    TRY(m_scratch->unmap());
    // A thread dumped inside a restartable syscall (pause, sigsuspend, read...) goes back
    // into it before it is let go, so that a signal arriving now ends it with EINTR as the
    // kernel would, instead of running its handler before the syscall (syscall_reentry.h).
    for (size_t i = 0; i < m_p.threads.size(); ++i) {
        auto& t = i == 0 ? m_t : m_threads.at(i - 1);
        auto regs = to_kernel(m_p.threads[i].regs);
        regs.orig_rax = static_cast<unsigned long long>(-1L);
        TRY(enter_interrupted_syscall(t, regs, m_p.threads[i].xstate).context("thread {}", m_p.threads[i].tid));
    }
    test_signal_at_release(host());
    // Group-stopped at the dump: SIGSTOP queued while every thread is still held, so the
    // first one let go stops the group before any runs user code; its threads sit in
    // their calls (a sleep's restart kept by the kernel) until SIGCONT. Always SIGSTOP:
    // SIGTSTP/SIGTTIN/SIGTTOU are discarded in an orphaned process group, and a handler
    // may have been installed since. The parent gets one stop report, as for a real stop.
    if (m_p.state.stop_signal)
        TRY(sys::kill(host(), SIGSTOP).context("stop process {} again", m_p.pid));
    // Its threads (created pinned, as copies of the leader) get the mask it had before cryo
    // pinned it (pin_for_restore), before any of them runs.
    if (m_place.affinity) {
        auto const& mask = *m_place.affinity;
        for (auto& t : m_threads)
            TRY(sys::set_cpu_affinity(t.tid(), mask).context("restore the CPU affinity of thread {}", t.tid()));
        TRY(sys::set_cpu_affinity(host(), mask).context("restore the CPU affinity of process {}", m_p.pid));
    }
    for (auto& t : m_threads)
        TRY(t.detach().context("resume thread {}", t.tid()));
    TRY(m_t.detach().context("resume process {}", m_p.pid));
    mark("finish");
    return {};
}

Result<void> ProcessRestorer::close_all_but(uint64_t kept)
{
    if (kept > 0)
        TRY(m_t.syscall_checked("close_range", __NR_close_range, { 0, kept - 1, 0 }));
    TRY(m_t.syscall_checked("close_range", __NR_close_range, { kept + 1, ~0U, 0 }));
    return {};
}

Result<void> ProcessRestorer::create_thread(Thread const& thread)
{
    // struct clone_args and the one-entry set_tid array, in the scratch page.
    struct clone_args args { };
    args.flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;
    args.set_tid = m_scratch->address() + kScratchData + sizeof args;
    args.set_tid_size = 1;
    pid_t tid = thread.tid;
    TRY(m_scratch->write(kScratchData, &args, sizeof args));
    TRY(m_scratch->write(kScratchData + sizeof args, &tid, sizeof tid));
    // The new thread starts stopped (PTRACE_O_TRACECLONE) before running any instruction.
    uint64_t got
        = TRY(m_t.syscall_checked("clone3 thread", __NR_clone3, { m_scratch->address() + kScratchData, sizeof args }));
    if (got != static_cast<uint64_t>(tid))
        return Error::format("clone3 gave tid {} instead of {}", got, tid);
    // cryo sees the new thread by its host tid (the clone event's message).
    pid_t host_tid = m_t.last_clone_tid() ? m_t.last_clone_tid() : tid;
    for (;;) {
        int status = TRY(sys::wait_traced(host_tid));
        auto kind = sys::classify_stop(status);
        if (kind == sys::StopKind::Exited)
            return Error::format("new thread {} died", tid);
        if (kind == sys::StopKind::EventStop || kind == sys::StopKind::GroupStop || kind == sys::StopKind::SignalStop)
            break;
    }
    m_threads.push_back(TRY(sys::Tracee::adopt(host(), host_tid)));
    m_threads.back().set_syscall_address(m_scratch->address());
    return {};
}

Result<void> ProcessRestorer::finish_thread(sys::Tracee& t, Thread const& thread)
{
    if (thread.clear_child_tid)
        TRY(t.syscall_checked("set_tid_address", SYS_set_tid_address, { thread.clear_child_tid }));
    if (thread.rseq_address)
        TRY(t.syscall_checked("rseq register", SYS_rseq,
                              { thread.rseq_address, thread.rseq_size, 0, thread.rseq_signature }));
    TRY(prepare_capabilities(m_p, t, *m_scratch, kScratchData));
    TRY(restore_credentials(t));
    TRY(restore_capabilities(m_p, t, *m_scratch, kScratchData));
    TRY(sys::ptrace_set_sigmask(t.tid(), thread.sigmask));
    auto regs = to_kernel(thread.regs);
    regs.orig_rax = static_cast<unsigned long long>(-1L); // never restart anything on resume
    t.set_final_state(regs, thread.xstate);
    return {};
}

Result<void> ProcessRestorer::prepare_address_space(std::vector<sys::MapsEntry> const& child_maps)
{
    std::vector<Range> occupied;
    for (auto const& a : m_p.areas)
        occupied.push_back({ a.start, a.end });
    for (auto const& m : child_maps)
        occupied.push_back({ m.start, m.end });
    uint64_t scratch_at = TRY(find_gap(occupied, kScratchSize, 0x10000000));
    m_scratch.emplace(TRY(RemoteScratch::map(m_t, kScratchSize, scratch_at, true)));
    uint8_t const code[] = { 0x0f, 0x05 }; // syscall
    TRY(m_scratch->write(0, code, sizeof code));
    m_t.set_syscall_address(m_scratch->address());
    occupied.push_back({ scratch_at, scratch_at + kScratchSize });

    // Keep the scratch page and the kernel's special mappings; everything else of cryo goes.
    std::vector<Range> keep { { scratch_at, scratch_at + kScratchSize } };
    struct Special {
        AreaKind kind;
        uint64_t current;
        uint64_t size;
        uint64_t target;
    };
    std::vector<Special> specials;
    for (auto kind : { AreaKind::Vvar, AreaKind::VvarVclock, AreaKind::Vdso }) {
        sys::MapsEntry const* mine = nullptr;
        for (auto const& m : child_maps)
            if (m.path == special_name(kind))
                mine = &m;
        MemoryArea const* theirs = nullptr;
        for (auto const& a : m_p.areas)
            if (a.kind == kind)
                theirs = &a;
        if (!mine && !theirs)
            continue;
        if (!mine || !theirs || mine->size() != theirs->size())
            return Error::format("{} differs between the image ({} bytes) and this kernel ({} bytes): cannot "
                                 "restore on this kernel",
                                 special_name(kind), theirs ? theirs->size() : 0, mine ? mine->size() : 0);
        keep.push_back({ mine->start, mine->end });
        specials.push_back({ kind, mine->start, mine->size(), theirs->start });
    }
    for (auto const& r : unmap_plan(keep, kUserLimit))
        TRY(m_t.syscall_checked("munmap", SYS_munmap, { r.start, r.end - r.start }));

    // Move vDSO/vvar to the dumped addresses, never onto another's current place.
    uint64_t total = 0;
    std::vector<SpecialMove> moves;
    for (auto const& s : specials) {
        total += s.size;
        moves.push_back({ s.current, s.size, s.target });
    }
    uint64_t parking = TRY(find_gap(occupied, total, 0x20000000));
    for (auto const& m : plan_special_moves(moves, parking))
        TRY(m_t.syscall_checked("mremap vdso", SYS_mremap,
                                { m.from, m.size, m.size, MREMAP_MAYMOVE | MREMAP_FIXED, m.to })
                .context("move vDSO/vvar {:#x} to {:#x}", m.from, m.to));
    return {};
}

Result<void> ProcessRestorer::install_cryo_pidfd()
{
    int max_fd = 2;
    for (auto const& f : m_p.files)
        max_fd = std::max(max_fd, f.fd);
    bool const inherited = inherits_area_fds() && m_area_fds->cryo_pidfd;
    uint64_t fd = m_place.cryo_pidfd >= 0 ? static_cast<uint64_t>(m_place.cryo_pidfd)
        : inherited
        ? static_cast<uint64_t>(m_area_fds->cryo_pidfd->get())
        : TRY(m_t.syscall_checked("pidfd_open cryo", __NR_pidfd_open, { static_cast<uint64_t>(::getpid()), 0 }));
    m_cryo_pidfd = TRY(
        m_t.syscall_checked("fcntl dupfd", SYS_fcntl, { fd, F_DUPFD_CLOEXEC, static_cast<uint64_t>(max_fd + 1) }));
    if (!inherited) // an inherited one goes with the other inherited fds (close_all_but)
        TRY(m_t.syscall_checked("close", SYS_close, { fd }));
    return {};
}

Result<uint64_t> ProcessRestorer::pass_fd(FdRef fd)
{
    return m_t.syscall_checked("pidfd_getfd", __NR_pidfd_getfd, { m_cryo_pidfd, static_cast<uint64_t>(fd.get()), 0 });
}

Result<uint64_t> ProcessRestorer::area_fd(AreaFileKey const& key, std::map<AreaFileKey, uint64_t>& passed,
                                          MemoryArea const& a)
{
    if (inherits_area_fds())
        if (auto it = m_area_fds->files.find(key); it != m_area_fds->files.end())
            return static_cast<uint64_t>(it->second.get());
    if (auto it = passed.find(key); it != passed.end())
        return it->second;
    auto local = key.object && m_objects
        ? TRY(m_objects->reopen(key.object).context("memory area {:#x}", a.start))
        : TRY(sys::open(key.path, key.open_flags | O_CLOEXEC).context("memory area {:#x}", a.start));
    uint64_t fd = TRY(pass_fd(local));
    passed.emplace(key, fd);
    return fd;
}

Result<void> ProcessRestorer::map_areas()
{
    m_mappings = plan_area_mappings(m_p);
    std::map<AreaFileKey, uint64_t> passed;
    auto mapped = [&]() -> Result<void> {
        for (auto const& m : m_mappings) {
            auto const& a = m_p.areas[m.area];
            uint64_t fd = m.file ? TRY(area_fd(*m.file, passed, a)) : ~0ULL;
            uint64_t got
                = TRY(m_t.syscall_checked("mmap", SYS_mmap, { a.start, a.size(), m.prot, m.flags, fd, a.file_offset })
                          .context("map {:#x}-{:#x} {}", a.start, a.end, a.name));
            if (got != a.start)
                return Error::format("map {:#x}-{:#x}: got {:#x}", a.start, a.end, got);
            if (a.huge)
                (void)m_t.syscall(SYS_madvise, { a.start, a.size(), MADV_HUGEPAGE });
        }
        return {};
    }();
    for (auto const& [key, fd] : passed)
        TRY(m_t.syscall_checked("close", SYS_close, { fd }));
    return mapped;
}

Result<void> ProcessRestorer::protect_areas()
{
    for (auto const& m : m_mappings) {
        if (!m.protect_after_fill)
            continue;
        auto const& a = m_p.areas[m.area];
        TRY(m_t.syscall_checked("mprotect", SYS_mprotect, { a.start, a.size(), area_prot(a) })
                .context("protect {:#x}-{:#x}", a.start, a.end));
    }
    return {};
}

Result<void> ProcessRestorer::install_guards()
{
    for (auto const& a : m_p.areas)
        for (auto const& g : a.guards)
            TRY(m_t.syscall_checked("madvise MADV_GUARD_INSTALL", SYS_madvise,
                                    { g.start, g.end - g.start, sys::kMadvGuardInstall })
                    .context("guard pages {:#x}-{:#x} of memory area {:#x}-{:#x} {} (Linux 6.13+)", g.start, g.end,
                             a.start, a.end, a.name));
    return {};
}

Result<void> ProcessRestorer::set_mm_layout()
{
    auto const& mm = m_p.mm;
    auto exe = TRY(sys::open(mm.exe_path, O_RDONLY | O_CLOEXEC).context("executable"));
    uint64_t exe_fd = TRY(pass_fd(exe));
    // struct prctl_mm_map (include/uapi/linux/prctl.h), built here and copied over.
    struct {
        uint64_t start_code, end_code, start_data, end_data, start_brk, brk, start_stack;
        uint64_t arg_start, arg_end, env_start, env_end;
        uint64_t auxv;
        uint32_t auxv_size;
        uint32_t exe_fd;
    } map {};
    map.start_code = mm.start_code;
    map.end_code = mm.end_code;
    map.start_data = mm.start_data;
    map.end_data = mm.end_data;
    map.start_brk = mm.start_brk;
    map.brk = mm.brk;
    map.start_stack = mm.start_stack;
    map.arg_start = mm.arg_start;
    map.arg_end = mm.arg_end;
    map.env_start = mm.env_start;
    map.env_end = mm.env_end;
    size_t auxv_bytes = mm.auxv.size() * sizeof(uint64_t);
    if (sizeof map + auxv_bytes > kScratchSize - kScratchData)
        return Error::format("auxv of {} bytes is too large", auxv_bytes);
    map.auxv = m_scratch->address() + kScratchData + sizeof map;
    map.auxv_size = static_cast<uint32_t>(auxv_bytes);
    map.exe_fd = static_cast<uint32_t>(exe_fd);
    TRY(m_scratch->write(kScratchData, &map, sizeof map));
    TRY(m_scratch->write(kScratchData + sizeof map, mm.auxv.data(), auxv_bytes));
    auto r = m_t.syscall_checked("prctl PR_SET_MM_MAP", SYS_prctl,
                                 { PR_SET_MM, PR_SET_MM_MAP, m_scratch->address() + kScratchData, sizeof map, 0 });
    TRY(m_t.syscall_checked("close", SYS_close, { exe_fd }));
    TRY(std::move(r));
    return {};
}

Result<void> ProcessRestorer::restore_files()
{
    return install_open_files(m_p, m_files, m_t, m_cryo_pidfd);
}

Result<void> ProcessRestorer::restore_signals()
{
    // Signals the image does not name go back to SIG_DFL (the child inherited cryo's).
    auto status = TRY(sys::read_status(host()));
    uint64_t inherited = status.sig_caught | status.sig_ignored;
    for (int sig = 1; sig <= 64; ++sig) {
        if (sig == SIGKILL || sig == SIGSTOP)
            continue;
        SignalAction action { sig, 0, 0, 0, 0 };
        bool named = false;
        for (auto const& a : m_p.signal_actions)
            if (a.signal == sig) {
                action = a;
                named = true;
            }
        if (!named && !(inherited & (1ULL << (sig - 1))))
            continue;
        uint64_t k[4] = { action.handler, action.flags, action.restorer, action.mask };
        TRY(m_scratch->write(kScratchData, k, sizeof k));
        TRY(m_t.syscall_checked("rt_sigaction", SYS_rt_sigaction,
                                { static_cast<uint64_t>(sig), m_scratch->address() + kScratchData, 0, 8 })
                .context("signal {}", sig));
    }
    return {};
}

Result<void> ProcessRestorer::write_string(std::string const& s)
{
    if (s.size() + 1 > kScratchSize - kScratchData)
        return Error::format("path too long: {}", s);
    return m_scratch->write(kScratchData, s.c_str(), s.size() + 1);
}

Result<void> ProcessRestorer::restore_misc()
{
    if (m_p.root != "/") {
        TRY(write_string(m_p.root));
        TRY(m_t.syscall_checked("chroot", SYS_chroot, { m_scratch->address() + kScratchData })
                .context("root {}", m_p.root));
    }
    TRY(write_string(m_p.cwd));
    TRY(m_t.syscall_checked("chdir", SYS_chdir, { m_scratch->address() + kScratchData }).context("cwd {}", m_p.cwd));
    TRY(m_t.syscall_checked("umask", SYS_umask, { m_p.umask }));
    // /proc/PID/comm is writable only from the same thread group: prctl from inside.
    TRY(write_string(m_p.comm.substr(0, 15)));
    TRY(m_t.syscall_checked("prctl PR_SET_NAME", SYS_prctl, { PR_SET_NAME, m_scratch->address() + kScratchData }));
    for (auto const& l : m_p.rlimits) {
        struct rlimit64 current { };
        auto resource = static_cast<__rlimit_resource>(l.resource);
        if (::prlimit64(host(), resource, nullptr, &current) < 0)
            return Error::from_errno(fmt::format("prlimit {}", l.resource));
        if (current.rlim_cur == l.soft && current.rlim_max == l.hard)
            continue;
        struct rlimit64 wanted {
            l.soft, l.hard
        };
        if (::prlimit64(host(), resource, &wanted, nullptr) < 0)
            return Error::from_errno(fmt::format("set rlimit {} to {}/{}", l.resource, l.soft, l.hard));
    }
    return {};
}

Result<void> ProcessRestorer::restore_credentials(sys::Tracee& t)
{
    auto const& c = m_p.credentials;
    auto text = TRY(sys::read_file(fmt::format("/proc/{}/task/{}/status", host(), t.tid())));
    auto status = TRY(sys::parse_status(text));
    // The image holds ids as cryo sees them; the remote syscalls run in the task's user
    // namespace (a container's new one, with the same maps), so they take its ids.
    auto uid_text = TRY(sys::read_file(fmt::format("/proc/{}/uid_map", host())));
    auto gid_text = TRY(sys::read_file(fmt::format("/proc/{}/gid_map", host())));
    auto uid_map = TRY(sys::parse_id_map(uid_text));
    auto gid_map = TRY(sys::parse_id_map(gid_text));
    auto inside = [](std::vector<sys::IdMapRange> const& map, uint32_t id, char const* kind) -> Result<uint64_t> {
        if (auto mapped = sys::id_inside(map, id))
            return *mapped;
        return Error::format("{} {} is not mapped in the user namespace of the restored process", kind, id);
    };
    if (status.groups != c.groups) {
        if (c.groups.size() * 4 > kScratchSize - kScratchData)
            return Error::make("too many supplementary groups");
        std::vector<uint32_t> groups;
        for (auto g : c.groups)
            groups.push_back(static_cast<uint32_t>(TRY(inside(gid_map, g, "group"))));
        TRY(m_scratch->write(kScratchData, groups.data(), groups.size() * 4));
        TRY(t.syscall_checked("setgroups", SYS_setgroups, { groups.size(), m_scratch->address() + kScratchData }));
    }
    if (!std::equal(std::begin(c.gid), std::end(c.gid), std::begin(status.gid))) {
        uint64_t ids[3];
        for (int i = 0; i < 3; ++i)
            ids[i] = TRY(inside(gid_map, c.gid[i], "gid"));
        TRY(t.syscall_checked("setresgid", SYS_setresgid, { ids[0], ids[1], ids[2] }));
    }
    if (!std::equal(std::begin(c.uid), std::end(c.uid), std::begin(status.uid))) {
        uint64_t ids[3];
        for (int i = 0; i < 3; ++i)
            ids[i] = TRY(inside(uid_map, c.uid[i], "uid"));
        TRY(t.syscall_checked("setresuid", SYS_setresuid, { ids[0], ids[1], ids[2] }));
    }
    return {};
}

} // namespace cryo::checkpoint
