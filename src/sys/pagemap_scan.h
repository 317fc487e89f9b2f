// PAGEMAP_SCAN (Linux 6.7) on a /proc/PID/pagemap fd: the kernel walks the page tables and
// returns ranges of pages by category (present, swapped, file...), where reading pagemap costs
// 8 bytes per page and a scan in user space. Regions come back in address order, never
// overlapping, inside [start, end) of the query; a walk that fills the caller's bounded buffer
// stops at walk_end and is resumed from there, so a huge sparse area needs no big buffer.
// The pure part (plan_scan_walks, ScanRunBuilder) turns regions into runs of pages to keep,
// per area: cut at area boundaries, joined across regions and batches, never across areas.
// The choice of pages is the one pagemap entries give (checkpoint's select_pages). Guard pages
// (MADV_GUARD_INSTALL) look swapped to a kernel that cannot say otherwise; from Linux 6.15 they
// carry PAGE_IS_GUARD, are never kept, and are reported apart.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "base/error.h"
#include "base/fd.h"

namespace cryo::sys {

// Categories, from include/uapi/linux/fs.h (Debian 12's kernel headers predate them).
inline constexpr uint64_t kPageIsWpAllowed = 1 << 0;
inline constexpr uint64_t kPageIsWritten = 1 << 1;
inline constexpr uint64_t kPageIsFile = 1 << 2;
inline constexpr uint64_t kPageIsPresent = 1 << 3;
inline constexpr uint64_t kPageIsSwapped = 1 << 4;
inline constexpr uint64_t kPageIsPfnZero = 1 << 5;
inline constexpr uint64_t kPageIsHuge = 1 << 6;
inline constexpr uint64_t kPageIsSoftDirty = 1 << 7;
inline constexpr uint64_t kPageIsGuard = 1 << 8; // Linux 6.15; also reported swapped
// The matching bit of a /proc/PID/pagemap entry (PM_GUARD_REGION, Linux 6.15; bit 62, swapped,
// is set with it).
inline constexpr uint64_t kPagemapGuardRegion = 1ULL << 58;

// madvise(2) advice for guard pages (Linux 6.13; Debian 12's headers predate them).
inline constexpr int kMadvGuardInstall = 102;
inline constexpr int kMadvGuardRemove = 103;

// struct page_region: [start, end) with the categories kept by the query's return_mask.
struct PageRegion {
    uint64_t start { 0 };
    uint64_t end { 0 };
    uint64_t categories { 0 };
};

// A page matches when it has every category of `all`, and at least one of `any_of` (if
// not 0), after the categories of `inverted` are flipped; see pagemap.rst, PAGEMAP_SCAN.
struct PagemapScanQuery {
    uint64_t start { 0 }; // page aligned
    uint64_t end { 0 };
    uint64_t all { 0 };
    uint64_t any_of { 0 };
    uint64_t inverted { 0 };
    uint64_t returned { 0 }; // categories reported in each region (and that split regions)
};

struct PagemapScanBatch {
    size_t regions { 0 }; // filled at the front of the buffer
    uint64_t walk_end { 0 }; // where the walk stopped; query.end once the walk is done
};

// One ioctl: matching regions of [query.start, query.end) into `out`, at most out.size().
Result<PagemapScanBatch> pagemap_scan(FdRef pagemap, PagemapScanQuery const& query, std::span<PageRegion> out);

// Whether an error of pagemap_scan means this kernel has no PAGEMAP_SCAN (ENOTTY before 6.7)
// or refuses the categories asked for (EINVAL): the caller reads pagemap instead.
bool pagemap_scan_unsupported(Error const& error);

// Which pages of an area are kept, by kind of memory (checkpoint's select_pages).
enum class PageKeep {
    PresentOrSwapped, // private anonymous memory: every page that exists
    CopiedOrSwapped, // private file mapping: pages the process wrote (anonymous copies: present
                     // and not file pages), or swapped; a page still backed by the file is not
    GuardsOnly, // shared mapping: its contents are saved elsewhere; only its guard pages
};

// Pure: whether a region with `categories` (of a scan_query's walk) is kept. A guard page never is.
bool keeps(PageKeep keep, uint64_t categories);

struct ScanArea {
    uint64_t start { 0 };
    uint64_t end { 0 };
    PageKeep keep { PageKeep::PresentOrSwapped };
};

// Pages to keep in areas[area]: [address, address + pages * 4096).
struct ScanRun {
    size_t area { 0 };
    uint64_t address { 0 };
    uint64_t pages { 0 };

    bool operator==(ScanRun const&) const = default;
};

// One walk of the kernel: areas [first, first + count) of the list, back to back in memory
// and kept alike, covering [start, end).
struct ScanWalk {
    uint64_t start { 0 };
    uint64_t end { 0 };
    PageKeep keep { PageKeep::PresentOrSwapped };
    size_t first { 0 };
    size_t count { 0 };
};

// Whether a scan asks for PAGE_IS_GUARD: a kernel before 6.15 refuses it (EINVAL), and then
// has no guards to report, or none it can tell from swapped pages (GuardsOnly walks are then
// skipped).
enum class GuardScan { Report, Ignore };

// Pure: the walks for `areas` (in any order; empty areas are skipped), in list order. Areas
// that follow each other in the list and in memory with the same keep share one walk (the
// segments of one library, a heap after its bss): fewer ioctls.
std::vector<ScanWalk> plan_scan_walks(std::span<ScanArea const> areas);

// Pure: the query of one walk. Only the categories the keep needs are asked: PAGE_IS_FILE makes
// the kernel look at every present page's struct page, which anonymous areas do not need.
PagemapScanQuery scan_query(ScanWalk const& walk, GuardScan guards = GuardScan::Report);

// Pure: collects the runs of walk after walk, from their regions in batches as the bounded
// buffer returns them. Runs are in walk order, ascending within an area; a region spanning
// areas is cut at their boundaries; regions that continue a run (across a batch, or split by
// categories the keep does not care about) extend it. Guard regions are collected the same
// way, apart (guards()).
class ScanRunBuilder {
public:
    explicit ScanRunBuilder(std::span<ScanArea const> areas)
        : m_areas(areas)
    {
    }
    void begin(ScanWalk const& walk);
    // Regions of the current walk, ascending, after those of earlier batches.
    void add(std::span<PageRegion const> regions);
    std::vector<ScanRun> take() { return std::move(m_runs); }
    std::vector<ScanRun> take_guards() { return std::move(m_guards); }

private:
    void add_cut(std::vector<ScanRun>& to, PageRegion const& region);
    static void append(std::vector<ScanRun>& to, size_t area, uint64_t start, uint64_t end);

    std::span<ScanArea const> m_areas;
    ScanWalk m_walk;
    size_t m_at { 0 }; // the area the next region may start in
    std::vector<ScanRun> m_runs;
    std::vector<ScanRun> m_guards;
};

// The runs of every area of a stopped process, walk by walk, with at most `max_regions`
// regions buffered at once (a sparse area takes several ioctls, never a bigger buffer), and
// the guard pages of each area apart (GuardScan::Ignore: none asked for).
struct ScanResult {
    std::vector<ScanRun> runs;
    std::vector<ScanRun> guards;
};
Result<ScanResult> scan_memory(FdRef pagemap, std::span<ScanArea const> areas, GuardScan guards,
                               size_t max_regions = 1024);

// Whether PAGEMAP_SCAN works on this kernel, asked of our own pagemap (cryo check).
Result<void> probe_pagemap_scan();

} // namespace cryo::sys
