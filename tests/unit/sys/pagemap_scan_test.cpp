#include <gtest/gtest.h>

#include <cstdlib>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sys/file.h"
#include "sys/pagemap_scan.h"

using namespace cryo;
using namespace cryo::sys;

namespace {

constexpr uint64_t P = 4096;
constexpr uint64_t kPresent = kPageIsPresent;
constexpr uint64_t kSwapped = kPageIsSwapped;
constexpr uint64_t kFile = kPageIsFile;

ScanArea anon(uint64_t start, uint64_t end)
{
    return { start, end, PageKeep::PresentOrSwapped };
}
ScanArea file(uint64_t start, uint64_t end)
{
    return { start, end, PageKeep::CopiedOrSwapped };
}

// Runs the builder over the walks of `areas`, feeding each walk the regions of `regions`
// that lie in it, `batch` regions per add() call (as a bounded buffer would return them).
std::vector<ScanRun> build(std::vector<ScanArea> const& areas, std::vector<PageRegion> const& regions, size_t batch)
{
    ScanRunBuilder builder(areas);
    for (auto const& walk : plan_scan_walks(areas)) {
        builder.begin(walk);
        std::vector<PageRegion> mine;
        for (auto const& r : regions)
            if (r.start < walk.end && r.end > walk.start)
                mine.push_back({ std::max(r.start, walk.start), std::min(r.end, walk.end), r.categories });
        for (size_t i = 0; i < mine.size(); i += batch)
            builder.add({ mine.data() + i, std::min(batch, mine.size() - i) });
    }
    return builder.take();
}

// Private anonymous memory of this test, unmapped at the end.
struct Map {
    explicit Map(size_t pages, int prot = PROT_READ | PROT_WRITE, int flags = 0)
        : size(pages * P)
    {
        void* p = ::mmap(nullptr, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
        if (p == MAP_FAILED)
            std::abort();
        data = static_cast<uint8_t*>(p);
    }
    ~Map() { ::munmap(data, size); }
    Map(Map const&) = delete;
    Map& operator=(Map const&) = delete;
    // SAFETY: an address of our own mapping, only compared and handed to the kernel's walk.
    uint64_t address(uint64_t page = 0) const { return reinterpret_cast<uint64_t>(data) + page * P; }
    uint8_t* data;
    size_t size;
};

} // namespace

namespace cryo::sys {
void PrintTo(ScanRun const& r, std::ostream* out)
{
    *out << "{area " << r.area << ", 0x" << std::hex << r.address << std::dec << ", " << r.pages << " pages}";
}
} // namespace cryo::sys

TEST(PagemapScan, KeepsLikePagemapSelection)
{
    EXPECT_TRUE(keeps(PageKeep::PresentOrSwapped, kPresent));
    EXPECT_TRUE(keeps(PageKeep::PresentOrSwapped, kSwapped));
    EXPECT_TRUE(keeps(PageKeep::PresentOrSwapped, kPresent | kFile)); // the file bit: irrelevant here
    EXPECT_FALSE(keeps(PageKeep::PresentOrSwapped, 0));
    EXPECT_TRUE(keeps(PageKeep::CopiedOrSwapped, kPresent)); // written: an anonymous copy
    EXPECT_FALSE(keeps(PageKeep::CopiedOrSwapped, kPresent | kFile)); // still the file's page
    EXPECT_TRUE(keeps(PageKeep::CopiedOrSwapped, kSwapped));
    EXPECT_TRUE(keeps(PageKeep::CopiedOrSwapped, kSwapped | kFile)); // a file page under migration
    EXPECT_FALSE(keeps(PageKeep::CopiedOrSwapped, 0));
}

TEST(PagemapScan, WalksJoinAdjacentAreasKeptAlike)
{
    std::vector<ScanArea> areas = {
        anon(0x10000, 0x20000), anon(0x20000, 0x30000), // adjacent, same keep: same walk
        file(0x30000, 0x31000), // adjacent, other keep: new walk
        file(0x31000, 0x32000), file(0x40000, 0x40000), // empty: skipped, and it ends the walk above
        file(0x32000, 0x33000), // adjacent to the last walk's end, but not after it in the list
        anon(0x50000, 0x51000), // a gap before it
        anon(0x51000, 0x52000),
    };
    auto walks = plan_scan_walks(areas);
    ASSERT_EQ(walks.size(), 4u);
    EXPECT_EQ(walks[0].start, 0x10000u);
    EXPECT_EQ(walks[0].end, 0x30000u);
    EXPECT_EQ(walks[0].first, 0u);
    EXPECT_EQ(walks[0].count, 2u);
    EXPECT_EQ(walks[1].start, 0x30000u);
    EXPECT_EQ(walks[1].end, 0x32000u);
    EXPECT_EQ(walks[1].keep, PageKeep::CopiedOrSwapped);
    EXPECT_EQ(walks[1].count, 2u);
    EXPECT_EQ(walks[2].first, 5u);
    EXPECT_EQ(walks[2].count, 1u);
    EXPECT_EQ(walks[3].start, 0x50000u);
    EXPECT_EQ(walks[3].end, 0x52000u);
    EXPECT_EQ(walks[3].first, 6u);
    EXPECT_EQ(walks[3].count, 2u);

    // Descending areas (any order is allowed): never joined, one walk each.
    std::vector<ScanArea> down = { anon(0x20000, 0x30000), anon(0x10000, 0x20000) };
    EXPECT_EQ(plan_scan_walks(down).size(), 2u);
    EXPECT_TRUE(plan_scan_walks({}).empty());
}

TEST(PagemapScan, QueryAsksFileOnlyForFileMappings)
{
    ScanWalk w { 0x10000, 0x20000, PageKeep::PresentOrSwapped, 0, 1 };
    auto q = scan_query(w);
    EXPECT_EQ(q.start, 0x10000u);
    EXPECT_EQ(q.end, 0x20000u);
    EXPECT_EQ(q.any_of, kPresent | kSwapped);
    EXPECT_EQ(q.all, 0u);
    EXPECT_EQ(q.returned & kFile, 0u);
    w.keep = PageKeep::CopiedOrSwapped;
    EXPECT_NE(scan_query(w).returned & kFile, 0u);
}

TEST(PagemapScan, RegionsAreCutAtAreaBoundariesAndNeverJoinedAcrossAreas)
{
    // Three anonymous areas back to back (one walk); a region spans all three.
    std::vector<ScanArea> areas = { anon(0x10000, 0x14000), anon(0x14000, 0x15000), anon(0x15000, 0x20000) };
    std::vector<PageRegion> regions = { { 0x11000, 0x17000, kPresent }, { 0x19000, 0x1a000, kPresent } };
    for (size_t batch : { 1, 2 }) {
        auto runs = build(areas, regions, batch);
        std::vector<ScanRun> want = {
            { 0, 0x11000, 3 },
            { 1, 0x14000, 1 },
            { 2, 0x15000, 2 },
            { 2, 0x19000, 1 },
        };
        EXPECT_EQ(runs, want) << "batch " << batch;
    }
}

TEST(PagemapScan, RegionsContinuingARunExtendIt)
{
    std::vector<ScanArea> areas = { anon(0x10000, 0x30000) };
    // Split by categories the keep does not care about (present, then swapped), and by the
    // end of a batch (the kernel resumes at walk_end with the next region).
    std::vector<PageRegion> regions = {
        { 0x10000, 0x12000, kPresent },
        { 0x12000, 0x13000, kSwapped },
        { 0x13000, 0x15000, kPresent },
        { 0x16000, 0x17000, kPresent },
    };
    for (size_t batch : { 1, 3, 8 }) {
        std::vector<ScanRun> want = { { 0, 0x10000, 5 }, { 0, 0x16000, 1 } };
        EXPECT_EQ(build(areas, regions, batch), want) << "batch " << batch;
    }
}

TEST(PagemapScan, FileMappingsKeepOnlyCopiedOrSwappedPages)
{
    // A library's segments: two file areas back to back, then its bss (anonymous).
    std::vector<ScanArea> areas = { file(0x10000, 0x18000), file(0x18000, 0x20000), anon(0x20000, 0x22000) };
    std::vector<PageRegion> regions
        = {
              { 0x10000, 0x13000, kPresent | kFile }, // read only: still the file's
              { 0x13000, 0x15000, kPresent }, // written
              { 0x15000, 0x17000, kPresent | kFile },
              { 0x17000, 0x19000, kPresent }, // written, across the boundary: two runs
              { 0x19000, 0x1a000, kSwapped | kFile },
              { 0x1a000, 0x1b000, kSwapped },
              { 0x1b000, 0x1c000, kPresent | kFile },
              { 0x1c000, 0x1d000, kPresent },
              { 0x20000, 0x22000, kPresent },
          };
    std::vector<ScanRun> want = {
        { 0, 0x13000, 2 }, { 0, 0x17000, 1 },
        { 1, 0x18000, 3 }, // written, then swapped (a file page under migration too)
        { 1, 0x1c000, 1 }, { 2, 0x20000, 2 },
    };
    EXPECT_EQ(build(areas, regions, 2), want);
}

TEST(PagemapScan, RunsFollowTheListOrderOfAreas)
{
    // Areas listed high to low: each its own walk, runs in list order.
    std::vector<ScanArea> areas = { anon(0x30000, 0x32000), anon(0x10000, 0x12000) };
    std::vector<PageRegion> regions = { { 0x10000, 0x11000, kPresent }, { 0x31000, 0x32000, kPresent } };
    std::vector<ScanRun> want = { { 0, 0x31000, 1 }, { 1, 0x10000, 1 } };
    EXPECT_EQ(build(areas, regions, 4), want);
}

// The real ioctl on our own memory: a sparse area needs many regions; whatever the buffer
// size, the runs are the same.
TEST(PagemapScan, SparseAreaWithABoundedBuffer)
{
    if (!probe_pagemap_scan())
        GTEST_SKIP() << "no PAGEMAP_SCAN on this kernel";
    Map m(1024); // 4 MiB
    for (uint64_t page = 0; page < 512; page += 2)
        m.data[page * P] = 1; // every other page of the first half: 256 regions
    for (uint64_t page = 700; page < 720; ++page)
        m.data[page * P] = 2; // one run
    auto pagemap = MUST(sys::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
    ScanArea area = anon(m.address(), m.address(1024));
    std::vector<ScanRun> want;
    for (uint64_t page = 0; page < 512; page += 2)
        want.push_back({ 0, m.address(page), 1 });
    want.push_back({ 0, m.address(700), 20 });
    for (size_t max : { 1, 3, 64, 255, 256, 257, 4096 }) {
        auto scan = scan_memory(pagemap, { &area, 1 }, GuardScan::Report, max);
        ASSERT_TRUE(scan) << scan.error().message();
        EXPECT_EQ(scan->runs, want) << "max_regions " << max;
    }
}

// A walk over areas back to back with different protections (separate VMAs): the ioctl
// returns one region across them, the runs are cut at the boundary.
TEST(PagemapScan, LiveRegionsCutAtVmaBoundaries)
{
    if (!probe_pagemap_scan())
        GTEST_SKIP() << "no PAGEMAP_SCAN on this kernel";
    Map m(16);
    for (uint64_t page = 2; page < 12; ++page)
        m.data[page * P] = 1;
    ASSERT_EQ(::mprotect(m.data + 8 * P, 8 * P, PROT_READ), 0);
    auto pagemap = MUST(sys::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
    std::vector<ScanArea> areas = { anon(m.address(), m.address(8)), anon(m.address(8), m.address(16)) };
    auto scan = scan_memory(pagemap, areas, GuardScan::Report, 1);
    ASSERT_TRUE(scan) << scan.error().message();
    std::vector<ScanRun> want = { { 0, m.address(2), 6 }, { 1, m.address(8), 4 } };
    EXPECT_EQ(scan->runs, want);
}

// A private file mapping: only written pages are kept, not the ones only read.
TEST(PagemapScan, LivePrivateFileMappingKeepsWrittenPages)
{
    if (!probe_pagemap_scan())
        GTEST_SKIP() << "no PAGEMAP_SCAN on this kernel";
    char path[] = "/tmp/cryo-unit-pagemap-XXXXXX";
    int raw = ::mkstemp(path);
    ASSERT_GE(raw, 0);
    Fd fd(raw);
    ::unlink(path);
    std::vector<uint8_t> content(8 * P, 7);
    ASSERT_EQ(::write(fd.get(), content.data(), content.size()), static_cast<ssize_t>(content.size()));
    void* p = ::mmap(nullptr, 8 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd.get(), 0);
    ASSERT_NE(p, MAP_FAILED);
    auto* bytes = static_cast<uint8_t volatile*>(p);
    unsigned sum = 0;
    for (uint64_t page = 0; page < 8; ++page)
        sum += bytes[page * P]; // every page present, the file's
    EXPECT_EQ(sum, 8u * 7);
    bytes[2 * P] = 1;
    bytes[3 * P] = 1;
    bytes[6 * P] = 1;
    uint64_t start = reinterpret_cast<uint64_t>(p);
    auto pagemap = MUST(sys::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
    ScanArea area = file(start, start + 8 * P);
    auto scan = scan_memory(pagemap, { &area, 1 }, GuardScan::Report, 2);
    ::munmap(p, 8 * P);
    ASSERT_TRUE(scan) << scan.error().message();
    std::vector<ScanRun> want = { { 0, start + 2 * P, 2 }, { 0, start + 6 * P, 1 } };
    EXPECT_EQ(scan->runs, want);
}

TEST(PagemapScan, BadRangeIsAnErrorNamingTheRange)
{
    if (!probe_pagemap_scan())
        GTEST_SKIP() << "no PAGEMAP_SCAN on this kernel";
    auto pagemap = MUST(sys::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
    PageRegion out[1];
    PagemapScanQuery q;
    q.start = 0x10001; // not page aligned: EINVAL
    q.end = 0x20000;
    q.any_of = kPresent;
    auto r = pagemap_scan(pagemap, q, out);
    ASSERT_FALSE(r);
    EXPECT_TRUE(pagemap_scan_unsupported(r.error()));
    EXPECT_NE(r.error().message().find("ioctl PAGEMAP_SCAN 0x10001-0x20000"), std::string::npos) << r.error().message();
    // Not a pagemap fd: ENOTTY, as on a kernel without the ioctl.
    auto other = MUST(sys::open("/proc/self/status", O_RDONLY | O_CLOEXEC));
    q.start = 0x10000;
    auto not_pagemap = pagemap_scan(other, q, out);
    ASSERT_FALSE(not_pagemap);
    EXPECT_TRUE(not_pagemap.error().is_errno(ENOTTY)) << not_pagemap.error().message();
}

// Guard pages (MADV_GUARD_INSTALL) look swapped; with PAGE_IS_GUARD they are never kept, and
// the builder collects them apart, cut at area boundaries and joined like runs.
TEST(PagemapScan, GuardRegionsAreNotKeptButCollected)
{
    EXPECT_FALSE(keeps(PageKeep::PresentOrSwapped, kSwapped | kPageIsGuard));
    EXPECT_FALSE(keeps(PageKeep::CopiedOrSwapped, kSwapped | kPageIsGuard));
    ScanWalk w { 0x10000, 0x20000, PageKeep::PresentOrSwapped, 0, 1 };
    EXPECT_NE(scan_query(w).returned & kPageIsGuard, 0u); // splits guards off from real swap
    EXPECT_EQ(scan_query(w, GuardScan::Ignore).returned & kPageIsGuard, 0u); // before 6.15: EINVAL
    EXPECT_FALSE(keeps(PageKeep::GuardsOnly, kPresent));
    EXPECT_FALSE(keeps(PageKeep::GuardsOnly, kSwapped));
    w.keep = PageKeep::GuardsOnly; // a shared mapping: only its guard pages match
    EXPECT_EQ(scan_query(w).all, kPageIsGuard);
    EXPECT_EQ(scan_query(w).any_of, 0u);
    w.keep = PageKeep::PresentOrSwapped;

    std::vector<ScanArea> areas = { anon(0x10000, 0x14000), anon(0x14000, 0x18000) };
    std::vector<PageRegion> regions = {
        { 0x10000, 0x11000, kPresent },
        { 0x11000, 0x12000, kSwapped | kPageIsGuard },
        { 0x12000, 0x13000, kSwapped },
        { 0x13000, 0x15000, kSwapped | kPageIsGuard }, // spans both areas
        { 0x15000, 0x16000, kSwapped | kPageIsGuard }, // continues the guard of area 1
    };
    for (size_t batch : { 1, 2, 5 }) {
        ScanRunBuilder builder(areas);
        for (auto const& walk : plan_scan_walks(areas)) {
            builder.begin(walk);
            for (size_t i = 0; i < regions.size(); i += batch)
                builder.add({ regions.data() + i, std::min(batch, regions.size() - i) });
        }
        EXPECT_EQ(builder.take(), (std::vector<ScanRun> { { 0, 0x10000, 1 }, { 0, 0x12000, 1 } })) << batch;
        EXPECT_EQ(builder.take_guards(),
                  (std::vector<ScanRun> { { 0, 0x11000, 1 }, { 0, 0x13000, 1 }, { 1, 0x14000, 2 } }))
            << batch;
    }
}

// The real ioctl on guard pages of our own: over written pages and untouched ones, at both
// edges, whatever the buffer size; never among the runs.
TEST(PagemapScan, LiveGuardPages)
{
    if (!probe_pagemap_scan())
        GTEST_SKIP() << "no PAGEMAP_SCAN on this kernel";
    Map m(32);
    for (uint64_t page = 0; page < 8; ++page)
        m.data[page * P] = 1;
    if (::madvise(m.data, P, kMadvGuardInstall) != 0)
        GTEST_SKIP() << "no MADV_GUARD_INSTALL on this kernel";
    ASSERT_EQ(::madvise(m.data + 4 * P, 2 * P, kMadvGuardInstall), 0);
    ASSERT_EQ(::madvise(m.data + 20 * P, P, kMadvGuardInstall), 0);
    ASSERT_EQ(::madvise(m.data + 31 * P, P, kMadvGuardInstall), 0);
    auto pagemap = MUST(sys::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
    ScanArea area = anon(m.address(), m.address(32));
    std::vector<ScanRun> runs = { { 0, m.address(1), 3 }, { 0, m.address(6), 2 } };
    std::vector<ScanRun> guards
        = { { 0, m.address(0), 1 }, { 0, m.address(4), 2 }, { 0, m.address(20), 1 }, { 0, m.address(31), 1 } };
    for (size_t max : { 1, 2, 1024 }) {
        auto r = scan_memory(pagemap, { &area, 1 }, GuardScan::Report, max);
        ASSERT_TRUE(r) << r.error().message();
        EXPECT_EQ(r->runs, runs) << "max_regions " << max;
        EXPECT_EQ(r->guards, guards) << "max_regions " << max;
    }
    // A shared mapping, GuardsOnly: its written pages are no runs, its guard is reported.
    auto* shared
        = static_cast<uint8_t*>(::mmap(nullptr, 4 * P, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(shared, MAP_FAILED);
    for (uint64_t page = 0; page < 4; ++page)
        shared[page * P] = 1;
    ASSERT_EQ(::madvise(shared + P, P, kMadvGuardInstall), 0);
    // SAFETY: an address of our own mapping, only compared and handed to the kernel's walk.
    auto const at = reinterpret_cast<uint64_t>(shared);
    ScanArea guards_only { at, at + 4 * P, PageKeep::GuardsOnly };
    auto s = scan_memory(pagemap, { &guards_only, 1 }, GuardScan::Report, 1);
    ASSERT_TRUE(s) << s.error().message();
    EXPECT_TRUE(s->runs.empty());
    EXPECT_EQ(s->guards, (std::vector<ScanRun> { { 0, at + P, 1 } }));
    auto ignored = scan_memory(pagemap, { &guards_only, 1 }, GuardScan::Ignore, 1);
    ASSERT_TRUE(ignored) << ignored.error().message();
    EXPECT_TRUE(ignored->guards.empty() && ignored->runs.empty()); // not even asked
    ::munmap(shared, 4 * P);

    // The pagemap bit of the same pages (PM_GUARD_REGION), set with "swapped".
    for (uint64_t page = 0; page < 32; ++page) {
        uint64_t entry = 0;
        ASSERT_EQ(::pread(pagemap.get(), &entry, 8, static_cast<off_t>(m.address(page) / P * 8)), 8);
        bool guard = page == 0 || page == 4 || page == 5 || page == 20 || page == 31;
        EXPECT_EQ((entry & kPagemapGuardRegion) != 0, guard) << page;
        if (guard) {
            EXPECT_NE(entry & (1ULL << 62), 0u) << page;
        }
    }
}
