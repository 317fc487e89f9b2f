// Dump side of pages.h, first step: which pages of a process go into the image (pagemap).
#include "checkpoint/pages.h"

#include <fcntl.h>

#include "sys/file.h"
#include "sys/remote_memory.h"

namespace cryo::checkpoint {

namespace {

constexpr uint64_t kPage = sys::kPageSize;

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

} // namespace cryo::checkpoint
