#include "checkpoint/pages.h"

#include <sys/mman.h>

#include "base/scope_guard.h"
#include "sys/file.h"
#include "sys/remote_memory.h"

namespace cryo::checkpoint {

namespace {

constexpr uint64_t kPage = sys::kPageSize;
constexpr size_t kBufferSize = 16 << 20;

// A page-aligned bounce buffer (process_vm_* and the file write both prefer aligned memory).
class Buffer {
public:
    static Result<Buffer> create(size_t size)
    {
        void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return Error::from_errno("mmap page buffer");
        Buffer b;
        b.m_data = static_cast<uint8_t*>(p);
        b.m_size = size;
        return b;
    }
    Buffer(Buffer&& o) noexcept
        : m_data(std::exchange(o.m_data, nullptr))
        , m_size(o.m_size)
    {
    }
    ~Buffer()
    {
        if (m_data)
            ::munmap(m_data, m_size);
    }
    uint8_t* data() const { return m_data; }
    size_t size() const { return m_size; }

private:
    Buffer() = default;
    uint8_t* m_data { nullptr };
    size_t m_size { 0 };
};

bool dumps_pages(AreaKind kind) { return kind == AreaKind::Anonymous || kind == AreaKind::FilePrivate; }

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

Result<std::vector<PageRun>> dump_pages(int pid, std::vector<MemoryArea> const& areas, FileSink& sink)
{
    if (areas.empty())
        return std::vector<PageRun> {}; // a zombie: no memory, and /proc/PID/pagemap no longer opens
    auto pagemap = TRY(sys::open(fmt::format("/proc/{}/pagemap", pid), O_RDONLY | O_CLOEXEC));
    auto mem = TRY(sys::open(fmt::format("/proc/{}/mem", pid), O_RDONLY | O_CLOEXEC));
    auto buffer = TRY(Buffer::create(kBufferSize));
    std::vector<PageRun> all;
    for (auto const& area : areas) {
        if (!dumps_pages(area.kind))
            continue;
        auto entries = TRY(sys::read_pagemap(pagemap, area.start, area.size() / kPage).context("process {}", pid));
        auto runs = select_pages(area, entries);
        // Copy in buffer-sized batches; a batch gathers many small runs in one syscall.
        std::vector<sys::RemoteCopy> batch;
        size_t used = 0;
        auto flush = [&]() -> Result<void> {
            if (used == 0)
                return {};
            if (area.read) {
                TRY(sys::process_vm_read(pid, batch).context("copy memory of {}", pid));
            } else {
                // PROT_NONE or write-only: process_vm_readv refuses, /proc/PID/mem reads
                // with FOLL_FORCE.
                for (auto const& c : batch)
                    TRY(sys::proc_mem_read(mem, c.remote, c.local, c.size).context("copy memory of {}", pid));
            }
            TRY(sink.write(buffer.data(), used));
            batch.clear();
            used = 0;
            return {};
        };
        for (auto const& run : runs) {
            uint64_t address = run.address;
            uint64_t left = run.pages * kPage;
            while (left > 0) {
                size_t room = buffer.size() - used;
                if (room == 0) {
                    TRY(flush());
                    room = buffer.size();
                }
                size_t n = std::min<uint64_t>(left, room);
                batch.push_back({ buffer.data() + used, address, n });
                used += n;
                address += n;
                left -= n;
            }
        }
        TRY(flush());
        all.insert(all.end(), runs.begin(), runs.end());
    }
    return all;
}

Result<void> restore_pages(int pid, std::vector<PageRun> const& runs, FileSource& source)
{
    uint64_t total = 0;
    for (auto const& run : runs)
        total += run.pages * kPage;
    if (total != source.expected_size())
        return Error::format("{}: holds {} bytes, the page index says {}", source.name(), source.expected_size(), total);
    if (total == 0)
        return source.finish();
    // The page file is mapped, not read: process_vm_writev copies straight from the page
    // cache into the process (one copy instead of two), and the checksum reads the same pages.
    void* mapped = ::mmap(nullptr, total, PROT_READ, MAP_PRIVATE | MAP_POPULATE, source.fd().get(), 0);
    if (mapped == MAP_FAILED)
        return Error::from_errno(fmt::format("mmap {}", source.name()));
    ScopeGuard unmap([&] { ::munmap(mapped, total); });
    ::madvise(mapped, total, MADV_SEQUENTIAL);
    auto const* base = static_cast<uint8_t const*>(mapped);
    // The whole file's checksum is known only at the end, so a corrupt page file is detected
    // after its pages went in; the restore then fails and kills the process it was filling.
    std::vector<sys::RemoteCopy> batch;
    uint64_t offset = 0;
    size_t used = 0;
    auto flush = [&]() -> Result<void> {
        if (used == 0)
            return {};
        TRY(source.account(base + offset - used, used));
        TRY(sys::process_vm_write(pid, batch).context("fill memory of {}", pid));
        batch.clear();
        used = 0;
        return {};
    };
    for (auto const& run : runs) {
        uint64_t address = run.address;
        uint64_t left = run.pages * kPage;
        while (left > 0) {
            size_t n = std::min<uint64_t>(left, kBufferSize - used);
            // SAFETY: process_vm_writev only reads from this local range of our mapping.
            batch.push_back({ const_cast<uint8_t*>(base + offset), address, n });
            used += n;
            offset += n;
            address += n;
            left -= n;
            if (used == kBufferSize)
                TRY(flush());
        }
    }
    TRY(flush());
    TRY(source.finish());
    return {};
}

} // namespace cryo::checkpoint
