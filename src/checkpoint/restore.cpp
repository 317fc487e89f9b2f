#include "checkpoint/restore.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>
#include <linux/prctl.h>
#include <linux/sched.h>
#include <map>
#include <memory>
#include <set>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/log.h"
#include "base/scope_guard.h"
#include "checkpoint/codec.h"
#include "checkpoint/files_restore.h"
#include "checkpoint/image.h"
#include "checkpoint/memory_objects.h"
#include "checkpoint/pages.h"
#include "checkpoint/pages_fill.h"
#include "checkpoint/pidns.h"
#include "checkpoint/remote.h"
#include "checkpoint/restore_areas.h"
#include "checkpoint/seccomp.h"
#include "checkpoint/syscall_reentry.h"
#include "checkpoint/task_state.h"
#include "sys/file.h"
#include "sys/idmap.h"
#include "sys/ns.h"
#include "sys/pagemap_scan.h"
#include "sys/process.h"
#include "sys/procfs.h"
#include "sys/ptrace_calls.h"
#include "sys/raw.h"
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

// Creates the process with its original pid. The child runs only this: it parks in pause()
// until cryo seizes it; nothing in it allocates.
Result<sys::ChildProcess> clone_with_pid(int pid)
{
    if (sys::exists(fmt::format("/proc/{}", pid)))
        return Error::format("pid {} is already in use", pid);
    pid_t tids[1] = { pid };
    int pidfd = -1;
    struct clone_args args { };
    args.flags = CLONE_PIDFD;
    args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
    args.exit_signal = SIGCHLD;
    args.set_tid = reinterpret_cast<uint64_t>(tids);
    args.set_tid_size = 1;
    long r = ::syscall(__NR_clone3, &args, sizeof args);
    if (r < 0) {
        if (errno == EEXIST)
            return Error::format("pid {} is already in use", pid);
        return Error::from_errno(fmt::format("clone3 with pid {}", pid));
    }
    if (r == 0) {
        for (;;)
            ::syscall(SYS_pause);
    }
    // CLOEXEC is not settable via clone3's pidfd; set it now.
    ::fcntl(pidfd, F_SETFD, FD_CLOEXEC);
    return sys::ChildProcess(static_cast<pid_t>(r), Fd(pidfd));
}

char const* special_name(AreaKind k)
{
    return k == AreaKind::Vdso ? "[vdso]" : k == AreaKind::Vvar ? "[vvar]" : "[vvar_vclock]";
}

// Where one process is: its ids in the image model are the ones it gets back (in its own pid
// namespace); cryo reaches it by its host pid. For a bare tree both are the same.
struct ProcessPlace {
    int host_pid { 0 };
    int image_pid { 0 }; // the pid its image files are named by (the pid at dump, cryo's view)
    int cryo_pidfd { -1 }; // a pidfd of cryo it already holds (container), or -1: open one
    // It is a copy of cryo made after the AreaFds were opened (a bare tree: the root by
    // clone_with_pid, the others by a fork in their parent, still a copy of cryo then), so it
    // holds each of them, and cryo's own pidfd, at the same number as cryo.
    bool inherits_area_fds { false };
};

// The files that the tree's memory areas map (restore_areas.h), opened once by cryo before
// the tree is created, and a pidfd of cryo: a process that inherits them maps its areas
// from its copies, with no remote pidfd_getfd and close per area (3 remote syscalls per
// file-backed area were a third of a trivial restore's). Areas of other files, and every
// area of a container's processes, are passed with pidfd_getfd, once per file.
struct AreaFds {
    std::map<AreaFileKey, Fd> files;
    std::optional<Fd> cryo_pidfd;
};

// Everything needed to rebuild one process, driven through its stopped leader.
class ProcessRestorer {
public:
    ProcessRestorer(Process const& process, ProcessPlace place, ImageReader const& image, OpenedFiles const& files,
                    sys::Tracee& tracee, std::vector<sys::Tracee>& threads, RestoreStats& stats)
        : m_p(process)
        , m_place(place)
        , m_image(image)
        , m_files(files)
        , m_t(tracee)
        , m_threads(threads)
        , m_stats(stats)
    {
    }

    // First half of the rebuild: the address space, with the page contents submitted to
    // `filler`, which fills them in the background while the next processes are rebuilt.
    Result<void> prepare_memory(PageFiller& filler)
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
        if (inherits_area_fds()) {
            // The fds cryo had at the clone stay until the areas are mapped from them.
            TRY(prepare_address_space(child_maps));
            TRY(install_cryo_pidfd());
            TRY(map_areas());
            TRY(close_all_but(m_cryo_pidfd));
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
        auto t = Clock::now();
        auto sources = TRY(open_page_files(m_image, m_place.image_pid));
        auto uffd = TRY(prepare_uffd_fill(m_t, m_p.areas, m_p.pages));
        m_fill_job = TRY(
            filler.submit(host(), m_p.pages, std::move(sources), std::move(uffd)).context("image {}", m_image.dir()));
        m_stats.memory_ms += ms_since(t); // memory time not overlapped with other work
        return {};
    }

    // Second half: waits until the memory is in and verified (nothing below may touch it
    // before: a kernel access to a page not filled yet would hit the userfaultfd), then
    // everything else; leaves every thread stopped with its final registers set.
    Result<void> prepare_rest(PageFiller& filler)
    {
        if (m_p.state.zombie)
            return {};
        auto t = Clock::now();
        TRY(filler.wait(m_fill_job).context("image {}", m_image.dir()));
        m_stats.memory_ms += ms_since(t);
        m_stats.pages += m_p.page_count();
        m_stats.bytes += m_p.page_count() * 4096;
        TRY(protect_areas());
        TRY(install_guards());
        TRY(set_mm_layout());
        TRY(restore_files());
        TRY(restore_signals());
        TRY(restore_misc());
        TRY(m_t.syscall_checked("close cryo pidfd", SYS_close, { m_cryo_pidfd }));
        // Threads are cloned while the leader still has the privilege to pick their tids;
        // credentials are per thread in the kernel, so each thread gets its own afterwards.
        for (size_t i = 1; i < m_p.threads.size(); ++i)
            TRY(create_thread(m_p.threads[i]).context("thread {}", m_p.threads[i].tid));
        TRY(restore_task_state(m_p, m_t, m_threads, *m_scratch, kScratchData)); // signals, timers, attrs
        // Seccomp filters last, or just before the credentials when those would forbid
        // installing them (seccomp.h); either way they never judge cryo's own remote syscalls.
        sys::Tracee::Options const traced { .exit_kill = true,
                                            .trace_clone = true,
                                            .trace_fork = true }; // kRestoreTrace
        TRY(restore_seccomp(m_p, m_t, m_threads, traced, SeccompPoint::BeforeCredentials));
        TRY(finish_thread(m_t, m_p.threads[0]));
        for (size_t i = 1; i < m_p.threads.size(); ++i)
            TRY(finish_thread(m_threads.at(i - 1), m_p.threads[i]).context("thread {}", m_p.threads[i].tid));
        TRY(restore_seccomp(m_p, m_t, m_threads, traced, SeccompPoint::AfterCredentials));
        return {};
    }

    // Shared anonymous memory, deleted files and memfds that areas map (memory_objects.h).
    void use_memory_objects(MemoryObjects const& objects) { m_objects = &objects; }
    // The files cryo opened for the tree's areas (AreaFds); used only if the process
    // inherited them (ProcessPlace::inherits_area_fds).
    void use_area_fds(AreaFds const& fds) { m_area_fds = &fds; }

    // The very last remote syscall unmaps the scratch page (holding the syscall instruction);
    // the leader sits at its syscall exit when its final registers go in. A thread dumped
    // inside a restartable syscall is then run to that syscall's entry (syscall_reentry.h).
    // Then all threads go.
    Result<void> finish()
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
        for (auto& t : m_threads)
            TRY(t.detach().context("resume thread {}", t.tid()));
        TRY(m_t.detach().context("resume process {}", m_p.pid));
        return {};
    }

private:
    int host() const { return m_place.host_pid; }
    bool inherits_area_fds() const { return m_place.inherits_area_fds && m_area_fds; }

    Result<void> close_all_but(uint64_t kept)
    {
        if (kept > 0)
            TRY(m_t.syscall_checked("close_range", __NR_close_range, { 0, kept - 1, 0 }));
        TRY(m_t.syscall_checked("close_range", __NR_close_range, { kept + 1, ~0U, 0 }));
        return {};
    }

    Result<void> create_thread(Thread const& thread)
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
        uint64_t got = TRY(
            m_t.syscall_checked("clone3 thread", __NR_clone3, { m_scratch->address() + kScratchData, sizeof args }));
        if (got != static_cast<uint64_t>(tid))
            return Error::format("clone3 gave tid {} instead of {}", got, tid);
        // cryo sees the new thread by its host tid (the clone event's message).
        pid_t host_tid = m_t.last_clone_tid() ? m_t.last_clone_tid() : tid;
        for (;;) {
            int status = TRY(sys::wait_traced(host_tid));
            auto kind = sys::classify_stop(status);
            if (kind == sys::StopKind::Exited)
                return Error::format("new thread {} died", tid);
            if (kind == sys::StopKind::EventStop || kind == sys::StopKind::GroupStop
                || kind == sys::StopKind::SignalStop)
                break;
        }
        m_threads.push_back(TRY(sys::Tracee::adopt(host(), host_tid)));
        m_threads.back().set_syscall_address(m_scratch->address());
        return {};
    }

    // Per-thread state, run in that thread: tid address, rseq, credentials, mask, registers.
    Result<void> finish_thread(sys::Tracee& t, Thread const& thread)
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

    Result<void> prepare_address_space(std::vector<sys::MapsEntry> const& child_maps)
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

    // A pidfd of cryo inside the process, so it can take files from cryo with pidfd_getfd.
    Result<void> install_cryo_pidfd()
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

    // Passes one of cryo's fds into the process; returns its number there.
    Result<uint64_t> pass_fd(FdRef fd)
    {
        return m_t.syscall_checked("pidfd_getfd", __NR_pidfd_getfd,
                                   { m_cryo_pidfd, static_cast<uint64_t>(fd.get()), 0 });
    }

    // The number in the process of the file `key` maps: its inherited copy of cryo's fd, or
    // one passed now (once per file; `passed` lists them for closing).
    Result<uint64_t> area_fd(AreaFileKey const& key, std::map<AreaFileKey, uint64_t>& passed, MemoryArea const& a)
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

    // One remote mmap per area (restore_areas.h: areas without pages in the image get their
    // own protection here and no mprotect later).
    Result<void> map_areas()
    {
        m_mappings = plan_area_mappings(m_p);
        std::map<AreaFileKey, uint64_t> passed;
        auto mapped = [&]() -> Result<void> {
            for (auto const& m : m_mappings) {
                auto const& a = m_p.areas[m.area];
                uint64_t fd = m.file ? TRY(area_fd(*m.file, passed, a)) : ~0ULL;
                uint64_t got = TRY(
                    m_t.syscall_checked("mmap", SYS_mmap, { a.start, a.size(), m.prot, m.flags, fd, a.file_offset })
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

    Result<void> protect_areas()
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

    // Guard pages (MemoryArea::guards) go back once the area is filled (the fill never wrote
    // there) and before the process runs.
    Result<void> install_guards()
    {
        for (auto const& a : m_p.areas)
            for (auto const& g : a.guards)
                TRY(m_t.syscall_checked("madvise MADV_GUARD_INSTALL", SYS_madvise,
                                        { g.start, g.end - g.start, sys::kMadvGuardInstall })
                        .context("guard pages {:#x}-{:#x} of memory area {:#x}-{:#x} {} (Linux 6.13+)", g.start, g.end,
                                 a.start, a.end, a.name));
        return {};
    }

    Result<void> set_mm_layout()
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

    Result<void> restore_files() { return install_open_files(m_p, m_files, m_t, m_cryo_pidfd); }

    Result<void> restore_signals()
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

    Result<void> write_string(std::string const& s)
    {
        if (s.size() + 1 > kScratchSize - kScratchData)
            return Error::format("path too long: {}", s);
        return m_scratch->write(kScratchData, s.c_str(), s.size() + 1);
    }

    Result<void> restore_misc()
    {
        if (m_p.root != "/") {
            TRY(write_string(m_p.root));
            TRY(m_t.syscall_checked("chroot", SYS_chroot, { m_scratch->address() + kScratchData })
                    .context("root {}", m_p.root));
        }
        TRY(write_string(m_p.cwd));
        TRY(m_t.syscall_checked("chdir", SYS_chdir, { m_scratch->address() + kScratchData })
                .context("cwd {}", m_p.cwd));
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

    Result<void> restore_credentials(sys::Tracee& t)
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

    Process const& m_p;
    ProcessPlace m_place;
    ImageReader const& m_image;
    OpenedFiles const& m_files;
    sys::Tracee& m_t;
    std::vector<sys::Tracee>& m_threads; // threads other than the leader, created here
    RestoreStats& m_stats;
    std::optional<RemoteScratch> m_scratch;
    uint64_t m_cryo_pidfd { 0 };
    MemoryObjects const* m_objects { nullptr };
    AreaFds const* m_area_fds { nullptr };
    std::vector<AreaMapping> m_mappings; // plan_area_mappings, from map_areas to protect_areas
    size_t m_fill_job { 0 }; // of the PageFiller, between prepare_memory and prepare_rest
};

} // namespace

namespace {

// One process being restored: its leader (and threads, once created) held stopped.
struct Restoring {
    Process const* process { nullptr };
    ProcessPlace place;
    std::optional<sys::Tracee> leader;
    std::vector<sys::Tracee> threads;
};

constexpr sys::Tracee::Options kRestoreTrace { .exit_kill = true, .trace_clone = true, .trace_fork = true };

// At most this many area files are held open for inheritance (AreaFds): every process of the
// tree holds them all until its areas are mapped, and cryo's RLIMIT_NOFILE may be 1024. A
// tree mapping more files passes the others, as a container's processes do.
constexpr size_t kMaxInheritedAreaFiles = 256;

// Opens the files the areas of `processes` map (AreaFds), each once, and a pidfd of cryo.
Result<AreaFds> open_area_fds(std::vector<Process> const& processes, MemoryObjects const& objects)
{
    AreaFds out;
    out.cryo_pidfd = TRY(sys::pidfd_open(::getpid()));
    for (auto const& p : processes) {
        if (p.state.zombie)
            continue; // maps nothing (restore_zombie)
        for (auto const& m : plan_area_mappings(p)) {
            if (!m.file || out.files.contains(*m.file))
                continue;
            if (out.files.size() == kMaxInheritedAreaFiles)
                return out;
            auto const& a = p.areas[m.area];
            auto fd = m.file->object
                ? TRY(objects.reopen(m.file->object).context("process {}: memory area {:#x}", p.pid, a.start))
                : TRY(sys::open(m.file->path, m.file->open_flags | O_CLOEXEC)
                          .context("process {}: memory area {:#x}", p.pid, a.start));
            out.files.emplace(*m.file, std::move(fd));
        }
    }
    return out;
}

// Waits for a task born from a traced fork/clone to report its first stop.
Result<void> wait_new_task(int pid)
{
    for (;;) {
        int status = TRY(sys::wait_traced(pid));
        auto kind = sys::classify_stop(status);
        if (kind == sys::StopKind::Exited)
            return Error::format("new process {} died", pid);
        if (kind != sys::StopKind::SyscallStop)
            return {};
    }
}

// Re-creates a child process with its pid by a remote fork (clone3 with set_tid) inside its
// restored parent, which is still a copy of cryo at this point. `pid` is the id in the
// parent's pid namespace (set_tid names it there); returns the child by its host pid.
Result<sys::Tracee> fork_in_parent(sys::Tracee& parent, int pid)
{
    auto scratch = TRY(RemoteScratch::map(parent, 4096));
    struct clone_args args { };
    args.exit_signal = SIGCHLD;
    args.set_tid = scratch.address() + sizeof args;
    args.set_tid_size = 1;
    pid_t tid = pid;
    TRY(scratch.write(0, &args, sizeof args));
    TRY(scratch.write(sizeof args, &tid, sizeof tid));
    long r = TRY(parent.syscall(__NR_clone3, { scratch.address(), sizeof args }));
    if (r == -EEXIST)
        return Error::format("pid {} is already in use", pid);
    if (r < 0)
        return Error::from_errno(static_cast<int>(-r), fmt::format("clone3 with pid {} in {}", pid, parent.tid()));
    if (r != pid)
        return Error::format("clone3 gave pid {} instead of {}", r, pid);
    // The fork event names the child as cryo sees it (its host pid inside a container).
    int host = parent.last_clone_tid() ? parent.last_clone_tid() : pid;
    TRY(wait_new_task(host));
    TRY(scratch.unmap());
    return sys::Tracee::adopt(host, host);
}

// Sessions and process groups, set in the new process before it has children of its own:
// a session leader calls setsid(); a group leader makes its group; others join theirs.
// The root keeps cryo's session unless it led its own (shell job).
// `host_of` turns an id of the image into cryo's view of the new process (0: none yet).
Result<void> restore_session(sys::Tracee& t, Process const& p, std::vector<Process> const& all,
                             std::function<int(int)> const& host_of)
{
    int host = host_of(p.pid);
    auto maps = TRY(sys::read_maps(host));
    t.set_syscall_address(TRY(find_vdso_syscall(host, maps)));
    auto stat = TRY(sys::read_stat(host));
    if (p.sid == p.pid) {
        // A container's init made its session already.
        if (stat.sid != host)
            TRY(t.syscall_checked("setsid", SYS_setsid));
        return {};
    }
    if (stat.pgid == host_of(p.pgid))
        return {};
    bool in_tree = p.pgid == p.pid;
    for (auto const& other : all)
        in_tree |= other.pid == p.pgid;
    if (!in_tree)
        return {}; // a group outside the tree (the caller's): stay in cryo's
    TRY(t.syscall_checked("setpgid", SYS_setpgid, { 0, static_cast<uint64_t>(p.pgid) })
            .context("join process group {}", p.pgid));
    return {};
}

} // namespace

void log_restore_stats(std::string_view what, int pid, RestoreStats const& stats)
{
    log::stats(log::Level::Info,
               fmt::format("{}: pid {}, {} pages, memory {:.1f} ms, total {:.1f} ms", what, pid, stats.pages,
                           stats.memory_ms, stats.total_ms),
               { { "pid", static_cast<double>(pid) },
                 { "pages", static_cast<double>(stats.pages) },
                 { "bytes", static_cast<double>(stats.bytes) },
                 { "read_ms", stats.read_ms },
                 { "memory_ms", stats.memory_ms },
                 { "total_ms", stats.total_ms } });
}

Result<RestoredTree> restore(RestoreOptions const& options, RestoreInto const* into_options)
{
    RestoreInto const no_container;
    RestoreInto const& into = into_options ? *into_options : no_container;
    auto start = Clock::now();
    RestoredTree out;
    auto image = TRY(ImageReader::open(options.images_dir));
    auto const& manifest = image.manifest();
    std::vector<Process> processes;
    for (int pid : manifest.pids) {
        auto text = TRY(image.read_file(process_file_name(pid)));
        processes.push_back(
            TRY(decode_process(text).context("image {}: {}", options.images_dir, process_file_name(pid))));
    }
    bool container = into.into_pid != 0;
    if (container) {
        auto ns_text = TRY(image.read_file(kNsPidsName));
        auto ns_pids = TRY(decode_ns_pids(ns_text).context("image {}", options.images_dir));
        TRY(to_namespace_ids(processes, ns_pids).context("image {}", options.images_dir));
        if (processes.empty() || processes[0].pid != 1)
            return Error::format("image {}: its root is not pid 1 of a pid namespace (not a container's init)",
                                 options.images_dir);
        prepare_container_paths(processes, into.into_pid);
    }
    out.stats.read_ms = ms_since(start);
    if (processes.empty() || manifest.pids[0] != manifest.root_pid)
        return Error::format("image {}: the first process is not the root", options.images_dir);
    for (size_t i = 1; i < processes.size(); ++i) {
        bool parent_before = false;
        for (size_t j = 0; j < i; ++j)
            parent_before |= processes[j].pid == processes[i].ppid;
        if (!parent_before)
            return Error::format("image {}: parent {} of process {} is not in the image before it", options.images_dir,
                                 processes[i].ppid, processes[i].pid);
    }
    if (!container)
        for (auto const& p : processes)
            if (sys::exists(fmt::format("/proc/{}", p.pid)))
                return Error::format("pid {} is already in use", p.pid);

    // Every open file description of the tree, opened once; processes take theirs from here.
    // A container's sockets belong to its network namespace: its state (links, addresses)
    // comes first, then cryo opens the files from inside it (TCP_REPAIR binds and connects
    // there; abstract unix names live there).
    if (into.before_files)
        TRY(into.before_files());
    std::optional<Fd> own_netns;
    ScopeGuard leave_netns([&] {
        if (own_netns)
            (void)sys::setns(*own_netns, CLONE_NEWNET);
    });
    if (container && TRY(sys::ns_inode(into.into_pid, "net")) != TRY(sys::ns_inode(0, "net"))) {
        auto theirs = TRY(sys::open_ns(into.into_pid, "net").context("network namespace of {}", into.into_pid));
        auto ours = TRY(sys::open_ns(0, "net"));
        TRY(sys::setns(theirs, CLONE_NEWNET).context("join network namespace of {}", into.into_pid));
        own_netns = std::move(ours);
    }
    auto files = TRY(OpenedFiles::open(processes, image).context("image {}: open files", options.images_dir));
    if (own_netns) {
        TRY(sys::setns(*own_netns, CLONE_NEWNET).context("return to cryo's network namespace"));
        own_netns.reset();
    }
    auto memory_objects
        = TRY(MemoryObjects::open(processes, image).context("image {}: shared memory", options.images_dir));
    // Before the first clone: the bare tree's processes are copies of cryo and inherit them.
    AreaFds area_fds;
    if (!container)
        area_fds = TRY(open_area_fds(processes, memory_objects));

    std::vector<std::unique_ptr<Restoring>> tree;
    auto host_of = [&](int pid) {
        for (auto const& r : tree)
            if (r->process->pid == pid)
                return r->place.host_pid;
        return 0;
    };
    // On failure every process created so far dies before its Tracee would let it go.
    // Declared before the guard below, so that on an error it kills and reaps the root only
    // after the guard has killed every process and drained the traced threads: a leader's
    // exit is not reported while threads of it that cryo traces are unreaped, and its
    // waitpid would block for ever (a tree whose root has threads, failing in a later
    // process: tests/cr/cr_fill_tree.sh).
    sys::ChildProcess root_child;
    ArmedScopeGuard kill_on_error([&] {
        for (auto& r : tree)
            if (r->place.host_pid > 0)
                (void)::kill(r->place.host_pid, SIGKILL);
        // Threads: their exit is cryo's to collect (see root_child above). In a container,
        // reap the ptrace side of the leaders too, children first: the init of a pid
        // namespace does not finish dying until its children are reaped, and a child we
        // trace is released to it only once we waited for it.
        auto drain = [&](int tid) {
            for (;;) {
                auto status = sys::wait_traced(tid);
                if (!status || sys::classify_stop(*status) == sys::StopKind::Exited)
                    break;
                (void)sys::ptrace_cont(tid, 0);
            }
        };
        for (auto it = tree.rbegin(); it != tree.rend(); ++it) {
            auto& r = **it;
            for (auto& t : r.threads) {
                drain(t.tid());
                t.forget();
            }
            if (r.leader) {
                if (container)
                    drain(r.leader->tid());
                r.leader->forget();
            }
        }
    });

    // 1. Create the tree, parents first, each process by its parent, with its pid. A
    // container's root is the init the runtime parked in the new namespaces.
    if (!container)
        root_child = TRY(clone_with_pid(processes[0].pid).context("restore process {}", processes[0].pid));
    for (size_t i = 0; i < processes.size(); ++i) {
        auto const& p = processes[i];
        auto r = std::make_unique<Restoring>();
        r->process = &p;
        r->place.image_pid = manifest.pids.at(i);
        r->place.cryo_pidfd = container ? into.into_cryo_pidfd : -1;
        r->place.inherits_area_fds = !container;
        tree.push_back(std::move(r));
        auto& current = *tree.back();
        if (i == 0) {
            int host = container ? into.into_pid : p.pid;
            current.leader.emplace(
                TRY(sys::Tracee::seize(host, host, kRestoreTrace).context("restore process {}", p.pid)));
            current.place.host_pid = host;
        } else {
            Restoring* parent = nullptr;
            for (auto& other : tree)
                if (other->process->pid == p.ppid)
                    parent = other.get();
            current.leader.emplace(TRY(fork_in_parent(*parent->leader, p.pid).context("create process {}", p.pid)));
            current.place.host_pid = current.leader->tid();
        }
        TRY(restore_session(*current.leader, p, processes, host_of).context("restore process {}", p.pid));
        if (p.state.zombie) // exits at once, before its parent has other children (task_state.cpp)
            TRY(restore_zombie(p, *current.leader).context("restore zombie {}", p.pid));
    }

    // 2. Rebuild each process; all stay stopped. The address spaces first, each one's pages
    // filled in the background while the next is mapped (a tree's small processes overlap
    // their remote syscalls with the copies), then the rest of each, once its memory is in.
    // Declared after `tree`: on an error the filler stops before the processes are killed.
    PageFiller filler;
    std::vector<std::unique_ptr<ProcessRestorer>> restorers;
    for (auto& r : tree) {
        restorers.push_back(
            std::make_unique<ProcessRestorer>(*r->process, r->place, image, files, *r->leader, r->threads, out.stats));
        restorers.back()->use_memory_objects(memory_objects);
        restorers.back()->use_area_fds(area_fds);
        TRY(restorers.back()->prepare_memory(filler).context("restore process {}", r->process->pid));
    }
    for (size_t i = 0; i < restorers.size(); ++i)
        TRY(restorers[i]->prepare_rest(filler).context("restore process {}", tree[i]->process->pid));
    if (into.before_resume)
        TRY(into.before_resume());
    // 3. Let them all go together.
    for (size_t i = 0; i < restorers.size(); ++i)
        TRY(restorers[i]->finish().context("restore process {}", tree[i]->process->pid));
    kill_on_error.disarm();
    out.root = std::move(root_child);
    out.stats.total_ms = ms_since(start);
    return out;
}

} // namespace cryo::checkpoint
