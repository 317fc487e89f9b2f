#include "sys/pagemap_scan.h"

#include <algorithm>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "sys/file.h"

namespace cryo::sys {

namespace {

constexpr uint64_t kPage = 4096;

// struct pm_scan_arg and PAGEMAP_SCAN, from include/uapi/linux/fs.h (a stable ABI: the kernel
// checks `size`).
struct PmScanArg {
    uint64_t size;
    uint64_t flags;
    uint64_t start;
    uint64_t end;
    uint64_t walk_end;
    uint64_t vec;
    uint64_t vec_len;
    uint64_t max_pages;
    uint64_t category_inverted;
    uint64_t category_mask;
    uint64_t category_anyof_mask;
    uint64_t return_mask;
};
static_assert(sizeof(PmScanArg) == 96);
static_assert(sizeof(PageRegion) == 24);
constexpr unsigned long kPagemapScan = _IOWR('f', 16, PmScanArg);

} // namespace

Result<PagemapScanBatch> pagemap_scan(FdRef pagemap, PagemapScanQuery const& query, std::span<PageRegion> out)
{
    PmScanArg arg {};
    arg.size = sizeof arg;
    arg.start = query.start;
    arg.end = query.end;
    // SAFETY: the kernel writes at most vec_len page_region structs (the layout of PageRegion,
    // asserted above) into `out`, which is ours for the duration of the call.
    arg.vec = reinterpret_cast<uint64_t>(out.data());
    arg.vec_len = out.size();
    arg.category_inverted = query.inverted;
    arg.category_mask = query.all;
    arg.category_anyof_mask = query.any_of;
    arg.return_mask = query.returned;
    // The kernel returns -EINTR only when a fatal signal is pending: no retry.
    int n = ::ioctl(pagemap.get(), kPagemapScan, &arg);
    if (n < 0)
        return Error::from_errno(fmt::format("ioctl PAGEMAP_SCAN {:#x}-{:#x}", query.start, query.end));
    if (static_cast<size_t>(n) > out.size() || arg.walk_end < query.start || arg.walk_end > query.end)
        return Error::format("ioctl PAGEMAP_SCAN {:#x}-{:#x}: {} regions, walk end {:#x} out of bounds", query.start,
                             query.end, n, arg.walk_end);
    return PagemapScanBatch { static_cast<size_t>(n), arg.walk_end };
}

bool pagemap_scan_unsupported(Error const& error)
{
    return error.is_errno(ENOTTY) || error.is_errno(EINVAL);
}

bool keeps(PageKeep keep, uint64_t categories)
{
    bool present = categories & kPageIsPresent;
    bool swapped = categories & kPageIsSwapped;
    bool file = categories & kPageIsFile;
    if (categories & kPageIsGuard)
        return false; // a marker that faults, with nothing behind it (reported swapped too)
    if (keep == PageKeep::GuardsOnly)
        return false;
    if (keep == PageKeep::PresentOrSwapped)
        return present || swapped;
    return (present && !file) || swapped;
}

std::vector<ScanWalk> plan_scan_walks(std::span<ScanArea const> areas)
{
    std::vector<ScanWalk> walks;
    for (size_t i = 0; i < areas.size(); ++i) {
        auto const& a = areas[i];
        if (a.start >= a.end)
            continue;
        if (!walks.empty()) {
            auto& w = walks.back();
            if (w.first + w.count == i && w.end == a.start && w.keep == a.keep) {
                w.end = a.end;
                ++w.count;
                continue;
            }
        }
        walks.push_back({ a.start, a.end, a.keep, i, 1 });
    }
    return walks;
}

PagemapScanQuery scan_query(ScanWalk const& walk, GuardScan guards)
{
    PagemapScanQuery q;
    q.start = walk.start;
    q.end = walk.end;
    if (walk.keep == PageKeep::GuardsOnly) {
        // Only guard pages match: no region for the pages of a big shared mapping.
        q.all = kPageIsGuard;
        q.returned = kPageIsGuard;
        return q;
    }
    q.any_of = kPageIsPresent | kPageIsSwapped;
    q.returned = kPageIsPresent | kPageIsSwapped;
    if (walk.keep == PageKeep::CopiedOrSwapped)
        q.returned |= kPageIsFile;
    // Guards match as swapped; returning the category splits them off from real swap.
    if (guards == GuardScan::Report)
        q.returned |= kPageIsGuard;
    return q;
}

void ScanRunBuilder::begin(ScanWalk const& walk)
{
    m_walk = walk;
    m_at = walk.first;
}

void ScanRunBuilder::append(std::vector<ScanRun>& to, size_t area, uint64_t start, uint64_t end)
{
    if (!to.empty()) {
        auto& last = to.back();
        if (last.area == area && last.address + last.pages * kPage == start) {
            last.pages += (end - start) / kPage;
            return;
        }
    }
    to.push_back({ area, start, (end - start) / kPage });
}

void ScanRunBuilder::add_cut(std::vector<ScanRun>& to, PageRegion const& r)
{
    size_t const stop = m_walk.first + m_walk.count;
    uint64_t at = r.start;
    while (at < r.end && m_at < stop) {
        auto const& a = m_areas[m_at];
        if (at >= a.end) {
            ++m_at;
            continue;
        }
        at = std::max(at, a.start);
        if (at >= r.end)
            break;
        uint64_t end = std::min(r.end, a.end);
        append(to, m_at, at, end);
        at = end;
    }
}

void ScanRunBuilder::add(std::span<PageRegion const> regions)
{
    for (auto const& r : regions) {
        if (r.categories & kPageIsGuard)
            add_cut(m_guards, r);
        else if (keeps(m_walk.keep, r.categories))
            add_cut(m_runs, r);
    }
}

Result<ScanResult> scan_memory(FdRef pagemap, std::span<ScanArea const> areas, GuardScan guards, size_t max_regions)
{
    std::vector<PageRegion> buffer(std::max<size_t>(max_regions, 1));
    ScanRunBuilder builder(areas);
    for (auto const& walk : plan_scan_walks(areas)) {
        if (walk.keep == PageKeep::GuardsOnly && guards == GuardScan::Ignore)
            continue;
        builder.begin(walk);
        auto query = scan_query(walk, guards);
        while (query.start < query.end) {
            auto batch = TRY(pagemap_scan(pagemap, query, buffer));
            builder.add({ buffer.data(), batch.regions });
            // A full buffer ends the walk early, at the first page it had no room for.
            if (batch.walk_end <= query.start)
                return Error::format("ioctl PAGEMAP_SCAN {:#x}-{:#x}: the walk did not advance", query.start,
                                     query.end);
            query.start = batch.walk_end;
        }
    }
    return ScanResult { builder.take(), builder.take_guards() };
}

Result<void> probe_pagemap_scan()
{
    auto pagemap = TRY(open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
    void* p = ::mmap(nullptr, 3 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return Error::from_errno("mmap");
    auto* bytes = static_cast<uint8_t volatile*>(p);
    bytes[kPage] = 1; // only the middle page exists
    ScanArea area { reinterpret_cast<uint64_t>(p), reinterpret_cast<uint64_t>(p) + 3 * kPage,
                    PageKeep::PresentOrSwapped };
    auto scan = scan_memory(pagemap, { &area, 1 }, GuardScan::Report);
    ::munmap(p, 3 * kPage);
    if (!scan)
        return scan.release_error();
    auto const& runs = scan->runs;
    if (runs.size() != 1 || runs[0].address != area.start + kPage || runs[0].pages != 1)
        return Error::format("ioctl PAGEMAP_SCAN: unexpected answer ({} runs)", runs.size());
    return {};
}

} // namespace cryo::sys
