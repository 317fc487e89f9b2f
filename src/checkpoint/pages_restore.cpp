// Restore side of pages.h and pages_fill.h: fills restored processes' memory from their page files.
#include "checkpoint/pages.h"
#include "checkpoint/pages_fill.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <linux/userfaultfd.h>
#include <mutex>
#include <sys/mman.h>

#include "base/log.h"
#include "base/scope_guard.h"
#include "checkpoint/crc32c_combine.h"
#include "checkpoint/pages_io.h"
#include "checkpoint/progress.h"
#include "sys/file.h"
#include "sys/process.h"
#include "sys/remote_memory.h"
#include "sys/tracee.h"
#include "sys/userfaultfd.h"

namespace cryo::checkpoint {

namespace {

constexpr uint64_t kPage = sys::kPageSize;

// Where a range of the page stream goes in the process: runs back to back.
class StreamMap {
public:
    explicit StreamMap(std::vector<PageRun> runs)
        : m_runs(std::move(runs))
    {
        uint64_t offset = 0;
        for (auto const& r : m_runs) {
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
    std::vector<PageRun> m_runs;
    std::vector<uint64_t> m_offsets;
    uint64_t m_total { 0 };
};

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

// Compressed page file: frames read in order (under a lock), decompressed and written by two
// threads; per-frame CRCs of the stored bytes are combined in order.
Result<void> restore_frames(int pid, StreamMap const& map, FileSource& source, Progress& progress,
                            std::optional<UffdFill> const& uffd)
{
    uint64_t file_size = source.expected_size();
    uint64_t raw_total = source.entry().raw_size;
    if (raw_total != map.total())
        return Error::format("{}: holds {} bytes of pages, the page index says {}", source.name(), raw_total,
                             map.total());
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
        return Error::format("{}: frames hold {} bytes of pages, the index says {}", source.name(), raw_offset,
                             raw_total);
    uint32_t crc = 0;
    for (auto const& [c, n] : crcs)
        crc = crc32c_combine(crc, c, n);
    source.set_computed(file_offset, crc);
    return {};
}

// Maps a raw page file read-only at a 2 MiB-aligned address, so that the kernel can map the
// page cache's 2 MiB folios (ext4 makes them for 2 MiB writes, as the dump's, and for reads
// through a MADV_HUGEPAGE mapping) with one PMD each: faulting the source in and unmapping
// it then cost one entry per 2 MiB instead of 512 (2 GiB: the unmap after the fill went
// from 7 ms to 0.5 ms). Linux 6.18 already places a large ext4 file mapping on a 2 MiB
// boundary; the explicit reservation keeps it so where the kernel or file system does not.
// Smaller folios are mapped page by page, as at any address. This mapping is cryo's own:
// the restored process gets new 4 KiB pages either way.
Result<uint8_t const*> map_source(FileSource const& source)
{
    uint64_t const size = source.expected_size();
    // A reservation one PMD larger, then the file over its first aligned address.
    void* reserved
        = ::mmap(nullptr, size + sys::kHugePageSize, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (reserved == MAP_FAILED)
        return Error::from_errno(fmt::format("mmap {}", source.name()));
    auto const base = reinterpret_cast<uintptr_t>(reserved);
    uintptr_t const aligned = (base + sys::kHugePageSize - 1) & ~(sys::kHugePageSize - 1);
    // SAFETY: MAP_FIXED only over the reservation just made.
    void* mapped
        = ::mmap(reinterpret_cast<void*>(aligned), size, PROT_READ, MAP_PRIVATE | MAP_FIXED, source.fd().get(), 0);
    if (mapped == MAP_FAILED) {
        int saved = errno;
        ::munmap(reserved, size + sys::kHugePageSize);
        return Error::from_errno(saved, fmt::format("mmap {}", source.name()));
    }
    if (aligned > base)
        ::munmap(reserved, aligned - base);
    uintptr_t const end = aligned + size;
    uintptr_t const reserved_end = base + size + sys::kHugePageSize;
    uintptr_t const mapped_end = (end + sys::kPageSize - 1) & ~(sys::kPageSize - 1);
    if (reserved_end > mapped_end)
        ::munmap(reinterpret_cast<void*>(mapped_end), reserved_end - mapped_end);
    // Pages the cache does not hold yet are read in 2 MiB folios (readahead of a
    // MADV_HUGEPAGE mapping), which the PMD mapping above can then use. Advice only.
    (void)::madvise(mapped, size, MADV_HUGEPAGE);
    return static_cast<uint8_t const*>(mapped);
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
        auto it = std::lower_bound(runs.begin(), runs.end(), a.start,
                                   [](PageRun const& r, uint64_t address) { return r.address < address; });
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

Result<std::vector<FileSource>> open_page_files(ImageReader const& image, int pid)
{
    std::vector<FileSource> parts;
    parts.push_back(TRY(image.open_file(page_file_name(pid))));
    uint32_t const stripes = parts[0].entry().stripes;
    if (stripes > 1 && !parts[0].entry().compression.empty())
        return Error::format("{}: a compressed page file cannot be striped", parts[0].name());
    for (uint32_t part = 1; part < stripes; ++part)
        parts.push_back(TRY(image.open_file(page_file_name(pid, part))));
    return parts;
}

Result<void> restore_pages(int pid, std::vector<PageRun> const& runs, std::vector<FileSource> sources,
                           std::optional<UffdFill> uffd)
{
    PageFiller filler;
    size_t job = TRY(filler.submit(pid, runs, std::move(sources), std::move(uffd)));
    return filler.wait(job);
}

struct PageFiller::Job {
    Job(int pid_, std::vector<PageRun> runs, std::vector<FileSource> sources_, std::optional<UffdFill> uffd_)
        : pid(pid_)
        , map(std::move(runs))
        , sources(std::move(sources_))
        , uffd(std::move(uffd_))
    {
    }
    Job(Job const&) = delete;
    ~Job() { unmap(); }
    void unmap()
    {
        for (size_t part = 0; part < bases.size(); ++part)
            if (bases[part])
                ::munmap(const_cast<uint8_t*>(bases[part]), sources[part].expected_size());
        bases.clear();
    }
    bool complete() const { return done == chunks; }
    // Where stream bytes at `offset` (inside one unit) are in the mapped parts.
    uint8_t const* at(uint64_t offset) const { return bases[layout.part_of(offset)] + layout.part_offset(offset); }

    int pid;
    StreamMap map;
    std::vector<FileSource> sources; // the raw page stream's parts (StripeLayout), or one compressed file
    StripeLayout layout;
    std::optional<UffdFill> uffd;
    std::unique_ptr<Progress> progress;
    std::vector<uint8_t const*> bases; // the raw parts, mapped read-only (nullptr: empty part)
    size_t chunks { 0 }; // one per stripe unit
    size_t next { 0 }; // the next chunk to take
    size_t done { 0 }; // chunks copied, or skipped after an error
    std::vector<uint32_t> crcs; // per chunk
    bool computed { false }; // the sources' CRCs are already set (compressed: at submit)
    bool waited { false };
    std::optional<Error> error;
    // For --debug: when the job was submitted, its first chunk taken, its last one done.
    std::chrono::steady_clock::time_point submitted, first_taken, last_done;
};

PageFiller::PageFiller() = default;

PageFiller::~PageFiller()
{
    {
        std::lock_guard lock(m_mutex);
        m_stop = true;
    }
    m_changed.notify_all();
    if (m_worker.joinable())
        m_worker.join();
}

Result<size_t> PageFiller::submit(int pid, std::vector<PageRun> runs, std::vector<FileSource> sources,
                                  std::optional<UffdFill> uffd)
{
    if (sources.empty())
        return Error::format("page fill of {}: no page file", pid);
    auto job = std::make_unique<Job>(pid, std::move(runs), std::move(sources), std::move(uffd));
    uint64_t total = job->map.total();
    FileEntry const& first = job->sources[0].entry();
    bool compressed = !first.compression.empty();
    if (compressed && job->sources.size() != 1)
        return Error::format("{}: a compressed page file cannot be striped", job->sources[0].name());
    if (!compressed) {
        if (job->sources.size() != first.stripes)
            return Error::format("{}: {} part(s) given for {} stripes", job->sources[0].name(), job->sources.size(),
                                 first.stripes);
        job->layout
            = StripeLayout { .stripes = first.stripes, .unit = first.stripes > 1 ? first.stripe_size : kStreamChunk };
        for (uint32_t part = 0; part < job->layout.stripes; ++part) {
            auto const& source = job->sources[part];
            uint64_t want = job->layout.part_size(total, part);
            if (source.expected_size() != want)
                return Error::format("{}: holds {} bytes, the page index says {}", source.name(),
                                     source.expected_size(), want);
        }
    }
    if (compressed) {
        // Frames must be read in order to be found: filled now, with two threads of their own.
        Progress progress(fmt::format("restore {}", pid), total);
        if (auto r = restore_frames(pid, job->map, job->sources[0], progress, job->uffd); !r)
            job->error = r.release_error();
        job->computed = true;
    } else if (total > 0) {
        // The page files are mapped, not read: pages are copied straight from the page cache
        // into the process (one copy instead of two). No MAP_POPULATE: the checksum of each
        // chunk faults it in (fault-around maps 16 pages a fault), spread over both threads,
        // where populating the whole file first held every copy back by its page-table walk.
        for (auto const& source : job->sources) {
            if (source.expected_size() == 0) {
                job->bases.push_back(nullptr);
                continue;
            }
            job->bases.push_back(TRY(map_source(source)));
        }
        job->chunks = (total + job->layout.unit - 1) / job->layout.unit;
        job->crcs.assign(job->chunks, 0);
        job->progress = std::make_unique<Progress>(fmt::format("restore {}", pid), total);
    }
    job->submitted = std::chrono::steady_clock::now();
    std::lock_guard lock(m_mutex);
    m_jobs.push_back(std::move(job));
    // The worker thread only pays when there is more than one chunk to share: a process of a
    // few pages is filled by the thread that waits for it, and cryo stays single-threaded
    // (every munmap/mprotect of a multi-threaded cryo must flush the other CPU's TLB too).
    if (!m_jobs.back()->complete() && !m_worker.joinable() && (m_jobs.back()->chunks > 1 || m_jobs.size() > 1))
        m_worker = std::thread([this] { work(); });
    m_changed.notify_all();
    return m_jobs.size() - 1;
}

bool PageFiller::copy_next_chunk(std::unique_lock<std::mutex>& lock, size_t limit)
{
    while (m_oldest_open < m_jobs.size() && m_jobs[m_oldest_open]->next == m_jobs[m_oldest_open]->chunks)
        ++m_oldest_open;
    if (m_oldest_open >= m_jobs.size() || m_oldest_open > limit)
        return false;
    Job& job = *m_jobs[m_oldest_open];
    size_t index = job.next++;
    if (index == 0)
        job.first_taken = std::chrono::steady_clock::now();
    lock.unlock();
    uint64_t offset = index * job.layout.unit;
    uint64_t n = std::min<uint64_t>(job.layout.unit, job.map.total() - offset);
    uint8_t const* data = job.at(offset);
    // Checksummed first, then copied while the chunk is still in the CPU cache.
    uint32_t crc = crc32c_fast(0, data, n);
    std::vector<sys::RemoteCopy> pieces, rest;
    job.map.pieces(offset, n, data, pieces);
    auto r = fill(job.pid, job.uffd, pieces, rest);
    job.progress->add(n);
    lock.lock();
    job.crcs[index] = crc;
    ++job.done;
    if (!r && !job.error) {
        job.error = std::move(r).context("fill memory of {}", job.pid).release_error();
        job.done += job.chunks - job.next; // the chunks nobody took yet are skipped
        job.next = job.chunks;
    }
    if (job.complete()) {
        job.last_done = std::chrono::steady_clock::now();
        m_changed.notify_all();
    }
    return true;
}

void PageFiller::work()
{
    std::unique_lock lock(m_mutex);
    while (!m_stop)
        if (!copy_next_chunk(lock, m_jobs.size()))
            m_changed.wait(lock);
}

Result<void> PageFiller::wait(size_t index)
{
    Job* job;
    {
        std::unique_lock lock(m_mutex);
        if (index >= m_jobs.size() || m_jobs[index]->waited)
            return Error::format("page fill {}: no such job waiting", index);
        job = m_jobs[index].get();
        job->waited = true;
        // The waiting thread copies too (the oldest chunks first), instead of sleeping.
        while (!job->complete())
            if (!copy_next_chunk(lock, index))
                m_changed.wait(lock);
    }
    // Complete: no other thread touches the job any more.
    using Clock = std::chrono::steady_clock;
    auto ms = [](Clock::time_point a, Clock::time_point b) {
        return std::chrono::duration<double, std::milli>(b - a).count();
    };
    auto t0 = Clock::now();
    job->unmap();
    job->progress.reset();
    auto t1 = Clock::now();
    if (job->error)
        return *job->error;
    if (!job->computed) {
        // Each part's CRC, from its chunks' in file order (unit u is in part u % stripes).
        uint64_t total = job->map.total();
        uint32_t const parts = job->layout.stripes;
        for (uint32_t part = 0; part < parts; ++part) {
            uint32_t crc = 0;
            for (size_t i = part; i < job->chunks; i += parts)
                crc = crc32c_combine(crc, job->crcs[i],
                                     std::min<uint64_t>(job->layout.unit, total - i * job->layout.unit));
            job->sources[part].set_computed(job->layout.part_size(total, part), crc);
        }
    }
    // A corrupt page file fails the restore here, before the process runs again: the
    // restore then kills it with its memory half-good.
    for (auto& source : job->sources)
        TRY(source.finish());
    auto t2 = Clock::now();
    // Unregistered before the process can run: a page never dumped (never touched) must
    // fault in as zero, not wait for a userfaultfd nobody reads. (On an error, closing the
    // fd drops the registrations; the process is killed anyway.)
    if (job->uffd)
        for (auto const& [start, end] : job->uffd->ranges)
            TRY(sys::uffd_unregister(job->uffd->uffd, start, end - start));
    job->uffd.reset();
    if (job->chunks > 0)
        log::debug(
            "page fill of {}: {} chunks; first taken {:.2f} ms after submit, copied in {:.2f} ms, done {:.2f} ms "
            "before the wait saw it; then unmap {:.2f} ms, verify {:.2f} ms, unregister {:.2f} ms",
            job->pid, job->chunks, ms(job->submitted, job->first_taken), ms(job->first_taken, job->last_done),
            ms(job->last_done, t0), ms(t0, t1), ms(t1, t2), ms(t2, Clock::now()));
    return {};
}

} // namespace cryo::checkpoint
