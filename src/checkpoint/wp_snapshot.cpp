// Write-protect snapshot of a process for `dump --leave-running` (wp_snapshot.h).
//
// Why userfaultfd write protection and not the remote fork() DESIGN.md first proposed: both
// give a copy-on-write view in the time it takes to walk the page tables, but a fork child is
// the victim's child (the application can see it: SIGCHLD, a zombie, wait() returning a pid
// it never made) and the pages copied on write are charged to the container's memory cgroup
// (a busy container near its limit could be OOM-killed because it was checkpointed). With
// write protection nothing new exists in the process: one userfaultfd (created inside it so
// that it acts on its mm, then taken by cryo and closed there at once), and the copies of
// written pages live in cryo's memory. QEMU's background snapshots work the same way.
//
// Correctness: the dumped pages are write-protected while the process is frozen. After the
// thaw the page writer reads pages with process_vm_readv (reads never fault on protection)
// and, after each chunk's read and before its checksum and write, patches the chunk with the
// side store (under m_mutex), marking its pages final. A write by the process to a protected
// page faults and waits; the handler copies the page's original content into the side store,
// and only then unprotects it, which lets the write happen. So a page that the process wrote
// after the thaw is in the side store before its write can happen, and a chunk read that
// raced with that write is corrected by the patch (the save is recorded before the unprotect,
// and the patch takes the lock after the read). A page that the writer already patched is
// final: its fault is resolved without a save. Pages of areas the kernel does not register
// (private file mappings, areas the process registered itself) are copied into the side
// store while frozen and patched the same way.
//
// Futex words: some kernel writes to user memory cannot wait for the handler (futex's
// fault_in_user_writeable() faults without FAULT_FLAG_ALLOW_RETRY, and a thread that exits
// gets no userfault handling at all): on a protected page they fail, and the application
// sees EFAULT from FUTEX_LOCK_PI / FUTEX_WAKE_OP (glibc aborts on it), or a robust mutex is
// never marked FUTEX_OWNER_DIED. So the pages of the futex words the frozen threads show
// (futex_words.h: calls in progress or about to start, robust lists, clear_child_tid) are
// copied while frozen and never protected. A futex call made later on a page nobody wrote
// since the thaw and no thread showed while frozen can still fail; docs/checkpoint-engine.md
// says which cases those are.
//
// What write protection cannot see: the process discarding (MADV_DONTNEED) or unmapping or
// moving (mremap) memory whose pages were not copied yet. The REMOVE/UNMAP/REMAP events
// report it; the snapshot is then broken and the dump says so (dump.cpp retries once with
// the copy made while frozen).
#include "checkpoint/wp_snapshot.h"

#include "checkpoint/futex_words.h"
#include "checkpoint/test_hooks.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/log.h"
#include "sys/file.h"
#include "sys/process.h"
#include "sys/remote_memory.h"
#include "sys/tracee.h"
#include "sys/userfaultfd.h"

namespace cryo::checkpoint {

namespace {

constexpr uint64_t kPage = sys::kPageSize;
// A transparent huge page is unprotected whole: unprotecting 4 KiB of it would split it.
constexpr size_t kArenaBlock = 8 << 20;
// How long an unprotect may be refused (EAGAIN: a mapping change of the process in flight)
// before the handler gives up on that range (finish() still releases it).
constexpr int kUnprotectAttempts = 100000;

} // namespace

WpSnapshot::WpSnapshot(int pid, PagePlan const& plan)
    : m_pid(pid)
    , m_segments(plan.segments)
{
    uint64_t offset = 0;
    for (auto const& s : m_segments) {
        m_offsets.push_back(offset);
        offset += s.size;
    }
    m_total_pages = offset / kPage;
    m_final.assign(m_total_pages, 0);
}

WpSnapshot::~WpSnapshot()
{
    (void)finish();
}

std::unique_ptr<WpSnapshot> WpSnapshot::create(sys::Tracee& leader, std::vector<MemoryArea> const& areas,
                                               PagePlan const& plan, std::vector<Thread> const& threads)
{
    int pid = leader.tgid();
    auto made = [&]() -> Result<std::unique_ptr<WpSnapshot>> {
        if (plan.bytes == 0)
            return Error::make("no pages");
        if (!std::is_sorted(plan.segments.begin(), plan.segments.end(),
                            [](auto const& a, auto const& b) { return a.address < b.address; }))
            return Error::make("page segments out of order");
        std::unique_ptr<WpSnapshot> snap(new WpSnapshot(pid, plan));
        // Private anonymous areas with pages to dump: the ones write protection can cover.
        std::vector<Range> candidates;
        for (auto const& a : areas) {
            if (a.kind != AreaKind::Anonymous)
                continue;
            auto it = std::lower_bound(snap->m_segments.begin(), snap->m_segments.end(), a.start,
                                       [](PageSegment const& s, uint64_t address) { return s.address < address; });
            if (it != snap->m_segments.end() && it->address < a.end)
                candidates.push_back({ a.start, a.end, a.huge });
        }
        if (candidates.empty())
            return Error::make("no private anonymous memory");
        // Not UFFD_USER_MODE_ONLY: the process's own syscalls write into its memory too
        // (read(2) into a buffer), and those kernel-mode faults must wait like the others
        // instead of failing with EFAULT. That needs CAP_SYS_PTRACE in the process (or
        // vm.unprivileged_userfaultfd): an unprivileged process gets EPERM, and the copy
        // made while frozen.
        long fd = TRY(leader.syscall(SYS_userfaultfd, { O_CLOEXEC | O_NONBLOCK }));
        if (fd < 0)
            return Error::from_errno(static_cast<int>(-fd), "userfaultfd in the process");
        auto taken = [&]() -> Result<Fd> {
            auto pidfd = TRY(sys::pidfd_open(pid));
            return sys::pidfd_getfd(pidfd, static_cast<int>(fd));
        }();
        // cryo's copy is the only one from here on: the process's fd table is as it was.
        TRY(leader.syscall_checked("close userfaultfd", SYS_close, { static_cast<uint64_t>(fd) }));
        snap->m_uffd = TRY(std::move(taken));
        uint64_t features = TRY(sys::uffd_api_features(
            snap->m_uffd, UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP | UFFD_FEATURE_EVENT_REMAP));
        if (!(features & UFFD_FEATURE_PAGEFAULT_FLAG_WP))
            return Error::make("the kernel has no userfaultfd write protection");
        for (auto const& c : candidates) {
            // EBUSY: the process uses userfaultfd there itself; EINVAL: an area the kernel
            // does not protect (VM_IO, droppable...). Both are copied while frozen.
            if (auto r = sys::uffd_register_wp(snap->m_uffd, c.start, c.end - c.start); !r) {
                log::debug("process {}: {}; copied while frozen", pid, r.error().message());
                continue;
            }
            snap->m_registered.push_back(c);
        }
        // The registered areas are now in the list: finish() unregisters them on any error.
        auto t0 = std::chrono::steady_clock::now();
        // Unknown futex state is no snapshot (a frozen copy), rather than a risk.
        auto words = TRY(kernel_written_words(pid, threads).context("futex words"));
        double futex_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        std::vector<ProtectedRange> ranges;
        for (auto const& r : snap->m_registered)
            ranges.push_back({ r.start, r.end, r.huge });
        // Test hook (tests/cr/cr_wp_futex.sh, negative control): futex pages protected like the
        // others, so that the test shows it sees the harm this prevents.
        if (!test_hooks().snapshot_protect_futex)
            snap->m_unprotected = unprotected_blocks(words, ranges);
        TRY(snap->protect_all());
        auto t1 = std::chrono::steady_clock::now();
        TRY(snap->copy_unprotected());
        log::debug("process {}: snapshot: {} areas write-protected in {:.1f} ms ({} futex pages left unprotected, "
                   "their words found in {:.2f} ms), "
                   "{} pages copied in {:.1f} ms",
                   pid, snap->m_registered.size(), std::chrono::duration<double, std::milli>(t1 - t0).count(),
                   snap->m_futex_pages, futex_ms, snap->m_pages_frozen,
                   std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t1).count());
        auto [stop_read, stop_write] = TRY(sys::pipe(O_CLOEXEC | O_NONBLOCK));
        snap->m_stop_read = std::move(stop_read);
        snap->m_stop_write = std::move(stop_write);
        snap->m_thread = std::thread([s = snap.get()] { s->run_handler(); });
        return snap;
    }();
    if (!made) {
        log::debug("process {}: no write-protect snapshot ({}); its memory is copied while frozen", pid,
                   made.error().message());
        return nullptr;
    }
    return std::move(*made);
}

Result<void> WpSnapshot::protect_all()
{
    // One ioctl per run of pages, around the blocks left unprotected. (Two threads on two
    // halves were tried: no faster on this loaded 2-core machine, 130-170 ms for 2 GiB of
    // small pages either way.)
    for (auto const& s : m_segments) {
        if (!registered_range(s.address))
            continue;
        uint64_t from = s.address;
        uint64_t const end = s.address + s.size;
        auto it = std::upper_bound(m_unprotected.begin(), m_unprotected.end(), from,
                                   [](uint64_t a, auto const& b) { return a < b.second; });
        for (; from < end; ++it) {
            uint64_t to = it == m_unprotected.end() ? end : std::min(end, it->first);
            if (from < to)
                TRY(sys::uffd_writeprotect(m_uffd, from, to - from, true));
            if (it == m_unprotected.end() || it->second >= end)
                break;
            from = std::max(from, it->second);
        }
    }
    return {};
}

bool WpSnapshot::left_unprotected(uint64_t address) const
{
    auto it = std::upper_bound(m_unprotected.begin(), m_unprotected.end(), address,
                               [](uint64_t a, auto const& b) { return a < b.second; });
    return it != m_unprotected.end() && it->first <= address;
}

WpSnapshot::Range const* WpSnapshot::registered_range(uint64_t address) const
{
    auto it = std::upper_bound(m_registered.begin(), m_registered.end(), address,
                               [](uint64_t a, Range const& r) { return a < r.start; });
    if (it == m_registered.begin())
        return nullptr;
    --it;
    return address < it->end ? &*it : nullptr;
}

uint8_t* WpSnapshot::arena_page()
{
    if (m_arena.empty() || m_arena_used + kPage > m_arena.back().size()) {
        auto block = ChunkBuffer::create(false, kArenaBlock);
        if (!block)
            return nullptr;
        m_arena.push_back(std::move(*block));
        m_arena_used = 0;
    }
    uint8_t* p = m_arena.back().data() + m_arena_used;
    m_arena_used += kPage;
    return p;
}

template<typename F>
void WpSnapshot::for_each_page(uint64_t start, uint64_t end, F&& f) const
{
    auto it = std::upper_bound(m_segments.begin(), m_segments.end(), start,
                               [](uint64_t a, PageSegment const& s) { return a < s.address; });
    size_t i = it == m_segments.begin() ? 0 : static_cast<size_t>(it - m_segments.begin()) - 1;
    for (; i < m_segments.size() && m_segments[i].address < end; ++i) {
        auto const& s = m_segments[i];
        uint64_t from = std::max(start, s.address);
        uint64_t to = std::min(end, s.address + s.size);
        for (uint64_t a = from; a < to; a += kPage)
            f((m_offsets[i] + (a - s.address)) / kPage, a, s.readable);
    }
}

Result<void> WpSnapshot::save(std::vector<Wanted>& wanted, bool frozen)
{
    if (wanted.empty())
        return {};
    {
        std::lock_guard lock(m_mutex);
        for (auto& w : wanted) {
            w.local = arena_page();
            if (!w.local)
                return Error::make("no memory for the snapshot's side store");
        }
    }
    std::optional<Fd> mem;
    std::vector<sys::RemoteCopy> batch;
    for (auto const& w : wanted) {
        if (!w.readable) {
            if (!mem)
                mem = TRY(sys::open(fmt::format("/proc/{}/mem", m_pid), O_RDONLY | O_CLOEXEC));
            TRY(sys::proc_mem_read(*mem, w.address, w.local, kPage));
            continue;
        }
        auto& last = batch.empty() ? batch.emplace_back(sys::RemoteCopy { w.local, w.address, 0 }) : batch.back();
        if (static_cast<uint8_t*>(last.local) + last.size == w.local && last.remote + last.size == w.address)
            last.size += kPage;
        else
            batch.push_back({ w.local, w.address, kPage });
    }
    if (!batch.empty())
        TRY(sys::process_vm_read(m_pid, batch));
    std::lock_guard lock(m_mutex);
    for (auto const& w : wanted) {
        // Final already: the writer read the page before it could change (it was still
        // protected while we read it), so the copy is not needed.
        if (m_final[w.index] || m_saved.contains(w.index))
            continue;
        m_saved.emplace(w.index, w.local);
        if (frozen)
            ++m_pages_frozen;
        else
            m_pages_saved.fetch_add(1);
    }
    return {};
}

Result<void> WpSnapshot::copy_unprotected()
{
    std::vector<Wanted> wanted;
    for (auto const& s : m_segments) {
        bool registered = registered_range(s.address) != nullptr;
        if (registered && m_unprotected.empty())
            continue;
        for_each_page(s.address, s.address + s.size, [&](uint64_t index, uint64_t address, bool readable) {
            if (!registered || left_unprotected(address)) {
                wanted.push_back({ index, address, readable, nullptr });
                if (registered)
                    ++m_futex_pages;
            }
        });
    }
    return save(wanted, true);
}

void WpSnapshot::mark_broken(std::string reason)
{
    std::lock_guard lock(m_mutex);
    if (!m_broken)
        m_broken = std::move(reason);
}

void WpSnapshot::handle_fault(uint64_t address)
{
    address &= ~(kPage - 1);
    auto const* range = registered_range(address);
    if (!range) {
        (void)sys::uffd_wake(m_uffd, address, kPage); // not ours to protect: let it go
        return;
    }
    uint64_t start = address;
    uint64_t end = address + kPage;
    if (range->huge) {
        uint64_t huge = address & ~(sys::kHugePageSize - 1);
        start = std::max(range->start, huge);
        end = std::min(range->end, huge + sys::kHugePageSize);
    }
    std::vector<Wanted> wanted;
    {
        std::lock_guard lock(m_mutex);
        for_each_page(start, end, [&](uint64_t index, uint64_t a, bool readable) {
            if (!m_final[index] && !m_saved.contains(index))
                wanted.push_back({ index, a, readable, nullptr });
        });
    }
    // The faulting thread waits until the unprotect below, so the pages still hold their
    // original content while they are read here.
    if (auto r = save(wanted, false); !r)
        mark_broken(fmt::format("save the original of page {:#x}: {}", address, r.error().message()));
    unprotect(start, end);
}

void WpSnapshot::unprotect(uint64_t start, uint64_t end)
{
    for (int attempt = 0;; ++attempt) {
        auto r = sys::uffd_writeprotect(m_uffd, start, end - start, false);
        if (r)
            return;
        if (r.error().is_errno(EAGAIN) && attempt < kUnprotectAttempts) {
            // A mapping change is in flight and waits for its event to be read.
            process_events();
            if (attempt > 10)
                ::usleep(50);
            continue;
        }
        // Unmapped meanwhile (ENOENT) or refused: wake the waiters; a fault that comes back
        // is handled again, and finish() removes all protection in any case.
        log::debug("process {}: {}", m_pid, r.error().message());
        (void)sys::uffd_wake(m_uffd, start, end - start);
        return;
    }
}

void WpSnapshot::handle_layout_change(uint64_t start, uint64_t end, char const* what)
{
    bool lost = false;
    {
        std::lock_guard lock(m_mutex);
        for_each_page(start, end, [&](uint64_t index, uint64_t, bool) {
            if (!m_final[index] && !m_saved.contains(index))
                lost = true;
        });
    }
    if (lost)
        mark_broken(fmt::format("the process {} {:#x}-{:#x} before its pages were copied", what, start, end));
}

void WpSnapshot::process_events()
{
    std::vector<sys::UffdEvent> events;
    for (;;) {
        if (auto r = sys::uffd_read_events(m_uffd, events); !r) {
            mark_broken(r.error().message());
            return;
        }
        if (events.empty())
            return;
        for (auto const& e : events) {
            using Kind = sys::UffdEvent::Kind;
            switch (e.kind) {
            case Kind::WriteFault:
                m_pending.push_back(e.address);
                break;
            case Kind::Remove:
                handle_layout_change(e.address, e.end, "discarded");
                break;
            case Kind::Unmap:
                handle_layout_change(e.address, e.end, "unmapped");
                break;
            case Kind::Remap:
                handle_layout_change(e.address, e.end, "moved");
                break;
            case Kind::Fault: // not registered for missing pages: cannot happen; never block it
                (void)sys::uffd_wake(m_uffd, e.address & ~(kPage - 1), kPage);
                break;
            case Kind::Other:
                break;
            }
        }
    }
}

void WpSnapshot::run_handler()
{
    for (;;) {
        while (!m_pending.empty()) {
            uint64_t address = m_pending.front();
            m_pending.pop_front();
            handle_fault(address);
        }
        struct pollfd fds[2] = { { m_uffd.get(), POLLIN, 0 }, { m_stop_read.get(), POLLIN, 0 } };
        int n = ::poll(fds, 2, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            mark_broken(Error::from_errno("poll userfaultfd").message());
            return; // finish() still unprotects and wakes everything
        }
        if (fds[1].revents)
            return;
        if (fds[0].revents & (POLLERR | POLLHUP | POLLNVAL))
            return;
        process_events();
    }
}

Result<void> WpSnapshot::patch(uint64_t offset, size_t size, uint8_t* data)
{
    uint64_t first = offset / kPage;
    uint64_t last = std::min<uint64_t>((offset + size) / kPage, m_total_pages);
    // (Releasing each chunk's pages right here, once final, would shorten the time a page
    // stays protected. Tried: it did not reduce the saves of cr_wp_snapshot's writers -- the
    // process, faster, wrote more of the pages not copied yet: 414-4697 pages saved against
    // 61-1304 without, 5 dumps each -- and costs an ioctl per chunk; not kept.)
    // Test hook (tests/cr/cr_wp_snapshot.sh): no patching, so that the test proves it can
    // tell a mixed image from a snapshot.
    bool const no_patch = test_hooks().snapshot_no_patch;
    std::lock_guard lock(m_mutex);
    if (m_broken)
        return Error::format("snapshot of process {}: {}", m_pid, *m_broken);
    for (uint64_t i = first; i < last; ++i) {
        m_final[i] = 1;
        if (m_saved.empty() || no_patch)
            continue;
        auto it = m_saved.find(i);
        if (it == m_saved.end())
            continue;
        std::memcpy(data + (i - first) * kPage, it->second, kPage);
        m_saved.erase(it);
    }
    return {};
}

Result<void> WpSnapshot::finish()
{
    if (!m_finished) {
        m_finished = true;
        if (m_uffd.valid()) {
            // Unregistering clears the protection of every page (no new fault can wait); the
            // wake releases the threads that wait on a fault the handler has not read yet.
            for (auto const& r : m_registered)
                if (auto u = sys::uffd_unregister(m_uffd, r.start, r.end - r.start); !u)
                    log::debug("process {}: {}", m_pid, u.error().message());
            for (auto const& r : m_registered)
                (void)sys::uffd_wake(m_uffd, r.start, r.end - r.start);
        }
        if (m_thread.joinable()) {
            char byte = 1;
            (void)::write(m_stop_write.get(), &byte, 1);
            m_thread.join();
        }
        // Closing the (only) fd: the kernel drops what is left and wakes every waiter.
        m_uffd = Fd();
        std::lock_guard lock(m_mutex);
        m_saved.clear();
        m_arena.clear();
    }
    std::lock_guard lock(m_mutex);
    if (m_broken)
        return Error::format("snapshot of process {}: {}", m_pid, *m_broken);
    return {};
}

} // namespace cryo::checkpoint
