#include "checkpoint/pages.h"

#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/scope_guard.h"
#include "checkpoint/crc32c_combine.h"
#include "checkpoint/kill_point.h"
#include "checkpoint/progress.h"
#include "sys/file.h"
#include "sys/remote_memory.h"

namespace cryo::checkpoint {

namespace {

constexpr uint64_t kPage = sys::kPageSize;
// Chunks waiting for a writer in streaming mode: enough to keep both threads busy while the
// copier fills the next, little enough to bound memory (4 x 8 MiB).
constexpr size_t kMaxQueued = 4;
constexpr unsigned kWriterThreads = 2;

bool dumps_pages(AreaKind kind) { return kind == AreaKind::Anonymous || kind == AreaKind::FilePrivate; }

Result<void> pwrite_all(FdRef fd, void const* data, size_t size, uint64_t offset)
{
    auto const* p = static_cast<uint8_t const*>(data);
    while (size > 0) {
        ssize_t n = ::pwrite(fd.get(), p, size, static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return Error::from_errno("write page file");
        p += n;
        size -= static_cast<size_t>(n);
        offset += static_cast<uint64_t>(n);
    }
    return {};
}

Result<void> pread_all(FdRef fd, void* data, size_t size, uint64_t offset, std::string const& name)
{
    auto* p = static_cast<uint8_t*>(data);
    while (size > 0) {
        ssize_t n = ::pread(fd.get(), p, size, static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return Error::from_errno(fmt::format("read {}", name));
        if (n == 0)
            return Error::format("{}: truncated at byte {}", name, offset);
        p += n;
        size -= static_cast<size_t>(n);
        offset += static_cast<uint64_t>(n);
    }
    return {};
}

// Start writeback of what was just written, so the fsync at the end waits only for the tail
// and the disk works while memory is still being copied.
void start_writeback(FdRef fd, uint64_t offset, uint64_t size)
{
    (void)::sync_file_range(fd.get(), static_cast<off_t>(offset), static_cast<off_t>(size), SYNC_FILE_RANGE_WRITE);
}

// Where a range of the page stream goes in the process: runs back to back.
class StreamMap {
public:
    explicit StreamMap(std::vector<PageRun> const& runs)
        : m_runs(runs)
    {
        uint64_t offset = 0;
        for (auto const& r : runs) {
            m_offsets.push_back(offset);
            offset += r.pages * kPage;
        }
        m_total = offset;
    }
    uint64_t total() const { return m_total; }
    // Appends the remote pieces of stream bytes [offset, offset + size), local data at `local`.
    void pieces(uint64_t offset, uint64_t size, uint8_t const* local, std::vector<sys::RemoteCopy>& out) const
    {
        auto it = std::upper_bound(m_offsets.begin(), m_offsets.end(), offset);
        size_t i = static_cast<size_t>(it - m_offsets.begin()) - 1;
        while (size > 0 && i < m_runs.size()) {
            uint64_t in_run = offset - m_offsets[i];
            uint64_t n = std::min(size, m_runs[i].pages * kPage - in_run);
            // SAFETY: process_vm_writev only reads the local side.
            out.push_back({ const_cast<uint8_t*>(local), m_runs[i].address + in_run, n });
            local += n;
            offset += n;
            size -= n;
            ++i;
        }
    }

private:
    std::vector<PageRun> const& m_runs;
    std::vector<uint64_t> m_offsets;
    uint64_t m_total { 0 };
};

} // namespace

std::vector<PageRun> select_pages(MemoryArea const& area, std::vector<uint64_t> const& pagemap)
{
    std::vector<PageRun> runs;
    if (!dumps_pages(area.kind))
        return runs;
    for (size_t i = 0; i < pagemap.size(); ++i) {
        uint64_t e = pagemap[i];
        bool present = e & sys::kPagemapPresent;
        bool swapped = e & sys::kPagemapSwapped;
        bool file = e & sys::kPagemapFileOrShared;
        // Private file mappings: a present page still backed by the file is not ours to
        // save (restore maps the file again); a written page is an anonymous copy.
        bool wanted = area.kind == AreaKind::Anonymous ? (present || swapped) : ((present && !file) || swapped);
        if (!wanted)
            continue;
        uint64_t address = area.start + i * kPage;
        if (!runs.empty() && runs.back().address + runs.back().pages * kPage == address)
            ++runs.back().pages;
        else
            runs.push_back({ address, 1 });
    }
    return runs;
}

Result<PagePlan> plan_pages(int pid, std::vector<MemoryArea> const& areas)
{
    if (areas.empty())
        return PagePlan {}; // a zombie: no memory, and /proc/PID/pagemap no longer opens
    auto pagemap = TRY(sys::open(fmt::format("/proc/{}/pagemap", pid), O_RDONLY | O_CLOEXEC));
    PagePlan plan;
    for (auto const& area : areas) {
        if (!dumps_pages(area.kind))
            continue;
        auto entries = TRY(sys::read_pagemap(pagemap, area.start, area.size() / kPage).context("process {}", pid));
        auto runs = select_pages(area, entries);
        for (auto const& r : runs) {
            plan.segments.push_back({ r.address, r.pages * kPage, area.read });
            plan.bytes += r.pages * kPage;
        }
        plan.runs.insert(plan.runs.end(), runs.begin(), runs.end());
    }
    return plan;
}

Result<ChunkBuffer> ChunkBuffer::create(bool populate)
{
    void* p = ::mmap(nullptr, kPageChunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return Error::from_errno("mmap page buffer");
    // Huge pages: fewer faults and TLB misses for the copy (a hint; ignored where THP is off).
    (void)::madvise(p, kPageChunk, MADV_HUGEPAGE);
    if (populate)
        (void)::madvise(p, kPageChunk, MADV_POPULATE_WRITE);
    ChunkBuffer b;
    b.m_data = static_cast<uint8_t*>(p);
    return b;
}

ChunkBuffer::ChunkBuffer(ChunkBuffer&& o) noexcept
    : m_data(std::exchange(o.m_data, nullptr))
{
}

ChunkBuffer& ChunkBuffer::operator=(ChunkBuffer&& o) noexcept
{
    if (this != &o) {
        if (m_data)
            ::munmap(m_data, kPageChunk);
        m_data = std::exchange(o.m_data, nullptr);
    }
    return *this;
}

ChunkBuffer::~ChunkBuffer()
{
    if (m_data)
        ::munmap(m_data, kPageChunk);
}

Result<void> ChunkPool::reserve(size_t chunks)
{
    std::vector<ChunkBuffer> fresh;
    for (size_t i = 0; i < chunks; ++i)
        fresh.push_back(TRY(ChunkBuffer::create(true)));
    std::lock_guard lock(m_mutex);
    for (auto& b : fresh)
        m_free.push_back(std::move(b));
    return {};
}

Result<ChunkBuffer> ChunkPool::take()
{
    {
        std::lock_guard lock(m_mutex);
        if (!m_free.empty()) {
            auto b = std::move(m_free.back());
            m_free.pop_back();
            return b;
        }
    }
    return ChunkBuffer::create(false);
}

void ChunkPool::give_back(ChunkBuffer buffer)
{
    std::lock_guard lock(m_mutex);
    // Keep a few for reuse; the rest are unmapped (a large leave-running dump gives its
    // memory back as the image is written).
    if (m_free.size() < kMaxQueued + kWriterThreads + 1)
        m_free.push_back(std::move(buffer));
}

PageFileWriter::PageFileWriter(FileSink sink, ChunkPool& pool, Options options)
    : m_sink(std::move(sink))
    , m_pool(pool)
    , m_options(options)
{
    if (!m_options.deferred)
        start();
}

PageFileWriter::~PageFileWriter()
{
    {
        std::lock_guard lock(m_mutex);
        m_closing = true;
        if (!m_error)
            m_error = Error::make("page writer dropped");
    }
    m_changed.notify_all();
    for (auto& t : m_threads)
        t.join();
}

void PageFileWriter::start()
{
    if (!m_threads.empty())
        return;
    for (unsigned i = 0; i < kWriterThreads; ++i)
        m_threads.emplace_back([this] { work(); });
}

Result<void> PageFileWriter::push(ChunkBuffer buffer, size_t size)
{
    std::unique_lock lock(m_mutex);
    if (!m_options.deferred)
        m_changed.wait(lock, [&] { return m_queue.size() < kMaxQueued || m_error; });
    if (m_error)
        return *m_error;
    size_t index = m_pushed++;
    m_crcs.push_back(0);
    m_lengths.push_back(0);
    m_raw_bytes += size;
    m_queue.push_back({ index, std::move(buffer), size });
    lock.unlock();
    m_changed.notify_all();
    return {};
}

void PageFileWriter::work()
{
    std::vector<uint8_t> frame;
    for (;;) {
        std::unique_lock lock(m_mutex);
        m_changed.wait(lock, [&] { return !m_queue.empty() || m_closing; });
        if (m_queue.empty())
            return;
        if (m_error) {
            m_queue.clear();
            m_changed.notify_all();
            return;
        }
        Item item = std::move(m_queue.front());
        m_queue.pop_front();
        ++m_in_flight;
        lock.unlock();
        m_changed.notify_all();
        auto r = write_item(item, frame);
        size_t raw = item.size;
        m_pool.give_back(std::move(item.buffer));
        if (m_options.progress)
            m_options.progress->add(raw);
        lock.lock();
        --m_in_flight;
        if (!r && !m_error)
            m_error = r.release_error();
        lock.unlock();
        m_changed.notify_all();
    }
}

Result<void> PageFileWriter::write_item(Item& item, std::vector<uint8_t>& frame)
{
    auto fd = m_sink.fd();
    if (m_options.compression == Compression::None) {
        uint64_t offset = static_cast<uint64_t>(item.index) * kPageChunk;
        uint32_t crc = crc32c_fast(0, item.buffer.data(), item.size);
        TRY(pwrite_all(fd, item.buffer.data(), item.size, offset));
        start_writeback(fd, offset, item.size);
        std::lock_guard lock(m_mutex);
        m_crcs[item.index] = crc;
        m_lengths[item.index] = item.size;
        return {};
    }
    TRY(compress_frame(m_options.compression, item.buffer.data(), item.size, frame));
    uint32_t crc = crc32c_fast(0, frame.data(), frame.size());
    // Frames go to the file in chunk order: wait for our turn.
    uint64_t offset;
    {
        std::unique_lock lock(m_mutex);
        m_changed.wait(lock, [&] { return m_next_append == item.index || m_error; });
        if (m_error)
            return {};
        offset = m_append_offset;
    }
    auto r = pwrite_all(fd, frame.data(), frame.size(), offset);
    {
        std::lock_guard lock(m_mutex);
        m_append_offset += frame.size();
        ++m_next_append;
        m_crcs[item.index] = crc;
        m_lengths[item.index] = frame.size();
    }
    m_changed.notify_all();
    TRY(std::move(r));
    start_writeback(fd, offset, frame.size());
    return {};
}

Result<FileSink> PageFileWriter::finish()
{
    start();
    {
        std::unique_lock lock(m_mutex);
        m_changed.wait(lock, [&] { return (m_queue.empty() && m_in_flight == 0) || m_error; });
        m_closing = true;
    }
    m_changed.notify_all();
    for (auto& t : m_threads)
        t.join();
    m_threads.clear();
    if (m_error)
        return *m_error;
    uint32_t crc = 0;
    uint64_t size = 0;
    for (size_t i = 0; i < m_crcs.size(); ++i) {
        crc = crc32c_combine(crc, m_crcs[i], m_lengths[i]);
        size += m_lengths[i];
    }
    m_sink.set_content(size, crc);
    if (m_options.compression != Compression::None)
        m_sink.set_compression(compression_name(m_options.compression), m_raw_bytes);
    m_error = Error::make("page writer finished"); // the sink is gone: no more pushes
    return std::move(m_sink);
}

Result<void> copy_pages(int pid, PagePlan const& plan, ChunkPool& pool, PageFileWriter& writer)
{
    std::optional<Fd> mem;
    std::vector<sys::RemoteCopy> batch;
    auto buffer = TRY(pool.take());
    size_t used = 0;
    auto flush = [&]() -> Result<void> {
        if (!batch.empty())
            TRY(sys::process_vm_read(pid, batch).context("copy memory of {}", pid));
        batch.clear();
        if (used == 0)
            return {};
        TRY(writer.push(std::move(buffer), used));
        kill_point("copying");
        buffer = TRY(pool.take());
        used = 0;
        return {};
    };
    for (auto const& s : plan.segments) {
        uint64_t address = s.address;
        uint64_t left = s.size;
        while (left > 0) {
            size_t n = std::min<uint64_t>(left, kPageChunk - used);
            if (s.readable) {
                batch.push_back({ buffer.data() + used, address, n });
            } else {
                // PROT_NONE or write-only: process_vm_readv refuses, /proc/PID/mem reads
                // with FOLL_FORCE.
                if (!mem)
                    mem = TRY(sys::open(fmt::format("/proc/{}/mem", pid), O_RDONLY | O_CLOEXEC));
                TRY(sys::proc_mem_read(*mem, address, buffer.data() + used, n).context("copy memory of {}", pid));
            }
            used += n;
            address += n;
            left -= n;
            if (used == kPageChunk)
                TRY(flush());
        }
    }
    TRY(flush());
    pool.give_back(std::move(buffer));
    return {};
}

namespace {

// Raw page file: mapped, and each of two threads checksums and writes half of it.
Result<void> restore_raw(int pid, StreamMap const& map, FileSource& source, Progress& progress)
{
    uint64_t total = map.total();
    uint64_t half = (total / 2 + kPage - 1) / kPage * kPage;
    uint64_t bounds[3] = { 0, std::min(half, total), total };
    uint32_t crcs[2] = { 0, 0 };
    std::optional<Error> errors[2];
    auto part = [&](int k) -> Result<void> {
        uint64_t begin = bounds[k], end = bounds[k + 1];
        if (begin == end)
            return {};
        // The page file is mapped, not read: process_vm_writev copies straight from the page
        // cache into the process (one copy instead of two).
        void* mapped = ::mmap(nullptr, end - begin, PROT_READ, MAP_PRIVATE | MAP_POPULATE, source.fd().get(),
            static_cast<off_t>(begin));
        if (mapped == MAP_FAILED)
            return Error::from_errno(fmt::format("mmap {}", source.name()));
        ScopeGuard unmap([&] { ::munmap(mapped, end - begin); });
        auto const* base = static_cast<uint8_t const*>(mapped);
        std::vector<sys::RemoteCopy> batch;
        for (uint64_t off = begin; off < end; off += kPageChunk) {
            uint64_t n = std::min<uint64_t>(kPageChunk, end - off);
            crcs[k] = crc32c_fast(crcs[k], base + (off - begin), n);
            batch.clear();
            map.pieces(off, n, base + (off - begin), batch);
            TRY(sys::process_vm_write(pid, batch).context("fill memory of {}", pid));
            progress.add(n);
        }
        return {};
    };
    std::thread second([&] {
        auto r = part(1);
        if (!r)
            errors[1] = r.release_error();
    });
    auto r = part(0);
    second.join();
    if (!r)
        return r;
    if (errors[1])
        return *errors[1];
    // The whole file's checksum is known only at the end, so a corrupt page file is detected
    // after its pages went in; the restore then fails and kills the process it was filling.
    source.set_computed(total, crc32c_combine(crcs[0], crcs[1], bounds[2] - bounds[1]));
    return {};
}

// Compressed page file: frames read in order (under a lock), decompressed and written by two
// threads; per-frame CRCs of the stored bytes are combined in order.
Result<void> restore_frames(int pid, StreamMap const& map, FileSource& source, Progress& progress)
{
    uint64_t file_size = source.expected_size();
    uint64_t raw_total = source.entry().raw_size;
    if (raw_total != map.total())
        return Error::format("{}: holds {} bytes of pages, the page index says {}", source.name(), raw_total, map.total());
    std::mutex mutex;
    uint64_t file_offset = 0;
    uint64_t raw_offset = 0;
    std::vector<std::pair<uint32_t, uint64_t>> crcs; // per frame: crc, stored length
    std::optional<Error> error;
    auto worker = [&]() -> Result<void> {
        std::vector<uint8_t> stored;
        auto raw = TRY(ChunkBuffer::create(false));
        for (;;) {
            FrameHeader h;
            size_t index;
            uint64_t my_raw;
            {
                std::lock_guard lock(mutex);
                if (error || file_offset == file_size)
                    return {};
                if (file_size - file_offset < kFrameHeaderSize)
                    return Error::format("{}: truncated frame header at byte {}", source.name(), file_offset);
                TRY(pread_all(source.fd(), &h, sizeof h, file_offset, source.name()));
                if (h.magic != kFrameMagic || h.raw_size == 0 || h.raw_size > kPageChunk
                    || h.stored_size > file_size - file_offset - kFrameHeaderSize)
                    return Error::format("{}: bad frame at byte {}: the image is corrupt", source.name(), file_offset);
                stored.resize(kFrameHeaderSize + h.stored_size);
                TRY(pread_all(source.fd(), stored.data(), stored.size(), file_offset, source.name()));
                file_offset += stored.size();
                index = crcs.size();
                crcs.push_back({ 0, stored.size() });
                my_raw = raw_offset;
                raw_offset += h.raw_size;
                if (raw_offset > raw_total)
                    return Error::format("{}: frames hold more than {} bytes of pages", source.name(), raw_total);
            }
            uint32_t crc = crc32c_fast(0, stored.data(), stored.size());
            {
                std::lock_guard lock(mutex);
                crcs[index].first = crc;
            }
            TRY(decompress_frame(h, stored.data() + kFrameHeaderSize, raw.data()).context("{}", source.name()));
            std::vector<sys::RemoteCopy> batch;
            map.pieces(my_raw, h.raw_size, raw.data(), batch);
            TRY(sys::process_vm_write(pid, batch).context("fill memory of {}", pid));
            progress.add(h.raw_size);
        }
    };
    auto run = [&] {
        auto r = worker();
        if (!r) {
            std::lock_guard lock(mutex);
            if (!error)
                error = r.release_error();
        }
    };
    std::thread second(run);
    run();
    second.join();
    if (error)
        return *error;
    if (raw_offset != raw_total)
        return Error::format("{}: frames hold {} bytes of pages, the index says {}", source.name(), raw_offset, raw_total);
    uint32_t crc = 0;
    for (auto const& [c, n] : crcs)
        crc = crc32c_combine(crc, c, n);
    source.set_computed(file_offset, crc);
    return {};
}

} // namespace

Result<void> restore_pages(int pid, std::vector<PageRun> const& runs, FileSource& source)
{
    StreamMap map(runs);
    bool compressed = !source.entry().compression.empty();
    if (!compressed && map.total() != source.expected_size())
        return Error::format("{}: holds {} bytes, the page index says {}", source.name(), source.expected_size(),
            map.total());
    if (map.total() == 0 && !compressed)
        return source.finish();
    Progress progress(fmt::format("restore {}", pid), map.total());
    if (compressed)
        TRY(restore_frames(pid, map, source, progress));
    else
        TRY(restore_raw(pid, map, source, progress));
    TRY(source.finish());
    return {};
}

} // namespace cryo::checkpoint
