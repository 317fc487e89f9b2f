// Page contents of private memory, dump and restore side.
// Dump: plan_pages selects pages with pagemap (present or swapped; for private file mappings
// only the pages the process wrote, which are anonymous copies); a PageFileWriter reads them
// with process_vm_readv (or /proc/PID/mem for unreadable areas) on two threads, and writes
// them at once or, for --leave-running, after the thaw: read from the running process and
// patched by its write-protect snapshot (wp_snapshot.h), or buffered while frozen (compressed
// dumps, and processes a snapshot cannot cover). The page runs are the index. A raw page
// stream is striped over two files (StripeLayout), one per writer thread: the file system
// serializes buffered writes to one file (ext4's inode lock), not writes to two.
// Restore: restore_pages fills areas mapped writable, from an mmap of a raw page file or from
// decompressed frames, on two threads: UFFDIO_COPY for private anonymous memory,
// process_vm_writev for the rest.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
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
// Chunks of a raw streaming dump, and the stripe unit of its page files: small enough that
// the copy, checksum and write of one chunk hit the CPU cache (L3 here), large enough that
// the syscalls cost nothing. 2 MiB, the size of a PMD: each chunk is written with one pwrite,
// and ext4 caches a 2 MiB aligned write as one 2 MiB folio, which the restore then maps with
// one page-table entry instead of 512 (pages_restore.cpp map_source).
inline constexpr size_t kStreamChunk = 2 << 20;

// Where a raw page stream's bytes are: stripe unit u (stream bytes [u * unit, (u + 1) * unit))
// is in part u % stripes, at offset (u / stripes) * unit. One part: the stream itself.
struct StripeLayout {
    uint32_t stripes { 1 };
    uint64_t unit { kStreamChunk };

    uint32_t part_of(uint64_t stream_offset) const { return static_cast<uint32_t>((stream_offset / unit) % stripes); }
    // Offset inside its part of a stream offset.
    uint64_t part_offset(uint64_t stream_offset) const
    {
        return stream_offset / unit / stripes * unit + stream_offset % unit;
    }
    // Bytes of a `total`-byte stream that part `part` holds.
    uint64_t part_size(uint64_t total, uint32_t part) const;
};

// Pure: the layout a dump gives a raw stream of `bytes`: two parts (the dump's two writer
// threads) when it has more than one unit, else one (no second file for a small process).
StripeLayout stripe_layout_for(uint64_t bytes);

// Pure: which pages of an area go into the image, from its pagemap entries.
std::vector<PageRun> select_pages(MemoryArea const& area, std::vector<uint64_t> const& pagemap);
// Pure: the guard pages of an area (never page data), from the same entries.
std::vector<GuardRange> select_guards(MemoryArea const& area, std::vector<uint64_t> const& pagemap);

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
    // Guard pages met on the way, by index of the area they are in; ascending per area.
    std::vector<std::pair<size_t, GuardRange>> guards;
};

Result<PagePlan> plan_pages(int pid, std::vector<MemoryArea> const& areas);
// Stores the plan's guard ranges in their areas (MemoryArea::guards), replacing what was there.
void record_guards(std::vector<MemoryArea>& areas, PagePlan const& plan);

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

// Dumps one process's pages into its page file(s). The page stream (the plan's segments back
// to back) is cut into chunks; two workers (the machine's cores) each take the next chunk,
// copy it out of the process and, when streaming, checksum and write it at once from the same
// small buffer while it is still in cache (one pass over memory; raw chunks are pwritten at
// their places in the striped parts, compressed ones become frames appended in chunk order to
// the one file). Deferred (--leave-running), chunks are copied into pool buffers and written
// by finish(), after the thaw. Each file's CRC-32C is combined from per-unit CRCs.
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
    // One sink per part of stripe_layout_for(the plan's bytes) for raw pages; exactly one
    // when compressed.
    PageFileWriter(std::vector<FileSink> sinks, ChunkPool& pool, Options options);
    PageFileWriter(PageFileWriter const&) = delete;
    ~PageFileWriter();

    // Copies the plan's pages of a stopped process (once per writer).
    Result<void> copy(int pid, PagePlan const& plan);
    // Writes what is held (deferred), records size and CRC (and the striping, on part 0) in
    // the sinks and hands them back.
    Result<std::vector<FileSink>> finish();

private:
    struct Held {
        std::optional<ChunkBuffer> buffer;
        size_t size { 0 };
    };
    Result<void> store_chunk(size_t index, uint8_t const* data, size_t size, std::vector<uint8_t>& frame);
    void fail(Error error);
    bool failed();

    std::vector<FileSink> m_sinks;
    StripeLayout m_layout;
    ChunkPool& m_pool;
    Options m_options;
    size_t m_chunk { kPageChunk };
    // One per part: writers take turns per file (ext4 would make them spin on its inode
    // lock), while the two parts are written at once.
    std::unique_ptr<std::mutex[]> m_part_mutexes;
    std::mutex m_mutex;
    std::condition_variable m_changed;
    std::optional<Error> m_error;
    bool m_finished { false };
    // Compressed frames are appended in chunk order: the next index to append, and where.
    size_t m_next_append { 0 };
    uint64_t m_append_offset { 0 };
    // Raw: per stripe unit; compressed: per chunk (frame). Of the bytes on disk.
    std::vector<uint32_t> m_crcs;
    std::vector<uint64_t> m_lengths;
    std::vector<Held> m_held; // deferred: chunk contents until finish()
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

// Opens the page file(s) of process `pid` of the image: part 0, and the other parts its
// manifest entry names when the stream is striped.
Result<std::vector<FileSource>> open_page_files(ImageReader const& image, int pid);

// Fills the runs from `sources` (the parts open_page_files gives; each part's size and CRC
// checked); with `uffd`, the runs inside its ranges through it, and unregisters them before
// returning, so no page fault of the restored process ever waits on the userfaultfd.
Result<void> restore_pages(int pid, std::vector<PageRun> const& runs, std::vector<FileSource> sources,
                           std::optional<UffdFill> uffd = std::nullopt);

} // namespace cryo::checkpoint
