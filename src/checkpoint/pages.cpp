// Dump side of pages.h: selects, copies and writes a process's private pages (restore side:
// pages_restore.cpp).
#include "checkpoint/pages.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <linux/userfaultfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>

#include "base/log.h"
#include "base/scope_guard.h"
#include "checkpoint/crc32c_combine.h"
#include "checkpoint/kill_point.h"
#include "checkpoint/pages_io.h"
#include "checkpoint/progress.h"
#include "checkpoint/wp_snapshot.h"
#include "sys/file.h"
#include "sys/fsops.h"
#include "sys/process.h"
#include "sys/remote_memory.h"
#include "sys/tracee.h"
#include "sys/userfaultfd.h"

namespace cryo::checkpoint {

namespace {

// Pool buffers kept for reuse once written (the rest are unmapped).
constexpr size_t kKeptBuffers = 4;

} // namespace

// The dump's page stream: the plan's segments back to back.
class SegmentStream {
public:
    explicit SegmentStream(std::vector<PageSegment> const& segments)
        : m_segments(segments)
    {
        uint64_t offset = 0;
        for (auto const& s : segments) {
            m_offsets.push_back(offset);
            offset += s.size;
        }
    }

    // Copies stream bytes [offset, offset + size) of process `pid` to `local`: readable
    // pieces in one process_vm_readv batch, the others through /proc/PID/mem (FOLL_FORCE).
    Result<void> read(int pid, FdRef mem, uint64_t offset, size_t size, uint8_t* local,
                      std::vector<sys::RemoteCopy>& batch) const
    {
        batch.clear();
        auto it = std::upper_bound(m_offsets.begin(), m_offsets.end(), offset);
        size_t i = static_cast<size_t>(it - m_offsets.begin()) - 1;
        while (size > 0 && i < m_segments.size()) {
            auto const& s = m_segments[i];
            uint64_t in_segment = offset - m_offsets[i];
            size_t n = static_cast<size_t>(std::min<uint64_t>(size, s.size - in_segment));
            if (s.readable)
                batch.push_back({ local, s.address + in_segment, n });
            else
                TRY(sys::proc_mem_read(mem, s.address + in_segment, local, n));
            local += n;
            offset += n;
            size -= n;
            ++i;
        }
        if (size > 0)
            return Error::format("page stream ends {} bytes early", size);
        if (!batch.empty())
            TRY(sys::process_vm_read(pid, batch));
        return {};
    }

private:
    std::vector<PageSegment> const& m_segments;
    std::vector<uint64_t> m_offsets;
};

Result<ChunkBuffer> ChunkBuffer::create(bool populate, size_t size)
{
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return Error::from_errno("mmap page buffer");
    // Huge pages: fewer faults and TLB misses for the copy (a hint; ignored where THP is off).
    if (size >= sys::kHugePageSize)
        (void)::madvise(p, size, MADV_HUGEPAGE);
    if (populate)
        (void)::madvise(p, size, MADV_POPULATE_WRITE);
    ChunkBuffer b;
    b.m_data = static_cast<uint8_t*>(p);
    b.m_size = size;
    return b;
}

ChunkBuffer::ChunkBuffer(ChunkBuffer&& o) noexcept
    : m_data(std::exchange(o.m_data, nullptr))
    , m_size(std::exchange(o.m_size, 0))
{
}

ChunkBuffer& ChunkBuffer::operator=(ChunkBuffer&& o) noexcept
{
    if (this != &o) {
        if (m_data)
            ::munmap(m_data, m_size);
        m_data = std::exchange(o.m_data, nullptr);
        m_size = std::exchange(o.m_size, 0);
    }
    return *this;
}

ChunkBuffer::~ChunkBuffer()
{
    if (m_data)
        ::munmap(m_data, m_size);
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
    if (m_free.size() < kKeptBuffers)
        m_free.push_back(std::move(buffer));
}

uint64_t StripeLayout::part_size(uint64_t total, uint32_t part) const
{
    uint64_t const units = (total + unit - 1) / unit;
    if (part >= units)
        return 0;
    uint64_t const held = (units - 1 - part) / stripes + 1;
    uint64_t size = held * unit;
    if ((units - 1) % stripes == part)
        size -= units * unit - total; // the last unit is short
    return size;
}

StripeLayout stripe_layout_for(uint64_t bytes)
{
    return StripeLayout { .stripes = bytes > kStreamChunk ? 2U : 1U, .unit = kStreamChunk };
}

PageFileWriter::PageFileWriter(std::vector<FileSink> sinks, ChunkPool& pool, Options options)
    : m_sinks(std::move(sinks))
    , m_pool(pool)
    , m_options(options)
    , m_part_mutexes(std::make_unique<std::mutex[]>(m_sinks.size()))
{
    m_layout.stripes = static_cast<uint32_t>(m_sinks.size());
}

PageFileWriter::~PageFileWriter() = default;

void PageFileWriter::fail(Error error)
{
    {
        std::lock_guard lock(m_mutex);
        if (!m_error)
            m_error = std::move(error);
    }
    m_changed.notify_all(); // a worker waiting for its turn to append gives up
}

bool PageFileWriter::failed()
{
    std::lock_guard lock(m_mutex);
    return m_error.has_value();
}

Result<void> PageFileWriter::store_chunk(size_t index, uint8_t const* data, size_t size, std::vector<uint8_t>& frame)
{
    if (m_options.compression == Compression::None) {
        // Unit by unit into their parts. Workers handle different chunks (whole units): their
        // slots in m_crcs/m_lengths never overlap.
        uint64_t offset = static_cast<uint64_t>(index) * m_chunk;
        for (size_t done = 0; done < size;) {
            size_t n = static_cast<size_t>(std::min<uint64_t>(size - done, m_layout.unit - offset % m_layout.unit));
            uint64_t unit = offset / m_layout.unit;
            m_crcs[unit] = crc32c_fast(0, data + done, n);
            m_lengths[unit] = n;
            uint32_t part = m_layout.part_of(offset);
            {
                std::lock_guard lock(m_part_mutexes[part]);
                TRY(pwrite_all(m_sinks[part].fd(), data + done, n, m_layout.part_offset(offset)));
            }
            done += n;
            offset += n;
        }
        if (m_options.progress)
            m_options.progress->add(size);
        return {};
    }
    auto fd = m_sinks[0].fd();
    TRY(compress_frame(m_options.compression, data, size, frame));
    uint32_t crc = crc32c_fast(0, frame.data(), frame.size());
    // Frames go to the file in chunk order: wait for our turn. Chunks are taken in order and
    // each worker finishes its chunk before taking another, so the turn always comes.
    uint64_t offset;
    {
        std::unique_lock lock(m_mutex);
        m_changed.wait(lock, [&] { return m_next_append == index || m_error; });
        if (m_error)
            return {}; // the first error is already recorded
        offset = m_append_offset;
    }
    auto r = pwrite_all(fd, frame.data(), frame.size(), offset);
    {
        std::lock_guard lock(m_mutex);
        m_append_offset += frame.size();
        ++m_next_append;
        m_crcs[index] = crc;
        m_lengths[index] = frame.size();
    }
    m_changed.notify_all();
    TRY(std::move(r));
    if (m_options.progress)
        m_options.progress->add(size);
    return {};
}

Result<void> PageFileWriter::copy(int pid, PagePlan const& plan)
{
    bool const raw_stream = m_options.compression == Compression::None && !m_options.deferred;
    m_chunk = raw_stream ? kStreamChunk : kPageChunk;
    uint64_t const total = plan.bytes;
    size_t const chunks = static_cast<size_t>((total + m_chunk - 1) / m_chunk);
    if (m_options.compression == Compression::None) {
        if (m_layout.stripes != stripe_layout_for(total).stripes)
            return Error::format("page writer of {}: {} file(s) for a {}-byte stream", pid, m_layout.stripes, total);
        // Raw: both chunk sizes are whole units.
        static_assert(kPageChunk % kStreamChunk == 0);
        size_t const units = static_cast<size_t>((total + m_layout.unit - 1) / m_layout.unit);
        m_crcs.assign(units, 0);
        m_lengths.assign(units, 0);
        // Blocks allocated at once, not one delayed allocation per 4 KiB page as the writes
        // come in (ext4 reserves per block in its write path), and a full
        // disk is an error before any page is copied.
        for (uint32_t part = 0; part < m_layout.stripes; ++part)
            TRY(sys::preallocate(m_sinks[part].fd(), static_cast<off_t>(m_layout.part_size(total, part)))
                    .context("{}", m_sinks[part].name()));
    } else {
        if (m_sinks.size() != 1)
            return Error::format("page writer of {}: a compressed stream goes into one file", pid);
        m_crcs.assign(chunks, 0);
        m_lengths.assign(chunks, 0);
    }
    m_held.clear();
    if (m_options.deferred)
        m_held.resize(chunks);
    m_raw_bytes = total;
    SegmentStream stream(plan.segments);
    // /proc/PID/mem for PROT_NONE and write-only areas, opened before the workers start
    // (pread on it is safe from both).
    std::optional<Fd> mem;
    for (auto const& s : plan.segments)
        if (!s.readable && !mem)
            mem = TRY(sys::open(fmt::format("/proc/{}/mem", pid), O_RDONLY | O_CLOEXEC));
    std::atomic<size_t> next { 0 };
    auto work = [&]() -> Result<void> {
        std::optional<ChunkBuffer> own; // streaming: one buffer per worker, reused
        std::vector<uint8_t> frame;
        std::vector<sys::RemoteCopy> batch;
        for (;;) {
            size_t index = next.fetch_add(1);
            if (index >= chunks || failed())
                return {};
            uint64_t offset = static_cast<uint64_t>(index) * m_chunk;
            size_t size = static_cast<size_t>(std::min<uint64_t>(m_chunk, total - offset));
            ChunkBuffer buffer = m_options.deferred ? TRY(m_pool.take())
                : own                               ? std::move(*own)
                      : TRY(ChunkBuffer::create(true, std::min<uint64_t>(m_chunk, total)));
            own.reset();
            TRY(stream.read(pid, mem ? mem->ref() : FdRef(), offset, size, buffer.data(), batch)
                    .context("copy memory of {}", pid));
            kill_point("copying");
            // The chunk as of the freeze instant: pages written since the thaw come from
            // the snapshot's side store (wp_snapshot.cpp says why that is exact).
            if (m_options.snapshot)
                TRY(m_options.snapshot->patch(offset, size, buffer.data()));
            if (m_options.deferred) {
                m_held[index] = Held { std::move(buffer), size };
                continue;
            }
            TRY(store_chunk(index, buffer.data(), size, frame));
            own = std::move(buffer);
        }
    };
    TRY(run_workers(chunks, [&]() -> Result<void> {
        auto r = work();
        if (!r)
            fail(r.error());
        return r;
    }));
    return {};
}

Result<std::vector<FileSink>> PageFileWriter::finish()
{
    if (m_finished)
        return Error::make("page writer finished twice");
    m_finished = true;
    if (m_error)
        return *m_error;
    if (m_options.deferred) {
        std::atomic<size_t> next { 0 };
        size_t const chunks = m_held.size();
        TRY(run_workers(chunks, [&]() -> Result<void> {
            std::vector<uint8_t> frame;
            for (;;) {
                size_t index = next.fetch_add(1);
                if (index >= chunks || failed())
                    return {};
                auto& held = m_held[index];
                auto r = store_chunk(index, held.buffer->data(), held.size, frame);
                // The memory goes back as the image is written.
                m_pool.give_back(std::move(*held.buffer));
                held.buffer.reset();
                if (!r) {
                    fail(r.error());
                    return r;
                }
            }
        }));
    }
    if (m_error)
        return *m_error;
    // Raw: unit u is in part u % stripes, in order; compressed: one part, frames in order.
    uint32_t const parts = static_cast<uint32_t>(m_sinks.size());
    for (uint32_t part = 0; part < parts; ++part) {
        uint32_t crc = 0;
        uint64_t size = 0;
        for (size_t i = part; i < m_crcs.size(); i += parts) {
            crc = crc32c_combine(crc, m_crcs[i], m_lengths[i]);
            size += m_lengths[i];
        }
        m_sinks[part].set_content(size, crc);
    }
    if (m_options.compression != Compression::None)
        m_sinks[0].set_compression(compression_name(m_options.compression), m_raw_bytes);
    if (parts > 1)
        m_sinks[0].set_stripes(parts, m_layout.unit);
    return std::move(m_sinks);
}

Result<void> copy_pages(int pid, PagePlan const& plan, ChunkPool&, PageFileWriter& writer)
{
    return writer.copy(pid, plan);
}

} // namespace cryo::checkpoint
