// Rebuilding one process of a restore (restore.h, step 2), from outside through its stopped
// leader with remote syscalls run from a scratch page: first its address space (the areas
// mapped, the page contents handed to a PageFiller), then, once its memory is in and verified,
// everything else (protections, guards, mm layout, files, signals, misc attributes, threads,
// task state, seccomp, credentials, registers). Invariant: nothing touches its memory before
// the fill of its pages is complete and checked, and every thread stays stopped until finish().
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <sched.h>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/fd.h"
#include "checkpoint/model.h"
#include "checkpoint/remote.h"
#include "checkpoint/restore.h"
#include "checkpoint/restore_areas.h"
#include "sys/procfs.h"
#include "sys/tracee.h"

namespace cryo::checkpoint {

class ImageReader;
class MemoryObjects;
class OpenedFiles;
class PageFiller;

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
    // The CPUs it may run on once let go, if cryo pinned it for the restore (pin_for_restore):
    // finish() gives this mask back to every thread of it.
    std::optional<cpu_set_t> affinity;
};

// A process being restored runs only cryo's remote syscalls, each two round trips between
// cryo's thread and it. Woken on an idle other CPU, each wake-up costs an inter-processor
// interrupt (expensive in a VM) and the remote syscalls of a process took 2-4x as long
// (measured: 0.6 ms instead of 0.15 ms for the same steps). Pinned to the CPU cryo's thread
// is on, it runs as soon as cryo waits for it, on the same CPU. Sets `place.affinity` to the
// mask to give back: `inherited` if given (a process forked by a pinned parent gets the
// parent's mask back), else its mask now. A refusal (a cpuset without that CPU) leaves it
// unpinned and `place.affinity` empty: the optimisation is skipped, nothing else changes.
void pin_for_restore(ProcessPlace& place, std::optional<cpu_set_t> const& inherited);
// Moves a process pinned by pin_for_restore to the CPU cryo's thread is on now (it may have
// moved while it filled memory). Best effort, as the pinning.
void repin_for_restore(ProcessPlace const& place);

// The files that the tree's memory areas map (restore_areas.h), opened once by cryo before
// the tree is created, and a pidfd of cryo: a process that inherits them maps its areas
// from its copies, with no remote pidfd_getfd and close per area (3 remote syscalls per
// file-backed area were a third of a trivial restore's). Areas of other files, and every
// area of a container's processes, are passed with pidfd_getfd, once per file.
struct AreaFds {
    std::map<AreaFileKey, Fd> files;
    std::optional<Fd> cryo_pidfd;
};

// Where a restore's time goes, for --debug: each mark ends a phase of the calling thread; the
// summary lists the phases with their ms in order (a phase marked again adds up).
class RestoreTimeline {
public:
    using Clock = std::chrono::steady_clock;
    RestoreTimeline()
        : m_start(Clock::now())
        , m_last(m_start)
    {
    }
    void mark(std::string_view phase);
    double elapsed_ms() const;
    // "read 0.4, files 0.2, ... (total 312.0 ms)"
    std::string summary() const;

private:
    Clock::time_point m_start;
    Clock::time_point m_last;
    std::vector<std::pair<std::string, double>> m_phases;
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
    Result<void> prepare_memory(PageFiller& filler);

    // Second half: waits until the memory is in and verified (nothing below may touch it
    // before: a kernel access to a page not filled yet would hit the userfaultfd), then
    // everything else; leaves every thread stopped with its final registers set.
    Result<void> prepare_rest(PageFiller& filler);

    // Marks its phases there (--debug), if given.
    void use_timeline(RestoreTimeline& timeline) { m_timeline = &timeline; }

    // Shared anonymous memory, deleted files and memfds that areas map (memory_objects.h).
    void use_memory_objects(MemoryObjects const& objects) { m_objects = &objects; }

    // The files cryo opened for the tree's areas (AreaFds); used only if the process
    // inherited them (ProcessPlace::inherits_area_fds).
    void use_area_fds(AreaFds const& fds) { m_area_fds = &fds; }

    // The very last remote syscall unmaps the scratch page (holding the syscall instruction);
    // the leader sits at its syscall exit when its final registers go in. A thread dumped
    // inside a restartable syscall is then run to that syscall's entry (syscall_reentry.h).
    // Then all threads go.
    Result<void> finish();

private:
    int host() const { return m_place.host_pid; }
    void mark(std::string_view phase)
    {
        if (m_timeline)
            m_timeline->mark(phase);
    }
    bool inherits_area_fds() const { return m_place.inherits_area_fds && m_area_fds; }

    Result<void> close_all_but(uint64_t kept);

    Result<void> create_thread(Thread const& thread);

    // Per-thread state, run in that thread: tid address, rseq, credentials, mask, registers.
    Result<void> finish_thread(sys::Tracee& t, Thread const& thread);

    Result<void> prepare_address_space(std::vector<sys::MapsEntry> const& child_maps);

    // A pidfd of cryo inside the process, so it can take files from cryo with pidfd_getfd.
    Result<void> install_cryo_pidfd();

    // Passes one of cryo's fds into the process; returns its number there.
    Result<uint64_t> pass_fd(FdRef fd);

    // The number in the process of the file `key` maps: its inherited copy of cryo's fd, or
    // one passed now (once per file; `passed` lists them for closing).
    Result<uint64_t> area_fd(AreaFileKey const& key, std::map<AreaFileKey, uint64_t>& passed, MemoryArea const& a);

    // One remote mmap per area (restore_areas.h: areas without pages in the image get their
    // own protection here and no mprotect later).
    Result<void> map_areas();

    Result<void> protect_areas();

    // Guard pages (MemoryArea::guards) go back once the area is filled (the fill never wrote
    // there) and before the process runs.
    Result<void> install_guards();

    Result<void> set_mm_layout();

    Result<void> restore_files();

    Result<void> restore_signals();

    Result<void> write_string(std::string const& s);

    Result<void> restore_misc();

    Result<void> restore_credentials(sys::Tracee& t);

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
    RestoreTimeline* m_timeline { nullptr };
    std::vector<AreaMapping> m_mappings; // plan_area_mappings, from map_areas to protect_areas
    size_t m_fill_job { 0 }; // of the PageFiller, between prepare_memory and prepare_rest
};

} // namespace cryo::checkpoint
