// Guard pages (MADV_GUARD_INSTALL) in the model: select_guards from pagemap entries,
// record_guards into the areas, and the `guards` key of an area in process-PID.json (round
// trip, absent in older images, malformed lists refused).
#include <gtest/gtest.h>

#include <array>
#include <nlohmann/json.hpp>

#include "checkpoint/codec.h"
#include "checkpoint/pages.h"
#include "sys/pagemap_scan.h"
#include "sys/remote_memory.h"

using namespace cryo;
using namespace cryo::checkpoint;

namespace {

constexpr uint64_t P = 4096;
constexpr uint64_t kGuard = sys::kPagemapGuardRegion | sys::kPagemapSwapped; // as the kernel shows one

MemoryArea area(uint64_t start, uint64_t pages, AreaKind kind = AreaKind::Anonymous)
{
    MemoryArea a;
    a.start = start;
    a.end = start + pages * P;
    a.read = a.write = true;
    a.kind = kind;
    return a;
}

Process process_with(MemoryArea a)
{
    Process p;
    p.pid = 42;
    p.ppid = 1;
    p.pgid = 42;
    p.sid = 42;
    p.comm = "guarded";
    p.areas.push_back(std::move(a));
    Thread t;
    t.tid = 42;
    p.threads.push_back(t);
    return p;
}

// The encoding of a process whose area has `guards` replaced by the given JSON.
std::string with_guards_json(nlohmann::json guards)
{
    auto j = nlohmann::json::parse(encode_process(process_with(area(0x10000, 16))));
    j["areas"][0]["guards"] = std::move(guards);
    return j.dump();
}

} // namespace

TEST(GuardPages, SelectedFromPagemapNeverAsPages)
{
    auto a = area(0x10000, 8);
    std::vector<uint64_t> entries
        = { kGuard, sys::kPagemapPresent, kGuard, kGuard, sys::kPagemapSwapped, 0, sys::kPagemapPresent, kGuard };
    EXPECT_EQ(select_guards(a, entries),
              (std::vector<GuardRange> { { 0x10000, 0x11000 }, { 0x12000, 0x14000 }, { 0x17000, 0x18000 } }));
    auto runs = select_pages(a, entries);
    ASSERT_EQ(runs.size(), 3u); // pages 1, 4 and 6: the guards are not data
    std::array<uint64_t, 3> const pages = { 1, 4, 6 };
    for (size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(runs[i].address, 0x10000u + pages[i] * P);
        EXPECT_EQ(runs[i].pages, 1u);
    }
    // A written copy next to a guard in a private file mapping; a file page is not data.
    auto f = area(0x20000, 3, AreaKind::FilePrivate);
    EXPECT_EQ(select_guards(f, { sys::kPagemapPresent, kGuard, sys::kPagemapPresent | sys::kPagemapFileOrShared }),
              (std::vector<GuardRange> { { 0x21000, 0x22000 } }));
    // Shared mappings have guards too, though no page data; the kernel's areas are not looked at.
    EXPECT_EQ(select_guards(area(0x30000, 2, AreaKind::SharedAnonymous), { kGuard, 0 }),
              (std::vector<GuardRange> { { 0x30000, 0x31000 } }));
    EXPECT_EQ(select_guards(area(0x30000, 2, AreaKind::FileShared), { sys::kPagemapFileOrShared, kGuard }),
              (std::vector<GuardRange> { { 0x31000, 0x32000 } }));
    EXPECT_TRUE(select_pages(area(0x30000, 1, AreaKind::SharedAnonymous), { kGuard }).empty());
    EXPECT_TRUE(select_guards(area(0x30000, 1, AreaKind::Vdso), { kGuard }).empty());
}

TEST(GuardPages, RecordedIntoTheirAreas)
{
    std::vector<MemoryArea> areas = { area(0x10000, 4), area(0x20000, 4), area(0x30000, 4) };
    areas[1].guards = { { 0x20000, 0x21000 } }; // stale: replaced
    PagePlan plan;
    plan.guards = { { 0, { 0x10000, 0x11000 } }, { 0, { 0x13000, 0x14000 } }, { 2, { 0x31000, 0x33000 } } };
    record_guards(areas, plan);
    EXPECT_EQ(areas[0].guards, (std::vector<GuardRange> { { 0x10000, 0x11000 }, { 0x13000, 0x14000 } }));
    EXPECT_TRUE(areas[1].guards.empty());
    EXPECT_EQ(areas[2].guards, (std::vector<GuardRange> { { 0x31000, 0x33000 } }));
}

TEST(GuardPages, CodecRoundTripAndOlderImages)
{
    auto a = area(0x10000, 16);
    a.guards = { { 0x10000, 0x11000 }, { 0x16000, 0x18000 }, { 0x1f000, 0x20000 } };
    auto text = encode_process(process_with(a));
    auto back = decode_process(text);
    ASSERT_TRUE(back) << back.error().message();
    ASSERT_EQ(back->areas.size(), 1u);
    EXPECT_EQ(back->areas[0].guards, a.guards);

    // No guards: no key (what every older image looks like), and none read back.
    auto plain = encode_process(process_with(area(0x10000, 16)));
    EXPECT_FALSE(nlohmann::json::parse(plain)["areas"][0].contains("guards"));
    auto old = decode_process(plain);
    ASSERT_TRUE(old) << old.error().message();
    EXPECT_TRUE(old->areas[0].guards.empty());
}

TEST(GuardPages, MalformedListsAreRefused)
{
    using nlohmann::json;
    // The area is 0x10000-0x20000.
    for (auto const& bad : { json::array({ json::array({ 0x10800, 0x11000 }) }), // not page aligned
                             json::array({ json::array({ 0x11000, 0x11000 }) }), // empty
                             json::array({ json::array({ 0x1f000, 0x21000 }) }), // past the area's end
                             json::array({ json::array({ 0x0f000, 0x11000 }) }), // before its start
                             json::array({ json::array({ 0x14000, 0x16000 }), json::array({ 0x15000, 0x17000 }) }),
                             json::array({ json::array({ 0x14000, 0x15000 }), json::array({ 0x11000, 0x12000 }) }),
                             json::array({ json::array({ 0x11000 }) }) }) {
        auto r = decode_process(with_guards_json(bad));
        ASSERT_FALSE(r) << bad.dump();
        EXPECT_NE(r.error().message().find("guard"), std::string::npos) << r.error().message();
    }
    auto good = decode_process(
        with_guards_json(json::array({ json::array({ 0x11000, 0x12000 }), json::array({ 0x12000, 0x13000 }) })));
    EXPECT_TRUE(good) << good.error().message(); // adjacent is allowed, if not how cryo writes it
}
