#include "checkpoint/restore.h"

#include <chrono>
#include <csignal>
#include <linux/sched.h>
#include <memory>
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
#include "checkpoint/restore_process.h"
#include "checkpoint/task_state.h"
#include "sys/file.h"
#include "sys/ns.h"
#include "sys/process.h"
#include "sys/procfs.h"
#include "sys/ptrace_calls.h"
#include "sys/tracee.h"

namespace cryo::checkpoint {

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

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
    RestoreTimeline timeline;
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
        prepare_container_paths(processes, into.into_pid, into.stdio_marked);
    }
    out.stats.read_ms = ms_since(start);
    timeline.mark("read");
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
    timeline.mark("open files");

    std::vector<std::unique_ptr<Restoring>> tree;
    auto parent_affinity = [&](int ppid) -> std::optional<cpu_set_t> {
        for (auto const& r : tree)
            if (r->process->pid == ppid)
                return r->place.affinity;
        return std::nullopt;
    };
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
        // Pinned to cryo's CPU for the remote syscalls to come; a child forked by its pinned
        // parent gets the parent's mask from before back (restore_process.h).
        pin_for_restore(current.place, i == 0 ? std::nullopt : parent_affinity(p.ppid));
        TRY(restore_session(*current.leader, p, processes, host_of).context("restore process {}", p.pid));
        if (p.state.zombie) // exits at once, before its parent has other children (task_state.cpp)
            TRY(restore_zombie(p, *current.leader).context("restore zombie {}", p.pid));
    }
    timeline.mark("create tree");

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
        restorers.back()->use_timeline(timeline);
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
    log::debug("restore {}: {}", options.images_dir, timeline.summary());
    return out;
}

} // namespace cryo::checkpoint
