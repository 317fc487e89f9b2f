// plan_pages by PAGEMAP_SCAN against plan_pages by pagemap entries (select_pages, the
// reference), on a real child process with a mix of areas: both give exactly the same runs,
// and the same guard pages (MADV_GUARD_INSTALL), which are never runs.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fcntl.h>
#include <set>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "checkpoint/pages.h"
#include "checkpoint/test_hooks.h"
#include "sys/file.h"
#include "sys/pagemap_scan.h"
#include "sys/process.h"
#include "sys/procfs.h"
#include "sys/remote_memory.h"

using namespace cryo;
using namespace cryo::checkpoint;

namespace {

constexpr uint64_t P = 4096;

// Where the child put its areas (sent back over a pipe).
struct Layout {
    uint64_t anon; // 64 pages, some touched; pages [16, 32) read-only (a VMA of their own)
    uint64_t zero; // 8 pages, 4 only read (the zero page)
    uint64_t none; // 8 pages, 2 written, then all PROT_NONE
    uint64_t thp; // 2 MiB aligned, MADV_HUGEPAGE, every page written
    uint64_t file; // 16 pages of a file, MAP_PRIVATE, all read, 5 written; [8, 16) read-only
    uint64_t shared; // 4 pages MAP_SHARED|MAP_ANONYMOUS, written (not dumped); page 2 a guard
    uint64_t sparse; // 256 MiB reserved, every other page of the first 2 MiB written + the last
    uint64_t guard; // 16 pages, 0-5 written, then guards on 0, 3-4, 7 and 15 (and on file page 12)
    bool guards { false }; // the kernel has MADV_GUARD_INSTALL (Linux 6.13)
};

constexpr uint64_t kThpSize = 2 << 20;
constexpr uint64_t kSparseSize = 256 << 20;

void* map(size_t size, int prot, int flags, int fd = -1)
{
    void* p = ::mmap(nullptr, size, prot, flags, fd, 0);
    if (p == MAP_FAILED)
        ::_exit(10);
    return p;
}

// The child: builds the areas, reports them, and waits (without touching memory) until
// `hold` is closed.
[[noreturn]] void child_main(int file_fd, int report, int hold)
{
    Layout l {};
    auto* anon = static_cast<uint8_t*>(map(64 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS));
    for (int page : { 0, 1, 2, 5, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 63 })
        anon[page * P] = 1;
    ::mprotect(anon + 16 * P, 16 * P, PROT_READ); // cuts the run 10..20 at page 16
    l.anon = reinterpret_cast<uint64_t>(anon);

    auto* zero = static_cast<uint8_t volatile*>(map(8 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS));
    unsigned sum = 0;
    for (int page = 0; page < 4; ++page)
        sum += zero[page * P];
    l.zero = reinterpret_cast<uint64_t>(zero);

    auto* none = static_cast<uint8_t*>(map(8 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS));
    none[1 * P] = 1;
    none[2 * P] = 1;
    ::mprotect(none, 8 * P, PROT_NONE);
    l.none = reinterpret_cast<uint64_t>(none);

    auto* reserve = static_cast<uint8_t*>(map(2 * kThpSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS));
    auto* thp = reinterpret_cast<uint8_t*>((reinterpret_cast<uint64_t>(reserve) + kThpSize - 1) & ~(kThpSize - 1));
    ::madvise(thp, kThpSize, MADV_HUGEPAGE);
    // Every page written: khugepaged has nothing left to collapse while the test compares.
    for (uint64_t off = 0; off < kThpSize; off += P)
        thp[off] = 1;
    l.thp = reinterpret_cast<uint64_t>(thp);

    auto* file = static_cast<uint8_t*>(map(16 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE, file_fd));
    for (int page = 0; page < 16; ++page)
        sum += static_cast<uint8_t volatile*>(file)[page * P];
    for (int page : { 3, 4, 7, 8, 10 })
        file[page * P] = 1;
    ::mprotect(file + 8 * P, 8 * P, PROT_READ); // cuts the run 7..8 at page 8
    if (sum != 16 * 3)
        ::_exit(12);
    l.file = reinterpret_cast<uint64_t>(file);

    auto* shared = static_cast<uint8_t*>(map(4 * P, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS));
    for (int page = 0; page < 4; ++page)
        shared[page * P] = 1;
    l.shared = reinterpret_cast<uint64_t>(shared);

    auto* sparse
        = static_cast<uint8_t*>(map(kSparseSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE));
    for (uint64_t off = 0; off < kThpSize; off += 2 * P)
        sparse[off] = 1;
    sparse[kSparseSize - P] = 1;
    l.sparse = reinterpret_cast<uint64_t>(sparse);

    // Guard pages at the edges and in the middle, over written pages and untouched ones, next
    // to written pages; and one in the private file mapping's read-only half (a file page).
    auto* guard = static_cast<uint8_t*>(map(16 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS));
    for (int page = 0; page < 6; ++page)
        guard[page * P] = 1;
    l.guard = reinterpret_cast<uint64_t>(guard);
    l.guards = ::madvise(guard, P, sys::kMadvGuardInstall) == 0;
    if (l.guards
        && (::madvise(guard + 3 * P, 2 * P, sys::kMadvGuardInstall) != 0
            || ::madvise(guard + 7 * P, P, sys::kMadvGuardInstall) != 0
            || ::madvise(guard + 15 * P, P, sys::kMadvGuardInstall) != 0
            || ::madvise(file + 12 * P, P, sys::kMadvGuardInstall) != 0
            || ::madvise(shared + 2 * P, P, sys::kMadvGuardInstall) != 0))
        ::_exit(13);

    if (::write(report, &l, sizeof l) != static_cast<ssize_t>(sizeof l))
        ::_exit(11);
    char c;
    while (::read(hold, &c, 1) > 0) { }
    ::_exit(0);
}

AreaKind kind_of(sys::MapsEntry const& m)
{
    if (m.path == "[vdso]")
        return AreaKind::Vdso;
    if (m.path == "[vvar]")
        return AreaKind::Vvar;
    if (m.path == "[vvar_vclock]")
        return AreaKind::VvarVclock;
    if (m.path == "[vsyscall]")
        return AreaKind::Vsyscall;
    if (m.shared)
        return m.inode != 0 && m.path.starts_with("/dev/zero") ? AreaKind::SharedAnonymous : AreaKind::FileShared;
    if (m.inode != 0 && !m.path.empty() && m.path[0] == '/')
        return AreaKind::FilePrivate;
    return AreaKind::Anonymous;
}

std::vector<MemoryArea> areas_of(pid_t pid)
{
    std::vector<MemoryArea> areas;
    for (auto const& m : MUST(sys::read_maps(pid))) {
        MemoryArea a;
        a.start = m.start;
        a.end = m.end;
        a.read = m.read;
        a.write = m.write;
        a.exec = m.exec;
        a.name = m.path;
        a.kind = kind_of(m);
        areas.push_back(a);
    }
    return areas;
}

// The reference: every area's pagemap entries through select_pages, one area at a time.
std::vector<PageRun> reference_runs(pid_t pid, std::vector<MemoryArea> const& areas)
{
    auto pagemap = MUST(sys::open(fmt::format("/proc/{}/pagemap", pid), O_RDONLY | O_CLOEXEC));
    std::vector<PageRun> runs;
    for (auto const& a : areas) {
        if (a.kind != AreaKind::Anonymous && a.kind != AreaKind::FilePrivate)
            continue; // select_pages keeps nothing of them ([vsyscall] has no pagemap)
        auto entries = MUST(sys::read_pagemap(pagemap, a.start, a.size() / P));
        auto r = select_pages(a, entries);
        runs.insert(runs.end(), r.begin(), r.end());
    }
    return runs;
}

// The reference's guard pages: select_guards over every area's pagemap entries.
std::vector<GuardRange> reference_guards(pid_t pid, std::vector<MemoryArea> const& areas)
{
    auto pagemap = MUST(sys::open(fmt::format("/proc/{}/pagemap", pid), O_RDONLY | O_CLOEXEC));
    std::vector<GuardRange> guards;
    for (auto const& a : areas) {
        if (a.kind == AreaKind::Vdso || a.kind == AreaKind::Vvar || a.kind == AreaKind::VvarVclock
            || a.kind == AreaKind::Vsyscall)
            continue; // the kernel's ([vsyscall] has no pagemap)
        auto g = select_guards(a, MUST(sys::read_pagemap(pagemap, a.start, a.size() / P)));
        guards.insert(guards.end(), g.begin(), g.end());
    }
    return guards;
}

// A plan's guard ranges in address order, each checked to lie inside the area it names.
std::vector<GuardRange> guards_of(PagePlan const& plan, std::vector<MemoryArea> const& areas)
{
    std::vector<GuardRange> guards;
    for (auto const& [area, range] : plan.guards) {
        EXPECT_LT(area, areas.size());
        if (area < areas.size()) {
            EXPECT_TRUE(range.start >= areas[area].start && range.end <= areas[area].end && range.start < range.end)
                << fmt::format("{:#x}-{:#x} in area {}", range.start, range.end, area);
        }
        guards.push_back(range);
    }
    return guards;
}

std::string show(std::vector<GuardRange> const& guards)
{
    std::string s;
    for (auto const& g : guards)
        s += fmt::format("{:#x}-{:#x} ", g.start, g.end);
    return s;
}

// The ioctl path alone, with a tiny buffer (many batches, walks resumed at walk_end).
std::vector<PageRun> scan_runs(pid_t pid, std::vector<MemoryArea> const& areas)
{
    auto pagemap = MUST(sys::open(fmt::format("/proc/{}/pagemap", pid), O_RDONLY | O_CLOEXEC));
    std::vector<sys::ScanArea> scan;
    for (auto const& a : areas)
        if (a.kind == AreaKind::Anonymous)
            scan.push_back({ a.start, a.end, sys::PageKeep::PresentOrSwapped });
        else if (a.kind == AreaKind::FilePrivate)
            scan.push_back({ a.start, a.end, sys::PageKeep::CopiedOrSwapped });
    std::vector<PageRun> runs;
    auto const result = MUST(sys::scan_memory(pagemap, scan, sys::GuardScan::Report, 3));
    for (auto const& r : result.runs)
        runs.push_back({ r.address, r.pages });
    return runs;
}

PagePlan plan(pid_t pid, std::vector<MemoryArea> const& areas, bool scan)
{
    TestHooksOverride hooks(TestHooks { .pagemap_scan = scan });
    return MUST(plan_pages(pid, areas));
}

bool same(std::vector<PageRun> const& a, std::vector<PageRun> const& b)
{
    if (a.size() != b.size())
        return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (a[i].address != b[i].address || a[i].pages != b[i].pages)
            return false;
    return true;
}

std::string show(std::vector<PageRun> const& runs)
{
    std::string s;
    for (auto const& r : runs)
        s += fmt::format("{:#x}+{} ", r.address, r.pages);
    return s;
}

// Pages of [start, start + pages * 4096) that the runs cover, as page indexes.
std::set<uint64_t> covered(std::vector<PageRun> const& runs, uint64_t start, uint64_t pages)
{
    std::set<uint64_t> out;
    for (auto const& r : runs)
        for (uint64_t i = 0; i < r.pages; ++i) {
            uint64_t a = r.address + i * P;
            if (a >= start && a < start + pages * P)
                out.insert((a - start) / P);
        }
    return out;
}

// The runs that start in [start, end).
std::vector<PageRun> runs_in(std::vector<PageRun> const& runs, uint64_t start, uint64_t end)
{
    std::vector<PageRun> out;
    for (auto const& r : runs)
        if (r.address >= start && r.address < end)
            out.push_back(r);
    return out;
}

} // namespace

TEST(PagesScan, ScanAndPagemapPlanTheSameRunsOfARealProcess)
{
    if (!sys::probe_pagemap_scan())
        GTEST_SKIP() << "no PAGEMAP_SCAN on this kernel";
    char path[] = "/tmp/cryo-unit-pages-scan-XXXXXX";
    int raw_file = ::mkstemp(path);
    ASSERT_GE(raw_file, 0);
    Fd file(raw_file);
    ::unlink(path);
    std::vector<uint8_t> content(16 * P, 3);
    ASSERT_EQ(::write(file.get(), content.data(), content.size()), static_cast<ssize_t>(content.size()));
    auto report = MUST(sys::pipe());
    auto hold = MUST(sys::pipe());
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        ::close(hold.second.get());
        child_main(file.get(), report.second.get(), hold.first.get());
    }
    sys::ChildProcess child(pid, MUST(sys::pidfd_open(pid))); // killed and reaped when dropped
    report.second = Fd();
    hold.first = Fd();
    Layout l {};
    ASSERT_EQ(::read(report.first.get(), &l, sizeof l), static_cast<ssize_t>(sizeof l));

    auto areas = areas_of(pid);
    // Whether the THP area got a huge page (the kernel's PMD path in both plans), or only
    // small ones (no huge page free): the comparison holds either way.
    for (auto const& e : MUST(sys::read_smaps(pid)))
        if (e.start == l.thp && e.anon_huge_kib == 0)
            std::fprintf(stderr, "note: the THP area has no huge page\n");
    // Memory can change under the comparison only by the kernel (khugepaged); the reference is
    // taken before and after, and the comparison retried if they differ.
    std::vector<PageRun> reference;
    PagePlan by_scan, by_pagemap;
    std::vector<PageRun> direct;
    std::vector<GuardRange> guard_reference;
    for (int attempt = 0; attempt < 3; ++attempt) {
        guard_reference = reference_guards(pid, areas);
        reference = reference_runs(pid, areas);
        by_pagemap = plan(pid, areas, false);
        by_scan = plan(pid, areas, true);
        direct = scan_runs(pid, areas);
        if (same(reference, reference_runs(pid, areas)))
            break;
    }
    EXPECT_TRUE(same(by_pagemap.runs, reference)) << show(by_pagemap.runs) << "\n" << show(reference);
    EXPECT_TRUE(same(by_scan.runs, reference)) << show(by_scan.runs) << "\n" << show(reference);
    EXPECT_TRUE(same(direct, reference)) << show(direct) << "\n" << show(reference);
    EXPECT_EQ(by_scan.bytes, by_pagemap.bytes);
    ASSERT_EQ(by_scan.segments.size(), by_pagemap.segments.size());
    for (size_t i = 0; i < by_scan.segments.size(); ++i) {
        EXPECT_EQ(by_scan.segments[i].address, by_pagemap.segments[i].address);
        EXPECT_EQ(by_scan.segments[i].size, by_pagemap.segments[i].size);
        EXPECT_EQ(by_scan.segments[i].readable, by_pagemap.segments[i].readable);
    }

    EXPECT_EQ(guards_of(by_pagemap, areas), guard_reference) << show(guards_of(by_pagemap, areas));
    EXPECT_EQ(guards_of(by_scan, areas), guard_reference) << show(guards_of(by_scan, areas));

    // And the runs are the ones the child made (not merely equal to each other).
    auto const& runs = by_scan.runs;
    EXPECT_EQ(covered(runs, l.anon, 64),
              (std::set<uint64_t> { 0, 1, 2, 5, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 63 }));
    auto anon_runs = runs_in(runs, l.anon, l.anon + 64 * P);
    ASSERT_EQ(anon_runs.size(), 5u) << show(anon_runs);
    EXPECT_EQ(anon_runs[2].address, l.anon + 10 * P);
    EXPECT_EQ(anon_runs[2].pages, 6u); // cut at the read-only VMA
    EXPECT_EQ(anon_runs[3].address, l.anon + 16 * P);
    EXPECT_EQ(anon_runs[3].pages, 5u);
    EXPECT_EQ(covered(runs, l.zero, 8), (std::set<uint64_t> { 0, 1, 2, 3 }));
    EXPECT_EQ(covered(runs, l.none, 8), (std::set<uint64_t> { 1, 2 }));
    for (auto const& s : by_scan.segments) {
        if (s.address >= l.none && s.address < l.none + 8 * P) {
            EXPECT_FALSE(s.readable); // PROT_NONE: copied through /proc/PID/mem
        }
    }
    EXPECT_EQ(covered(runs, l.thp, kThpSize / P).size(), kThpSize / P);
    EXPECT_EQ(covered(runs, l.file, 16), (std::set<uint64_t> { 3, 4, 7, 8, 10 }));
    auto file_runs = runs_in(runs, l.file, l.file + 16 * P);
    ASSERT_EQ(file_runs.size(), 4u) << show(file_runs); // 3-4, 7 | 8, 10
    EXPECT_EQ(file_runs[1].address, l.file + 7 * P);
    EXPECT_EQ(file_runs[1].pages, 1u);
    EXPECT_TRUE(covered(runs, l.shared, 4).empty());
    auto sparse = covered(runs, l.sparse, kSparseSize / P);
    EXPECT_EQ(sparse.size(), kThpSize / P / 2 + 1);
    EXPECT_TRUE(sparse.count(kSparseSize / P - 1));
    // Guard pages are never page data (they read as swapped); they are the plan's guards.
    EXPECT_EQ(covered(runs, l.guard, 16), (std::set<uint64_t> { 1, 2, 5 }));
    if (l.guards) {
        auto in = [&](uint64_t from, uint64_t to) {
            std::vector<GuardRange> out;
            for (auto const& g : guard_reference)
                if (g.start >= from && g.end <= to)
                    out.push_back(g);
            return out;
        };
        EXPECT_EQ(in(l.guard, l.guard + 16 * P),
                  (std::vector<GuardRange> { { l.guard, l.guard + P },
                                             { l.guard + 3 * P, l.guard + 5 * P },
                                             { l.guard + 7 * P, l.guard + 8 * P },
                                             { l.guard + 15 * P, l.guard + 16 * P } }))
            << show(guard_reference);
        EXPECT_EQ(in(l.file, l.file + 16 * P), (std::vector<GuardRange> { { l.file + 12 * P, l.file + 13 * P } }));
        // A shared mapping's guard is recorded too (its pages are never data).
        EXPECT_EQ(in(l.shared, l.shared + 4 * P), (std::vector<GuardRange> { { l.shared + 2 * P, l.shared + 3 * P } }));
        EXPECT_EQ(guard_reference.size(), 6u) << show(guard_reference);
    } else {
        std::fprintf(stderr, "note: no MADV_GUARD_INSTALL on this kernel\n");
    }

    hold.second = Fd(); // the child exits
    int status = MUST(child.wait());
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}
