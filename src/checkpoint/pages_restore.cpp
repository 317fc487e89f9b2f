// Restore side of pages.h: fills a restored process's memory from its page file.
#include "checkpoint/pages.h"

#include <algorithm>
#include <atomic>
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
