// Copy-on-write snapshot of one process's private memory for `dump --leave-running`, made
// with userfaultfd write protection: set up while the tree is frozen, then the tree thaws and
// the page writer copies pages from the running process; a handler thread saves each page's
// original content before the process's first write to it may happen. Invariant: while a
// WpSnapshot lives, every dumped page either still holds its content of the freeze instant,
// or that content is in the side store, or the page writer has already read it. Dropping it
// (or cryo dying: the kernel closes the fd) removes every protection and wakes every waiter.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/error.h"
#include "base/fd.h"
#include "checkpoint/model.h"
#include "checkpoint/pages.h"

namespace cryo::sys {
class Tracee;
}

namespace cryo::checkpoint {

class WpSnapshot {
public:
    // While the process is frozen (`leader` seized, its syscall address known; `threads` its
    // threads as collected in this freeze): creates the userfaultfd inside it,
    // write-protects the plan's pages in its private anonymous areas except the pages of futex words the kernel may
    // write without waiting (futex_words.h), copies the plan's other pages (areas the kernel does not register, and
    // those futex pages) into the side store, and starts the fault handler. nullptr (logged at debug) when the snapshot
    // cannot be made: the caller then copies the whole process while frozen.
    static std::unique_ptr<WpSnapshot> create(sys::Tracee& leader, std::vector<MemoryArea> const& areas,
                                              PagePlan const& plan, std::vector<Thread> const& threads);
    WpSnapshot(WpSnapshot const&) = delete;
    ~WpSnapshot();

    // Makes stream bytes [offset, offset + size) of the plan (read from the running process
    // into `data` after the thaw) the freeze instant's: pages in the side store overwrite what
    // was read. Each page is patched once; from then on the handler no longer saves it.
    // Fails if the snapshot broke (the process discarded or unmapped memory not yet copied).
    Result<void> patch(uint64_t offset, size_t size, uint8_t* data);
    // Removes every protection, wakes any waiter, stops the handler, closes the fd. Returns
    // the reason if the snapshot broke. Idempotent; the destructor calls it.
    Result<void> finish();
    // Pages whose original the fault handler saved after the thaw.
    uint64_t pages_saved() const { return m_pages_saved.load(); }
    // Pages copied while frozen (areas that could not be write-protected, futex pages).
    uint64_t pages_copied_frozen() const { return m_pages_frozen; }
    // Of the registered areas' pages, those left unprotected for their futex words.
    uint64_t futex_pages() const { return m_futex_pages; }

private:
    struct Range {
        uint64_t start { 0 };
        uint64_t end { 0 };
        bool huge { false };
    };
    // A page to save: its index in the page stream, where it is, where its copy goes.
    struct Wanted {
        uint64_t index { 0 };
        uint64_t address { 0 };
        bool readable { true };
        uint8_t* local { nullptr };
    };
    explicit WpSnapshot(int pid, PagePlan const& plan);
    Range const* registered_range(uint64_t address) const;
    // In a block left unprotected for a futex word (m_unprotected).
    bool left_unprotected(uint64_t address) const;
    // Calls f(stream page index, address, readable) for each planned page in [start, end).
    template<typename F>
    void for_each_page(uint64_t start, uint64_t end, F&& f) const;
    // Copies `wanted` into the side store (pages already final or saved are skipped).
    Result<void> save(std::vector<Wanted>& wanted, bool frozen);
    // While frozen: write-protects the planned pages of the registered areas.
    Result<void> protect_all();
    // While frozen: the planned pages outside the write-protected areas.
    Result<void> copy_unprotected();
    void run_handler();
    void handle_fault(uint64_t address);
    // The process discarded, unmapped or moved [start, end): broken if a page there was
    // neither copied by the writer nor saved.
    void handle_layout_change(uint64_t start, uint64_t end, char const* what);
    // Unprotects [start, end), which wakes the faulting threads; retries while the process
    // has a mapping change in flight (EAGAIN), reading (and thereby releasing) its events.
    void unprotect(uint64_t start, uint64_t end);
    // Reads every waiting message: layout events are handled, write faults queued.
    void process_events();
    // A side-store page (callers hold m_mutex); nullptr if out of memory.
    uint8_t* arena_page();
    void mark_broken(std::string reason);

    int m_pid;
    std::vector<PageSegment> m_segments; // sorted by address
    std::vector<uint64_t> m_offsets; // stream offset of each segment
    uint64_t m_total_pages { 0 };
    std::vector<Range> m_registered; // write-protected areas, sorted
    // Blocks of the registered areas never protected (futex words), sorted, disjoint.
    std::vector<std::pair<uint64_t, uint64_t>> m_unprotected;
    uint64_t m_futex_pages { 0 };
    Fd m_uffd;
    Fd m_stop_read;
    Fd m_stop_write;
    std::thread m_thread;
    std::deque<uint64_t> m_pending; // write faults read, not handled yet (handler thread)
    bool m_finished { false };

    std::mutex m_mutex; // guards everything below
    std::vector<uint8_t> m_final; // per stream page: the writer patched it
    std::unordered_map<uint64_t, uint8_t*> m_saved; // per stream page: its original
    std::vector<ChunkBuffer> m_arena;
    size_t m_arena_used { 0 };
    std::optional<std::string> m_broken;

    std::atomic<uint64_t> m_pages_saved { 0 };
    uint64_t m_pages_frozen { 0 };
};

} // namespace cryo::checkpoint
