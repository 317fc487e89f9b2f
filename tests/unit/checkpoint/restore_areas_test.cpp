#include <gtest/gtest.h>

#include <fcntl.h>
#include <stdexcept>
#include <string_view>
#include <sys/mman.h>

#include "checkpoint/restore_areas.h"

using namespace cryo::checkpoint;

namespace {

constexpr uint64_t kPage = 4096;

MemoryArea area(uint64_t start, uint64_t pages, AreaKind kind, std::string_view perms, std::string name = {})
{
    MemoryArea a;
    a.start = start;
    a.end = start + pages * kPage;
    a.kind = kind;
    a.read = perms.find('r') != std::string_view::npos;
    a.write = perms.find('w') != std::string_view::npos;
    a.exec = perms.find('x') != std::string_view::npos;
    a.name = std::move(name);
    return a;
}

AreaMapping const& mapping_of(std::vector<AreaMapping> const& plan, size_t area)
{
    for (auto const& m : plan)
        if (m.area == area)
            return m;
    throw std::runtime_error("area not planned");
}

} // namespace

TEST(RestoreAreas, PagesInsideAnArea)
{
    auto a = area(0x10000, 4, AreaKind::Anonymous, "rw");
    EXPECT_FALSE(area_has_pages(a, {}));
    EXPECT_TRUE(area_has_pages(a, { { 0x10000 + 3 * kPage, 1 } }));
    EXPECT_FALSE(area_has_pages(a, { { 0x10000 + 4 * kPage, 2 } })); // just after
    EXPECT_FALSE(area_has_pages(a, { { 0x10000 - 2 * kPage, 2 } })); // ends at its start
    // A run that starts before the area and reaches into it (two adjacent areas dumped as one
    // run of consecutive pages).
    EXPECT_TRUE(area_has_pages(a, { { 0x1000, 1 }, { 0x10000 - kPage, 2 }, { 0x90000, 1 } }));
    // Out of order (not what the dump writes): still answered by looking at every run.
    EXPECT_TRUE(area_has_pages(a, { { 0x90000, 1 }, { 0x10000 + kPage, 1 } }));
    EXPECT_FALSE(area_has_pages(a, { { 0x90000, 1 }, { 0x1000, 1 } }));
}

TEST(RestoreAreas, OnlyAreasTheFillWritesAreMappedWritableAndProtectedAfter)
{
    Process p;
    p.areas = {
        area(0x400000, 2, AreaKind::FilePrivate, "r", "/bin/x"), // 0: header, untouched
        area(0x402000, 4, AreaKind::FilePrivate, "rx", "/bin/x"), // 1: text, untouched
        area(0x406000, 1, AreaKind::FilePrivate, "r", "/bin/x"), // 2: relro, written then protected
        area(0x407000, 1, AreaKind::FilePrivate, "rw", "/bin/x"), // 3: data, written
        area(0x500000, 8, AreaKind::Anonymous, "rw", "[heap]"), // 4: heap with pages
        area(0x600000, 16, AreaKind::Anonymous, "", ""), // 5: PROT_NONE reservation, no pages
        area(0x700000, 2, AreaKind::Anonymous, "", ""), // 6: PROT_NONE with pages (read through /proc)
        area(0x800000, 4, AreaKind::FileShared, "rw", "/tmp/shared"), // 7
        area(0x900000, 2, AreaKind::SharedAnonymous, "r", "/dev/zero (deleted)"), // 8
        area(0xa00000, 2, AreaKind::Vvar, "r", "[vvar]"), // 9
        area(0xa02000, 2, AreaKind::Vdso, "rx", "[vdso]"), // 10
        area(0xffffffffff600000, 1, AreaKind::Vsyscall, "x", "[vsyscall]"), // 11
    };
    p.areas[8].object = 3;
    p.pages = { { 0x406000, 2 }, { 0x500000, 1 }, { 0x700000, 1 } };

    auto plan = plan_area_mappings(p);
    ASSERT_EQ(plan.size(), 9u); // not the vvar, vdso and vsyscall
    for (size_t i = 0; i + 1 < plan.size(); ++i)
        EXPECT_LT(plan[i].area, plan[i + 1].area); // in address order, as p.areas

    uint64_t const rw = PROT_READ | PROT_WRITE;
    struct Expect {
        size_t area;
        uint64_t prot;
        bool protect_after;
    };
    for (auto e : { Expect { 0, PROT_READ, false }, Expect { 1, PROT_READ | PROT_EXEC, false }, Expect { 2, rw, true },
                    Expect { 3, rw, false }, Expect { 4, rw, false }, Expect { 5, PROT_NONE, false },
                    Expect { 6, rw, true }, Expect { 7, rw, false }, Expect { 8, PROT_READ, false } }) {
        auto const& m = mapping_of(plan, e.area);
        EXPECT_EQ(m.prot, e.prot) << "area " << e.area;
        EXPECT_EQ(m.protect_after_fill, e.protect_after) << "area " << e.area;
        EXPECT_EQ(area_prot(p.areas[e.area]) == m.prot, !m.protect_after_fill) << "area " << e.area;
    }

    // Flags and files.
    auto const& text = mapping_of(plan, 1);
    EXPECT_EQ(text.flags, static_cast<uint64_t>(MAP_FIXED | MAP_PRIVATE));
    ASSERT_TRUE(text.file);
    EXPECT_EQ(text.file->path, "/bin/x");
    EXPECT_EQ(text.file->open_flags, O_RDONLY);
    EXPECT_EQ(*mapping_of(plan, 0).file, *text.file); // one file for all areas of /bin/x
    EXPECT_EQ(*mapping_of(plan, 3).file, *text.file); // a private writable one reads it only

    auto const& heap = mapping_of(plan, 4);
    EXPECT_EQ(heap.flags, static_cast<uint64_t>(MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS));
    EXPECT_FALSE(heap.file);

    auto const& shared = mapping_of(plan, 7);
    EXPECT_EQ(shared.flags, static_cast<uint64_t>(MAP_FIXED | MAP_SHARED));
    ASSERT_TRUE(shared.file);
    EXPECT_EQ(shared.file->open_flags, O_RDWR);

    auto const& object = mapping_of(plan, 8);
    EXPECT_EQ(object.flags, static_cast<uint64_t>(MAP_FIXED | MAP_SHARED));
    ASSERT_TRUE(object.file);
    EXPECT_EQ(object.file->object, 3u);
    EXPECT_EQ(object.file->path, ""); // by its object, not by the name in maps
    EXPECT_EQ(object.file->open_flags, O_RDONLY);
}

TEST(RestoreAreas, GrowsDownStack)
{
    Process p;
    p.areas = { area(0x7ff000000, 33, AreaKind::Anonymous, "rw", "[stack]") };
    p.areas[0].growsdown = true;
    p.pages = { { 0x7ff000000 + 30 * kPage, 3 } };
    auto plan = plan_area_mappings(p);
    ASSERT_EQ(plan.size(), 1u);
    EXPECT_EQ(plan[0].flags, static_cast<uint64_t>(MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN));
    EXPECT_EQ(plan[0].prot, static_cast<uint64_t>(PROT_READ | PROT_WRITE));
    EXPECT_FALSE(plan[0].protect_after_fill);
}

TEST(RestoreAreas, SpecialMappingsMoveDirectlyWhenNoneLandsOnAnother)
{
    // vvar, vvar_vclock, vdso of the new process, far from where the dumped one had them.
    std::vector<SpecialMove> moves = { { 0x7f0000000000, 4 * kPage, 0x7e0000000000 },
                                       { 0x7f0000004000, 2 * kPage, 0x7e0000004000 },
                                       { 0x7f0000006000, 2 * kPage, 0x7e0000006000 } };
    auto plan = plan_special_moves(moves, 0x20000000);
    ASSERT_EQ(plan.size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(plan[i].from, moves[i].from);
        EXPECT_EQ(plan[i].to, moves[i].to);
        EXPECT_EQ(plan[i].size, moves[i].size);
    }
    // Already in place: nothing to do.
    EXPECT_TRUE(plan_special_moves({ { 0x7f0000000000, kPage, 0x7f0000000000 } }, 0x20000000).empty());
}

TEST(RestoreAreas, SpecialMappingsParkFirstWhenOneLandsOnAnother)
{
    // The dumped vdso is where the new vvar is: moving the vdso first would unmap the vvar.
    std::vector<SpecialMove> moves
        = { { 0x7f0000000000, 4 * kPage, 0x7f0000100000 }, { 0x7f0000100000, 2 * kPage, 0x7f0000000000 } };
    uint64_t const parking = 0x20000000;
    auto plan = plan_special_moves(moves, parking);
    ASSERT_EQ(plan.size(), 4u);
    EXPECT_EQ(plan[0].from, moves[0].from);
    EXPECT_EQ(plan[0].to, parking);
    EXPECT_EQ(plan[1].from, moves[1].from);
    EXPECT_EQ(plan[1].to, parking + 4 * kPage);
    EXPECT_EQ(plan[2].from, parking);
    EXPECT_EQ(plan[2].to, moves[0].to);
    EXPECT_EQ(plan[3].from, parking + 4 * kPage);
    EXPECT_EQ(plan[3].to, moves[1].to);
    // Applied in order, no move lands on a mapping that is still to be moved.
    std::vector<std::pair<uint64_t, uint64_t>> at
        = { { moves[0].from, moves[0].size }, { moves[1].from, moves[1].size } };
    for (auto const& m : plan) {
        size_t moving = at.size();
        for (size_t i = 0; i < at.size(); ++i)
            if (at[i].first == m.from)
                moving = i;
        ASSERT_LT(moving, at.size());
        for (size_t i = 0; i < at.size(); ++i) {
            if (i != moving) {
                EXPECT_FALSE(m.to < at[i].first + at[i].second && at[i].first < m.to + m.size);
            }
        }
        at[moving].first = m.to;
    }

    // A move onto its own current place, shifted (overlapping itself), is parked too.
    auto self = plan_special_moves({ { 0x7f0000000000, 4 * kPage, 0x7f0000001000 } }, parking);
    ASSERT_EQ(self.size(), 2u);
    EXPECT_EQ(self[0].to, parking);
    EXPECT_EQ(self[1].to, 0x7f0000001000u);
}
