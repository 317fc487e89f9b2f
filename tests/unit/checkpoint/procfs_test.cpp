#include <gtest/gtest.h>

#include "checkpoint/collect.h"
#include "sys/file.h"
#include "sys/procfs.h"

using namespace cryo;

namespace {

std::string fixture(char const* name)
{
    return MUST(sys::read_file(std::string(CRYO_FIXTURES) + "/" + name));
}

} // namespace

TEST(Procfs, MapsFromARealProcess)
{
    auto maps = sys::parse_maps(fixture("maps.txt"));
    ASSERT_TRUE(maps) << maps.error().message();
    ASSERT_GE(maps->size(), 10u);
    auto const& first = maps->front();
    EXPECT_EQ(first.start, 0x55f4d41e6000u);
    EXPECT_EQ(first.end, 0x55f4d4215000u);
    EXPECT_TRUE(first.read);
    EXPECT_FALSE(first.write);
    EXPECT_EQ(first.path, "/usr/bin/bash");
    EXPECT_EQ(first.inode, 247101u);
    EXPECT_EQ(first.dev_major, 0xfeu);
    bool vdso = false, stack = false;
    for (auto const& m : *maps) {
        vdso |= m.path == "[vdso]" && m.exec;
        stack |= m.path == "[stack]";
    }
    EXPECT_TRUE(vdso);
    EXPECT_TRUE(stack);
}

TEST(Procfs, MapsSharedDeletedAndSpaces)
{
    auto maps = MUST(sys::parse_maps(fixture("maps.txt")));
    auto const& shared = maps[maps.size() - 3];
    EXPECT_TRUE(shared.shared);
    EXPECT_TRUE(shared.deleted());
    EXPECT_EQ(shared.offset, 0x1000u);
    EXPECT_EQ(maps[maps.size() - 2].path, "/tmp/a file with spaces");
    EXPECT_FALSE(maps[maps.size() - 2].deleted());
    EXPECT_TRUE(maps.back().deleted());
}

TEST(Procfs, MapsRejectsGarbage)
{
    auto r = sys::parse_maps("00400000-zz r-xp 0 0:0 0\n");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("line 1"), std::string::npos);
    EXPECT_FALSE(sys::parse_maps("00500000-00400000 r-xp 00000000 00:00 0\n")); // end before start
    EXPECT_FALSE(sys::parse_maps("00400000-00500000 r-x 00000000 00:00 0\n")); // 3 perm chars
}

TEST(Procfs, StatFromARealProcess)
{
    auto s = sys::parse_stat(fixture("stat.txt"));
    ASSERT_TRUE(s) << s.error().message();
    EXPECT_EQ(s->pid, 16911);
    EXPECT_EQ(s->comm, "bash");
    EXPECT_EQ(s->state, 'S');
    EXPECT_EQ(s->ppid, 16909);
    EXPECT_EQ(s->pgid, 16909);
    EXPECT_EQ(s->sid, 4521);
    EXPECT_EQ(s->num_threads, 1);
    EXPECT_EQ(s->start_code, 94510019334144u);
    EXPECT_EQ(s->end_code, 94510020123549u);
    EXPECT_EQ(s->start_stack, 140727769169616u);
    EXPECT_EQ(s->start_brk, 94510602104832u);
    EXPECT_EQ(s->env_end, 140727769173994u);
}

TEST(Procfs, StatCommWithParenthesesAndSpaces)
{
    auto s = MUST(sys::parse_stat(fixture("stat_weird.txt")));
    EXPECT_EQ(s.comm, "we(ird) na)me");
    EXPECT_EQ(s.state, 'R');
    EXPECT_EQ(s.ppid, 1);
    EXPECT_EQ(s.num_threads, 3);
    EXPECT_EQ(s.start_code, 4194304u);
    EXPECT_FALSE(sys::parse_stat("12 (x) S 1 2 3"));
    EXPECT_FALSE(sys::parse_stat("no parens here"));
}

TEST(Procfs, Status)
{
    auto s = sys::parse_status(fixture("status.txt"));
    ASSERT_TRUE(s) << s.error().message();
    EXPECT_EQ(s->name, "bash");
    EXPECT_EQ(s->tgid, 16911);
    EXPECT_EQ(s->ppid, 16909);
    EXPECT_EQ(s->uid[0], 0u);
    EXPECT_EQ(s->umask, 022u);
    ASSERT_FALSE(s->ns_pid.empty());
    EXPECT_EQ(s->ns_pid.back(), 16911);
    EXPECT_NE(s->cap_bnd, 0u);
    EXPECT_FALSE(sys::parse_status("Name:\tx\nUid:\t1 2 3\nTgid:\t5\n")); // 3 uids
    EXPECT_FALSE(sys::parse_status("Name:\tx\n")); // no Tgid
}

TEST(Procfs, Fdinfo)
{
    auto f = MUST(sys::parse_fdinfo(fixture("fdinfo_file.txt")));
    EXPECT_EQ(f.pos, 12u);
    EXPECT_EQ(f.flags, 02100001u);
    EXPECT_EQ(f.mnt_id, 27u);
    EXPECT_EQ(f.extra.at("ino"), "1234");
    auto e = MUST(sys::parse_fdinfo(fixture("fdinfo_epoll.txt")));
    // Repeated keys keep every line, in order.
    auto tfd = e.extra.at("tfd");
    EXPECT_NE(tfd.find("5 events"), std::string::npos);
    EXPECT_NE(tfd.find("\n"), std::string::npos);
    EXPECT_FALSE(sys::parse_fdinfo("flags:\t02\n")); // no pos
    EXPECT_FALSE(sys::parse_fdinfo("pos:\tx\nflags:\t02\n"));
}

TEST(Procfs, Smaps)
{
    auto s = sys::parse_smaps(fixture("smaps.txt"));
    ASSERT_TRUE(s) << s.error().message();
    ASSERT_GE(s->size(), 2u);
    EXPECT_EQ(s->front().start, 0x55f4d41e6000u);
    bool read_flag = false;
    for (auto const& f : s->front().vm_flags)
        read_flag |= f == "rd";
    EXPECT_TRUE(read_flag);
    auto huge = MUST(sys::parse_smaps("7f0000000000-7f0000400000 rw-p 00000000 00:00 0\nAnonHugePages:   2048 kB\n"
                                      "VmFlags: rd wr mr mw me ac hg\n"));
    ASSERT_EQ(huge.size(), 1u);
    EXPECT_EQ(huge[0].anon_huge_kib, 2048u);
    EXPECT_EQ(huge[0].vm_flags.back(), "hg");
}

// smaps read before a freeze is used only while the process still has exactly those areas
// (collect.h, CollectOptions::smaps_before_freeze): any change of bounds, permissions, offset,
// file or name makes the dump read it again.
TEST(Procfs, SmapsHeaderAndSameAreas)
{
    std::string const text = "7f0000000000-7f0000400000 rw-p 00000000 00:00 0\nAnonHugePages:   2048 kB\n"
                             "VmFlags: rd wr mr mw me ac hg\n"
                             "7f0000400000-7f0000401000 r-xp 00001000 fe:01 1234 /usr/lib/x y\nVmFlags: rd ex\n";
    auto smaps = MUST(sys::parse_smaps(text));
    ASSERT_EQ(smaps.size(), 2u);
    EXPECT_EQ(smaps[1].area.path, "/usr/lib/x y");
    EXPECT_EQ(smaps[1].area.inode, 1234u);
    EXPECT_EQ(smaps[1].start, 0x7f0000400000u);
    auto maps = MUST(sys::parse_maps("7f0000000000-7f0000400000 rw-p 00000000 00:00 0\n"
                                     "7f0000400000-7f0000401000 r-xp 00001000 fe:01 1234 /usr/lib/x y\n"));
    EXPECT_TRUE(checkpoint::same_areas(maps, smaps));
    auto changed = maps;
    changed[0].write = false; // mprotect
    EXPECT_FALSE(checkpoint::same_areas(changed, smaps));
    changed = maps;
    changed[1].end += 0x1000; // grown
    EXPECT_FALSE(checkpoint::same_areas(changed, smaps));
    changed = maps;
    changed[1].path += " (deleted)";
    EXPECT_FALSE(checkpoint::same_areas(changed, smaps));
    changed = maps;
    changed.pop_back(); // unmapped
    EXPECT_FALSE(checkpoint::same_areas(changed, smaps));
    EXPECT_FALSE(checkpoint::same_areas(maps, {}));
    EXPECT_FALSE(sys::parse_smaps("7f0000000000-7f0000400000 rw-p zz 00:00 0\n")); // bad header
}

TEST(Procfs, ApplySmapsSetsGrowsDownAndHugeByStart)
{
    auto smaps = MUST(sys::parse_smaps("7f0000000000-7f0000400000 rw-p 00000000 00:00 0\nAnonHugePages:   2048 kB\n"
                                       "VmFlags: rd wr mr mw me ac\n"
                                       "7f0000400000-7f0000600000 rw-p 00000000 00:00 0\nAnonHugePages:   0 kB\n"
                                       "VmFlags: rd wr mr mw me ac hg\n"
                                       "7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0 [stack]\n"
                                       "VmFlags: rd wr mr mw me gd ac\n"));
    std::vector<checkpoint::MemoryArea> areas(5);
    areas[0].start = 0x7effff000000; // before every entry: no smaps, no flags
    areas[1].start = 0x7f0000000000; // huge pages present
    areas[2].start = 0x7f0000400000; // MADV_HUGEPAGE, none present yet
    areas[3].start = 0x7f0000500000; // inside an entry, not at its start: no flags
    areas[4].start = 0x7ffc00000000; // grows down
    for (auto& a : areas)
        a.growsdown = a.huge = true; // every flag is set from smaps, true or false
    checkpoint::apply_smaps(areas, smaps);
    EXPECT_FALSE(areas[0].huge);
    EXPECT_FALSE(areas[0].growsdown);
    EXPECT_TRUE(areas[1].huge);
    EXPECT_FALSE(areas[1].growsdown);
    EXPECT_TRUE(areas[2].huge);
    EXPECT_FALSE(areas[3].huge);
    EXPECT_FALSE(areas[3].growsdown);
    EXPECT_FALSE(areas[4].huge);
    EXPECT_TRUE(areas[4].growsdown);
    checkpoint::apply_smaps(areas, {});
    EXPECT_FALSE(areas[4].growsdown);
    EXPECT_FALSE(areas[1].huge);
}
