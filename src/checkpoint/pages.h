// Page contents of private memory, dump and restore side.
// Dump: plan_pages selects pages with pagemap (present or swapped; for private file mappings
// only the pages the process wrote, which are anonymous copies); a PageFileWriter reads them
// with process_vm_readv (or /proc/PID/mem for unreadable areas) on two threads, and writes
// them at once or, for --leave-running, after the thaw: read from the running process and
// patched by its write-protect snapshot (wp_snapshot.h), or buffered while frozen (compressed
// dumps, and processes a snapshot cannot cover). The page runs are the index.
// Restore: restore_pages fills areas mapped writable, from an mmap of a raw page file or from
// decompressed frames, on two threads: UFFDIO_COPY for private anonymous memory,
// process_vm_writev for the rest.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "base/error.h"
#include "checkpoint/compress.h"
#include "checkpoint/image.h"
#include "checkpoint/model.h"

namespace cryo::sys {
class Tracee;
}

namespace cryo::checkpoint {

class Progress;
class WpSnapshot;

// Chunks held in memory (--leave-running) and compressed frames (the format's frame size).
inline constexpr size_t kPageChunk = 8 << 20;
// Chunks of a raw streaming dump: small enough that the copy, checksum and write of one
// chunk hit the CPU cache, large enough that the syscalls cost nothing.
inline constexpr size_t kStreamChunk = 1 << 20;

// Pure: which pages of an area go into the image, from its pagemap entries.
std::vector<PageRun> select_pages(MemoryArea const& area, std::vector<uint64_t> const& pagemap);

// One contiguous range of pages to copy, and how it can be read.
struct PageSegment {
    uint64_t address { 0 };
    uint64_t size { 0 };
    bool readable { true }; // false: PROT_NONE/write-only, read through /proc/PID/mem
};

struct PagePlan {
    std::vector<PageRun> runs; // the index stored in the process metadata
    std::vector<PageSegment> segments;
    uint64_t bytes { 0 };
};

Result<PagePlan> plan_pages(int pid, std::vector<MemoryArea> const& areas);

// A page-aligned buffer (mmap'd: process_vm_* and writes prefer aligned memory), kPageChunk
// bytes unless asked for less.
class ChunkBuffer {
public:
    static Result<ChunkBuffer> create(bool populate, size_t size = kPageChunk);
    ChunkBuffer(ChunkBuffer&& o) noexcept;
    ChunkBuffer& operator=(ChunkBuffer&& o) noexcept;
    ~ChunkBuffer();
    uint8_t* data() const { return m_data; }
    size_t size() const { return m_size; }

private:
    ChunkBuffer() = default;
    uint8_t* m_data { nullptr };
    size_t m_size { 0 };
};

// kPageChunk buffers handed out to the copiers and given back by the writers. reserve()
// allocates and faults them in before the tree is frozen, so the frozen copy pays no faults.
class ChunkPool {
public:
    Result<void> reserve(size_t chunks);
    Result<ChunkBuffer> take();
    void give_back(ChunkBuffer buffer);

private:
    std::mutex m_mutex;
    std::vector<ChunkBuffer> m_free;
};

// Dumps one process's pages into one page file. The page stream (the plan's segments back to
// back) is cut into chunks; two workers (the machine's cores) each take the next chunk, copy
// it out of the process and, when streaming, checksum and write it at once from the same
// small buffer while it is still in cache (one pass over memory; raw chunks are pwritten at
// their offsets, compressed ones become frames appended in chunk order). Deferred
// (--leave-running), chunks are copied into pool buffers and written by finish(), after the
// thaw. The whole-file CRC-32C is combined from per-chunk CRCs.
class PageFileWriter {
public:
    struct Options {
        Compression compression { Compression::None };
        bool deferred { false }; // hold chunks until finish() (--leave-running)
        Progress* progress { nullptr };
        // The process runs (--leave-running after the thaw): each chunk read from it is
        // patched by its write-protect snapshot before it is checksummed and written.
        WpSnapshot* snapshot { nullptr };
    };
    PageFileWriter(FileSink sink, ChunkPool& pool, Options options);
    PageFileWriter(PageFileWriter const&) = delete;
    ~PageFileWriter();

    // Copies the plan's pages of a stopped process (once per writer).
    Result<void> copy(int pid, PagePlan const& plan);
    // Writes what is held (deferred), records size and CRC in the sink and hands it back.
    Result<FileSink> finish();

private:
    struct Held {
        std::optional<ChunkBuffer> buffer;
        size_t size { 0 };
    };
    Result<void> store_chunk(size_t index, uint8_t const* data, size_t size, std::vector<uint8_t>& frame);
    void fail(Error error);
    bool failed();

    FileSink m_sink;
    ChunkPool& m_pool;
    Options m_options;
    size_t m_chunk { kPageChunk };
    std::mutex m_write_mutex;
    std::mutex m_mutex;
    std::condition_variable m_changed;
    std::optional<Error> m_error;
    bool m_finished { false };
    // Compressed frames are appended in chunk order: the next index to append, and where.
    size_t m_next_append { 0 };
    uint64_t m_append_offset { 0 };
    std::vector<uint32_t> m_crcs;    // per chunk, of the bytes on disk
    std::vector<uint64_t> m_lengths; // per chunk, bytes on disk
    std::vector<Held> m_held;        // deferred: chunk contents until finish()
    uint64_t m_raw_bytes { 0 };
};

// Copies the plan's pages of a stopped process through `writer` (see PageFileWriter::copy).
Result<void> copy_pages(int pid, PagePlan const& plan, ChunkPool& pool, PageFileWriter& writer);

// Private anonymous areas are filled through a userfaultfd created inside the restored
// process: UFFDIO_COPY allocates each page and copies into it, where process_vm_writev
// faults a zeroed page in first and then copies (about twice the memory traffic). Areas
// with transparent huge pages (UFFDIO_COPY makes small pages) and private file mappings
// (not registrable) are written with process_vm_writev.
struct UffdFill {
    Fd uffd; // registered on `ranges`; closing it unregisters them
    std::vector<std::pair<uint64_t, uint64_t>> ranges; // [start, end), sorted
};

// Creates the userfaultfd in the process `tracee` holds (remote userfaultfd(2), taken over
// with pidfd_getfd, closed there at once) and registers the areas that qualify. Nothing
// (std::nullopt) when no area qualifies or the kernel refuses: restore_pages then writes
// everything with process_vm_writev.
Result<std::optional<UffdFill>> prepare_uffd_fill(sys::Tracee& tracee, std::vector<MemoryArea> const& areas,
    std::vector<PageRun> const& runs);

// Fills the runs from `source` (its size and CRC checked); with `uffd`, the runs inside its
// ranges through it, and unregisters them before returning, so no page fault of the
// restored process ever waits on the userfaultfd.
Result<void> restore_pages(int pid, std::vector<PageRun> const& runs, FileSource& source,
    std::optional<UffdFill> uffd = std::nullopt);

} // namespace cryo::checkpoint
