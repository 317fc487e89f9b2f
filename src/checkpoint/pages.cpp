#include "checkpoint/pages.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <thread>
#include <cstring>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/log.h"
#include "base/scope_guard.h"
#include "checkpoint/crc32c_combine.h"
#include "checkpoint/kill_point.h"
#include "checkpoint/progress.h"
#include "sys/file.h"
#include "sys/process.h"
#include "sys/remote_memory.h"
#include "sys/tracee.h"
#include "sys/userfaultfd.h"

namespace cryo::checkpoint {

namespace {

constexpr uint64_t kPage = sys::kPageSize;
// Page copies and writes run on two threads: the machine's cores (more only contend).
constexpr unsigned kWorkers = 2;
// Pool buffers kept for reuse once written (the rest are unmapped).
constexpr size_t kKeptBuffers = 4;

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

// Runs `work` on up to kWorkers threads (this one included), as many as there are `items`;
// returns the first error.
Result<void> run_workers(size_t items, std::function<Result<void>()> const& work)
{
    unsigned n = static_cast<unsigned>(std::min<size_t>(kWorkers, std::max<size_t>(items, 1)));
    std::vector<std::optional<Error>> errors(n);
    std::vector<std::thread> threads;
    for (unsigned i = 1; i < n; ++i)
        threads.emplace_back([&, i] {
            auto r = work();
            if (!r)
                errors[i] = r.release_error();
        });
    auto r = work();
    if (!r)
        errors[0] = r.release_error();
    for (auto& t : threads)
        t.join();
    for (auto& e : errors)
        if (e)
            return *e;
    return {};
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

constexpr uint64_t kPagemapChunkPages = 1 << 16;

Result<PagePlan> plan_pages(int pid, std::vector<MemoryArea> const& areas)
{
    if (areas.empty())
        return PagePlan {}; // a zombie: no memory, and /proc/PID/pagemap no longer opens
    auto pagemap = TRY(sys::open(fmt::format("/proc/{}/pagemap", pid), O_RDONLY | O_CLOEXEC));
    PagePlan plan;
    for (auto const& area : areas) {
        if (!dumps_pages(area.kind))
            continue;
        // The pagemap is read in bounded chunks (512 KiB of entries): an area can be a huge
        // reservation (ASan's shadow, a JVM or Go heap) whose whole pagemap would not fit.
        std::vector<PageRun> runs;
        MemoryArea chunk = area;
        for (uint64_t at = area.start; at < area.end; at += kPagemapChunkPages * kPage) {
            chunk.start = at;
            chunk.end = std::min<uint64_t>(area.end, at + kPagemapChunkPages * kPage);
            auto entries = TRY(
                sys::read_pagemap(pagemap, chunk.start, chunk.size() / kPage).context("process {}", pid));
            for (auto const& r : select_pages(chunk, entries)) {
                if (!runs.empty() && runs.back().address + runs.back().pages * kPage == r.address)
                    runs.back().pages += r.pages;
                else
                    runs.push_back(r);
            }
        }
        for (auto const& r : runs) {
            plan.segments.push_back({ r.address, r.pages * kPage, area.read });
            plan.bytes += r.pages * kPage;
        }
        plan.runs.insert(plan.runs.end(), runs.begin(), runs.end());
    }
    return plan;
}

Result<ChunkBuffer> ChunkBuffer::create(bool populate, size_t size)
{
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return Error::from_errno("mmap page buffer");
    // Huge pages: fewer faults and TLB misses for the copy (a hint; ignored where THP is off).
    if (size >= (2 << 20))
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

PageFileWriter::PageFileWriter(FileSink sink, ChunkPool& pool, Options options)
    : m_sink(std::move(sink))
    , m_pool(pool)
    , m_options(options)
{
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
    auto fd = m_sink.fd();
    if (m_options.compression == Compression::None) {
        // Workers handle different chunks: their slots in m_crcs/m_lengths never overlap.
        m_crcs[index] = crc32c_fast(0, data, size);
        m_lengths[index] = size;
        {
            std::lock_guard lock(m_write_mutex);
            TRY(pwrite_all(fd, data, size, static_cast<uint64_t>(index) * m_chunk));
        }
        if (m_options.progress)
            m_options.progress->add(size);
        return {};
    }
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
    m_crcs.assign(chunks, 0);
    m_lengths.assign(chunks, 0);
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

Result<FileSink> PageFileWriter::finish()
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
    uint32_t crc = 0;
    uint64_t size = 0;
    for (size_t i = 0; i < m_crcs.size(); ++i) {
        crc = crc32c_combine(crc, m_crcs[i], m_lengths[i]);
        size += m_lengths[i];
    }
    m_sink.set_content(size, crc);
    if (m_options.compression != Compression::None)
        m_sink.set_compression(compression_name(m_options.compression), m_raw_bytes);
    return std::move(m_sink);
}

Result<void> copy_pages(int pid, PagePlan const& plan, ChunkPool&, PageFileWriter& writer)
{
    return writer.copy(pid, plan);
}

namespace {

bool inside(std::vector<std::pair<uint64_t, uint64_t>> const& ranges, uint64_t start, uint64_t size)
{
    auto it = std::upper_bound(ranges.begin(), ranges.end(), std::pair { start, ~uint64_t { 0 } });
    if (it == ranges.begin())
        return false;
    --it;
    return start >= it->first && start + size <= it->second;
}

// Writes `pieces` into the process: those inside the userfaultfd's ranges with UFFDIO_COPY,
// the others in one process_vm_writev batch.
Result<void> fill(int pid, std::optional<UffdFill> const& uffd, std::vector<sys::RemoteCopy> const& pieces,
    std::vector<sys::RemoteCopy>& rest)
{
    if (!uffd)
        return sys::process_vm_write(pid, pieces);
    rest.clear();
    for (auto const& p : pieces) {
        if (inside(uffd->ranges, p.remote, p.size))
            TRY(sys::uffd_copy(uffd->uffd, p.remote, p.local, p.size));
        else
            rest.push_back(p);
    }
    if (!rest.empty())
        TRY(sys::process_vm_write(pid, rest));
    return {};
}

// Raw page file: mapped, and each of two threads checksums and writes half of it, 1 MiB at
// a time (checksummed, then copied while still in cache).
Result<void> restore_raw(int pid, StreamMap const& map, FileSource& source, Progress& progress,
    std::optional<UffdFill> const& uffd)
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
        // The page file is mapped, not read: the pages are copied straight from the page
        // cache into the process (one copy instead of two).
        void* mapped = ::mmap(nullptr, end - begin, PROT_READ, MAP_PRIVATE | MAP_POPULATE, source.fd().get(),
            static_cast<off_t>(begin));
        if (mapped == MAP_FAILED)
            return Error::from_errno(fmt::format("mmap {}", source.name()));
        ScopeGuard unmap([&] { ::munmap(mapped, end - begin); });
        auto const* base = static_cast<uint8_t const*>(mapped);
        std::vector<sys::RemoteCopy> batch, rest;
        for (uint64_t off = begin; off < end; off += kStreamChunk) {
            uint64_t n = std::min<uint64_t>(kStreamChunk, end - off);
            crcs[k] = crc32c_fast(crcs[k], base + (off - begin), n);
            batch.clear();
            map.pieces(off, n, base + (off - begin), batch);
            TRY(fill(pid, uffd, batch, rest).context("fill memory of {}", pid));
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
Result<void> restore_frames(int pid, StreamMap const& map, FileSource& source, Progress& progress,
    std::optional<UffdFill> const& uffd)
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
            std::vector<sys::RemoteCopy> batch, rest;
            map.pieces(my_raw, h.raw_size, raw.data(), batch);
            TRY(fill(pid, uffd, batch, rest).context("fill memory of {}", pid));
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

Result<std::optional<UffdFill>> prepare_uffd_fill(sys::Tracee& tracee, std::vector<MemoryArea> const& areas,
    std::vector<PageRun> const& runs)
{
    UffdFill result;
    for (auto const& a : areas) {
        if (a.kind != AreaKind::Anonymous || a.huge)
            continue;
        // Only areas that get pages (runs are sorted by address).
        auto it = std::lower_bound(
            runs.begin(), runs.end(), a.start, [](PageRun const& r, uint64_t address) { return r.address < address; });
        if (it != runs.end() && it->address < a.end)
            result.ranges.push_back({ a.start, a.end });
    }
    if (result.ranges.empty())
        return std::optional<UffdFill> {};
    // UFFD_USER_MODE_ONLY: allowed without CAP_SYS_PTRACE (a container's user namespace); it
    // only matters for faults from the kernel, and nothing faults while cryo fills.
    long fd = TRY(tracee.syscall(SYS_userfaultfd, { O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY }));
    if (fd < 0) {
        log::debug("process {}: userfaultfd: {}; filling memory with process_vm_writev", tracee.tgid(),
            std::strerror(static_cast<int>(-fd)));
        return std::optional<UffdFill> {};
    }
    auto taken = [&]() -> Result<Fd> {
        auto pidfd = TRY(sys::pidfd_open(tracee.tgid()));
        return sys::pidfd_getfd(pidfd, static_cast<int>(fd));
    }();
    // cryo's copy is the only one from here on: the process never sees the fd.
    TRY(tracee.syscall_checked("close userfaultfd", SYS_close, { static_cast<uint64_t>(fd) }));
    if (!taken) {
        log::debug("process {}: {}; filling memory with process_vm_writev", tracee.tgid(), taken.error().message());
        return std::optional<UffdFill> {};
    }
    result.uffd = std::move(*taken);
    if (auto r = sys::uffd_api(result.uffd); !r) {
        log::debug("process {}: {}; filling memory with process_vm_writev", tracee.tgid(), r.error().message());
        return std::optional<UffdFill> {};
    }
    // An area the kernel does not register is written with process_vm_writev instead.
    std::erase_if(result.ranges, [&](auto const& range) {
        return !sys::uffd_register_missing(result.uffd, range.first, range.second - range.first);
    });
    return std::optional<UffdFill> { std::move(result) };
}

Result<void> restore_pages(int pid, std::vector<PageRun> const& runs, FileSource& source, std::optional<UffdFill> uffd)
{
    StreamMap map(runs);
    bool compressed = !source.entry().compression.empty();
    if (!compressed && map.total() != source.expected_size())
        return Error::format("{}: holds {} bytes, the page index says {}", source.name(), source.expected_size(),
            map.total());
    if (map.total() == 0 && !compressed)
        return source.finish();
    {
        Progress progress(fmt::format("restore {}", pid), map.total());
        if (compressed)
            TRY(restore_frames(pid, map, source, progress, uffd));
        else
            TRY(restore_raw(pid, map, source, progress, uffd));
    }
    // Unregistered before the process can run: a page never dumped (never touched) must
    // fault in as zero, not wait for a userfaultfd nobody reads. (On an error, closing the
    // fd drops the registrations; the process is killed anyway.)
    if (uffd)
        for (auto const& [start, end] : uffd->ranges)
            TRY(sys::uffd_unregister(uffd->uffd, start, end - start));
    TRY(source.finish());
    return {};
}

} // namespace cryo::checkpoint
