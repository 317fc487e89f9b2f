// Page contents of private memory, dump and restore side.
// Dump: plan_pages selects pages with pagemap (present or swapped; for private file mappings
// only the pages the process wrote, which are anonymous copies); copy_pages reads them with
// process_vm_readv (or /proc/PID/mem for unreadable areas) into 8 MiB chunks and hands each to
// a PageFileWriter, whose two threads checksum (and compress) and write them at once or, for
// --leave-running, only after start() (the tree is thawed by then). The page runs are the index.
// Restore: restore_pages fills areas mapped writable with process_vm_writev, from an mmap of
// a raw page file or from decompressed frames, on two threads.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "base/error.h"
#include "checkpoint/compress.h"
#include "checkpoint/image.h"
#include "checkpoint/model.h"

namespace cryo::checkpoint {

class Progress;

inline constexpr size_t kPageChunk = 8 << 20;

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

// An 8 MiB page-aligned buffer (mmap'd: process_vm_* and writes prefer aligned memory).
class ChunkBuffer {
public:
    static Result<ChunkBuffer> create(bool populate);
    ChunkBuffer(ChunkBuffer&& o) noexcept;
    ChunkBuffer& operator=(ChunkBuffer&& o) noexcept;
    ~ChunkBuffer();
    uint8_t* data() const { return m_data; }

private:
    ChunkBuffer() = default;
    uint8_t* m_data { nullptr };
};

// Buffers handed out to the copier and given back by the writers. reserve() allocates and
// faults them in before the tree is frozen, so the frozen copy pays no page faults.
class ChunkPool {
public:
    Result<void> reserve(size_t chunks);
    Result<ChunkBuffer> take();
    void give_back(ChunkBuffer buffer);

private:
    std::mutex m_mutex;
    std::vector<ChunkBuffer> m_free;
};

// Writes one page file from chunks (numbered in stream order, each kPageChunk bytes but the
// last) with two threads: raw chunks are pwritten at their offsets; compressed ones become
// frames appended in order. The whole-file CRC-32C is combined from per-chunk CRCs.
class PageFileWriter {
public:
    struct Options {
        Compression compression { Compression::None };
        bool deferred { false }; // hold chunks until start() (--leave-running)
        Progress* progress { nullptr };
    };
    PageFileWriter(FileSink sink, ChunkPool& pool, Options options);
    PageFileWriter(PageFileWriter const&) = delete;
    ~PageFileWriter(); // stops and joins the threads

    // Queues a filled chunk; blocks while too many wait (unless deferred).
    Result<void> push(ChunkBuffer buffer, size_t size);
    void start();
    // Waits for every chunk, records size and CRC in the sink and hands it back.
    Result<FileSink> finish();

private:
    struct Item {
        size_t index;
        ChunkBuffer buffer;
        size_t size;
    };
    void work();
    Result<void> write_item(Item& item, std::vector<uint8_t>& frame);

    FileSink m_sink;
    ChunkPool& m_pool;
    Options m_options;
    std::mutex m_mutex;
    std::condition_variable m_changed;
    std::deque<Item> m_queue;
    size_t m_pushed { 0 };
    size_t m_in_flight { 0 };
    bool m_closing { false };
    std::optional<Error> m_error;
    // Compressed frames are appended in chunk order: the next index to append, and where.
    size_t m_next_append { 0 };
    uint64_t m_append_offset { 0 };
    std::vector<uint32_t> m_crcs;     // per chunk, of the bytes on disk
    std::vector<uint64_t> m_lengths;  // per chunk, bytes on disk
    uint64_t m_raw_bytes { 0 };
    std::vector<std::thread> m_threads;
};

// Copies the plan's pages of a stopped process into chunks pushed to `writer`.
Result<void> copy_pages(int pid, PagePlan const& plan, ChunkPool& pool, PageFileWriter& writer);

Result<void> restore_pages(int pid, std::vector<PageRun> const& runs, FileSource& source);

} // namespace cryo::checkpoint
