// Dump side of pages.h, first step: which pages of a process go into the image. The kernel
// selects them with PAGEMAP_SCAN (Linux 6.7) when it can; otherwise, and as the reference,
// pagemap entries are read and scanned here (select_pages). Both give the same runs.
#include "checkpoint/pages.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <optional>

#include "base/log.h"
#include "sys/file.h"
#include "sys/pagemap_scan.h"
#include "sys/remote_memory.h"

namespace cryo::checkpoint {

namespace {

constexpr uint64_t kPage = sys::kPageSize;

bool dumps_pages(AreaKind kind)
{
    return kind == AreaKind::Anonymous || kind == AreaKind::FilePrivate;
}

void add_runs(PagePlan& plan, MemoryArea const& area, std::vector<PageRun> const& runs)
{
    for (auto const& r : runs) {
        plan.segments.push_back({ r.address, r.pages * kPage, area.read });
        plan.bytes += r.pages * kPage;
    }
    plan.runs.insert(plan.runs.end(), runs.begin(), runs.end());
}

constexpr uint64_t kPagemapChunkPages = 1 << 16;

Result<PagePlan> plan_from_pagemap(int pid, FdRef pagemap, std::vector<MemoryArea> const& areas)
{
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
            auto entries
                = TRY(sys::read_pagemap(pagemap, chunk.start, chunk.size() / kPage).context("process {}", pid));
            for (auto const& r : select_pages(chunk, entries)) {
                if (!runs.empty() && runs.back().address + runs.back().pages * kPage == r.address)
                    runs.back().pages += r.pages;
                else
                    runs.push_back(r);
            }
        }
        add_runs(plan, area, runs);
    }
    return plan;
}

// Whether PAGEMAP_SCAN works: learnt from the first plan of this cryo process (the probe is
// that plan's first ioctl), then kept.
enum class ScanSupport { Unknown, Yes, No };
std::atomic<ScanSupport> g_scan_support { ScanSupport::Unknown };

// CRYO_PAGEMAP_SCAN=0 plans from pagemap entries even where the kernel could scan (to measure
// both, and to compare them in one test process: read at every plan, not cached).
bool scan_allowed()
{
    char const* value = std::getenv("CRYO_PAGEMAP_SCAN");
    return !(value && std::strcmp(value, "0") == 0) && g_scan_support.load() != ScanSupport::No;
}

// The plan by PAGEMAP_SCAN; nothing if this kernel cannot scan (the caller reads pagemap).
Result<std::optional<PagePlan>> plan_from_scan(int pid, FdRef pagemap, std::vector<MemoryArea> const& areas)
{
    std::vector<sys::ScanArea> scan_areas;
    std::vector<size_t> area_of; // scan_areas[i] is areas[area_of[i]]
    for (size_t i = 0; i < areas.size(); ++i) {
        auto const& a = areas[i];
        if (!dumps_pages(a.kind))
            continue;
        auto keep = a.kind == AreaKind::Anonymous ? sys::PageKeep::PresentOrSwapped : sys::PageKeep::CopiedOrSwapped;
        scan_areas.push_back({ a.start, a.end, keep });
        area_of.push_back(i);
    }
    auto runs = sys::scan_pages(pagemap, scan_areas);
    if (!runs) {
        if (!sys::pagemap_scan_unsupported(runs.error()))
            return runs.release_error().add_context(fmt::format("process {}", pid));
        if (g_scan_support.load() != ScanSupport::Yes)
            g_scan_support = ScanSupport::No;
        log::debug("plan pages of {}: {}; reading pagemap instead", pid, runs.error().message());
        return std::optional<PagePlan> {};
    }
    g_scan_support = ScanSupport::Yes;
    PagePlan plan;
    plan.runs.reserve(runs->size());
    plan.segments.reserve(runs->size());
    for (auto const& r : *runs) {
        plan.runs.push_back({ r.address, r.pages });
        plan.segments.push_back({ r.address, r.pages * kPage, areas[area_of[r.area]].read });
        plan.bytes += r.pages * kPage;
    }
    return std::optional<PagePlan> { std::move(plan) };
}

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
    if (scan_allowed())
        if (auto plan = TRY(plan_from_scan(pid, pagemap, areas)))
            return std::move(*plan);
    return plan_from_pagemap(pid, pagemap, areas);
}

} // namespace cryo::checkpoint
