// Dump side of pages.h, first step: which pages of a process go into the image. The kernel
// selects them with PAGEMAP_SCAN (Linux 6.7) when it can; otherwise, and as the reference,
// pagemap entries are read and scanned here (select_pages). Both give the same runs, and the
// same guard pages (MADV_GUARD_INSTALL markers, which look swapped but hold nothing: reading
// one faults, so they are recorded per area instead of copied).
#include "checkpoint/pages.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <optional>

#include "base/log.h"
#include "checkpoint/test_hooks.h"
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

// Areas that can hold guard pages: every mapping of ours, not the kernel's vDSO/vvar/vsyscall.
// Shared mappings have guards but no page data (their contents are saved elsewhere).
bool may_have_guards(AreaKind kind)
{
    return dumps_pages(kind) || kind == AreaKind::SharedAnonymous || kind == AreaKind::FileShared;
}

void add_runs(PagePlan& plan, MemoryArea const& area, std::vector<PageRun> const& runs)
{
    for (auto const& r : runs) {
        plan.segments.push_back({ r.address, r.pages * kPage, area.read });
        plan.bytes += r.pages * kPage;
    }
    plan.runs.insert(plan.runs.end(), runs.begin(), runs.end());
}

// Appends a range to an area's ascending list of ranges, joining it to the last if adjacent.
template<typename Range>
void add_range(std::vector<Range>& to, uint64_t start, uint64_t end)
{
    if (!to.empty() && to.back().end == start)
        to.back().end = end;
    else
        to.push_back({ start, end });
}

constexpr uint64_t kPagemapChunkPages = 1 << 16;

Result<PagePlan> plan_from_pagemap(int pid, FdRef pagemap, std::vector<MemoryArea> const& areas)
{
    PagePlan plan;
    for (auto const& area : areas) {
        if (!may_have_guards(area.kind))
            continue;
        // The pagemap is read in bounded chunks (512 KiB of entries): an area can be a huge
        // reservation (ASan's shadow, a JVM or Go heap) whose whole pagemap would not fit.
        std::vector<PageRun> runs;
        std::vector<GuardRange> guards;
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
            for (auto const& g : select_guards(chunk, entries))
                add_range(guards, g.start, g.end);
        }
        add_runs(plan, area, runs);
        for (auto const& g : guards)
            plan.guards.push_back({ static_cast<size_t>(&area - areas.data()), g });
    }
    return plan;
}

// Whether PAGEMAP_SCAN works: learnt from the first plan of this cryo process (the probe is
// that plan's first ioctl), then kept.
enum class ScanSupport { Unknown, Yes, No };
std::atomic<ScanSupport> g_scan_support { ScanSupport::Unknown };
// Whether PAGEMAP_SCAN knows PAGE_IS_GUARD (Linux 6.15): a 6.7-6.14 kernel refuses the
// category with EINVAL, and is then asked without it (it cannot tell guards from swap).
std::atomic<bool> g_scan_guards { true };

// CRYO_PAGEMAP_SCAN=0 (test_hooks.h) plans from pagemap entries even where the kernel could scan.
bool scan_allowed()
{
    return test_hooks().pagemap_scan && g_scan_support.load() != ScanSupport::No;
}

// The plan by PAGEMAP_SCAN; nothing if this kernel cannot scan (the caller reads pagemap).
Result<std::optional<PagePlan>> plan_from_scan(int pid, FdRef pagemap, std::vector<MemoryArea> const& areas)
{
    std::vector<sys::ScanArea> scan_areas;
    std::vector<size_t> area_of; // scan_areas[i] is areas[area_of[i]]
    for (size_t i = 0; i < areas.size(); ++i) {
        auto const& a = areas[i];
        if (!may_have_guards(a.kind))
            continue;
        auto keep = a.kind == AreaKind::Anonymous ? sys::PageKeep::PresentOrSwapped
            : a.kind == AreaKind::FilePrivate     ? sys::PageKeep::CopiedOrSwapped
                                                  : sys::PageKeep::GuardsOnly;
        scan_areas.push_back({ a.start, a.end, keep });
        area_of.push_back(i);
    }
    auto runs
        = sys::scan_memory(pagemap, scan_areas, g_scan_guards.load() ? sys::GuardScan::Report : sys::GuardScan::Ignore);
    if (!runs && g_scan_guards.load() && runs.error().is_errno(EINVAL)) {
        runs = sys::scan_memory(pagemap, scan_areas, sys::GuardScan::Ignore);
        if (runs)
            g_scan_guards = false;
    }
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
    plan.runs.reserve(runs->runs.size());
    plan.segments.reserve(runs->runs.size());
    for (auto const& r : runs->runs) {
        plan.runs.push_back({ r.address, r.pages });
        plan.segments.push_back({ r.address, r.pages * kPage, areas[area_of[r.area]].read });
        plan.bytes += r.pages * kPage;
    }
    for (auto const& g : runs->guards)
        plan.guards.push_back({ area_of[g.area], { g.address, g.address + g.pages * kPage } });
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
        if (e & sys::kPagemapGuardRegion)
            continue; // a guard marker, shown swapped: nothing to copy (select_guards)
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

std::vector<GuardRange> select_guards(MemoryArea const& area, std::vector<uint64_t> const& pagemap)
{
    std::vector<GuardRange> guards;
    if (!may_have_guards(area.kind))
        return guards;
    for (size_t i = 0; i < pagemap.size(); ++i)
        if (pagemap[i] & sys::kPagemapGuardRegion)
            add_range(guards, area.start + i * kPage, area.start + (i + 1) * kPage);
    return guards;
}

void record_guards(std::vector<MemoryArea>& areas, PagePlan const& plan)
{
    for (auto& a : areas)
        a.guards.clear();
    for (auto const& [index, range] : plan.guards)
        areas.at(index).guards.push_back(range);
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
