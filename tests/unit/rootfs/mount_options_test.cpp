#include <gtest/gtest.h>

#include <sys/mount.h>
#include <vector>

#include "rootfs/mount_options.h"
#include "sys/mounts.h"

using namespace cryo;
using namespace cryo::rootfs;

TEST(MountOptions, FlagsAndData)
{
    auto o = parse_mount_options("nosuid,mode=1777,strictatime,size=65536k,nodev");
    EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_NOSUID | MS_STRICTATIME | MS_NODEV));
    EXPECT_EQ(o.clear_flags, 0u);
    EXPECT_EQ(o.data, "mode=1777,size=65536k");
    EXPECT_EQ(o.bind, BindKind::None);
    EXPECT_FALSE(o.readonly());
}

TEST(MountOptions, EveryFlagOption)
{
    struct Case {
        char const* on;
        char const* off;
        unsigned long flag;
    };
    std::vector<Case> cases {
        { "ro", "rw", MS_RDONLY },
        { "nosuid", "suid", MS_NOSUID },
        { "nodev", "dev", MS_NODEV },
        { "noexec", "exec", MS_NOEXEC },
        { "sync", "async", MS_SYNCHRONOUS },
        { "mand", "nomand", MS_MANDLOCK },
        { "noatime", "atime", MS_NOATIME },
        { "nodiratime", "diratime", MS_NODIRATIME },
        { "relatime", "norelatime", MS_RELATIME },
        { "strictatime", "nostrictatime", MS_STRICTATIME },
        { "nosymfollow", "symfollow", MS_NOSYMFOLLOW },
    };
    for (auto const& c : cases) {
        auto on = parse_mount_options(c.on);
        EXPECT_EQ(on.flags, c.flag) << c.on;
        EXPECT_EQ(on.clear_flags, 0u) << c.on;
        EXPECT_TRUE(on.data.empty()) << c.on;
        auto off = parse_mount_options(c.off);
        EXPECT_EQ(off.flags, 0u) << c.off;
        EXPECT_EQ(off.clear_flags, c.flag) << c.off;
        EXPECT_TRUE(off.data.empty()) << c.off;
    }
    EXPECT_EQ(parse_mount_options("dirsync").flags, static_cast<unsigned long>(MS_DIRSYNC));
    EXPECT_EQ(parse_mount_options("remount").flags, static_cast<unsigned long>(MS_REMOUNT));
}

TEST(MountOptions, LaterOptionWins)
{
    auto o = parse_mount_options("ro,rw");
    EXPECT_FALSE(o.readonly());
    EXPECT_EQ(o.clear_flags, static_cast<unsigned long>(MS_RDONLY));
    auto back = parse_mount_options("rw,ro");
    EXPECT_TRUE(back.readonly());
    EXPECT_EQ(back.clear_flags, 0u);
}

TEST(MountOptions, BindAndPropagation)
{
    auto o = parse_mount_options("rbind,rprivate,ro");
    EXPECT_EQ(o.bind, BindKind::Rbind);
    EXPECT_EQ(o.propagation, (PropagationSetting { Propagation::Private, true }));
    EXPECT_TRUE(o.readonly());
    EXPECT_EQ(propagation_flags(o.propagation), static_cast<unsigned long>(MS_PRIVATE | MS_REC));

    EXPECT_EQ(parse_mount_options("bind").bind, BindKind::Bind);
    EXPECT_EQ(parse_mount_options("shared").propagation, (PropagationSetting { Propagation::Shared, false }));
    EXPECT_EQ(parse_mount_options("rslave").propagation, (PropagationSetting { Propagation::Slave, true }));
    EXPECT_EQ(parse_mount_options("runbindable").propagation, (PropagationSetting { Propagation::Unbindable, true }));
    EXPECT_EQ(propagation_flags({ Propagation::Unbindable, false }), static_cast<unsigned long>(MS_UNBINDABLE));
    EXPECT_EQ(propagation_flags({}), 0u);
}

TEST(MountOptions, ParsePropagationNames)
{
    PropagationSetting p;
    EXPECT_TRUE(parse_propagation("slave", p));
    EXPECT_EQ(p, (PropagationSetting { Propagation::Slave, false }));
    EXPECT_TRUE(parse_propagation("rshared", p));
    EXPECT_EQ(p, (PropagationSetting { Propagation::Shared, true }));
    EXPECT_FALSE(parse_propagation("rw", p));
    EXPECT_FALSE(parse_propagation("rro", p));
    EXPECT_FALSE(parse_propagation("bogus", p));
    EXPECT_FALSE(parse_propagation("", p));
}

TEST(MountOptions, SpecialOptions)
{
    auto o = parse_mount_options("tmpcopyup,idmap");
    EXPECT_TRUE(o.tmpcopyup);
    EXPECT_TRUE(o.idmap);
    EXPECT_FALSE(o.recursive_idmap);
    EXPECT_TRUE(o.data.empty());
    auto r = parse_mount_options("ridmap");
    EXPECT_TRUE(r.idmap);
    EXPECT_TRUE(r.recursive_idmap);
}

TEST(MountOptions, RecursiveAttributes)
{
    auto o = parse_mount_options("rbind,rro,rnosuid,rnoatime");
    EXPECT_EQ(o.flags, 0u);
    EXPECT_EQ(o.recursive_attr_set,
              static_cast<unsigned long>(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOATIME));
    EXPECT_EQ(o.recursive_attr_clear, static_cast<unsigned long>(MOUNT_ATTR__ATIME));
    // The atime mode is replaced, not combined.
    auto a = parse_mount_options("rnoatime,rstrictatime");
    EXPECT_EQ(a.recursive_attr_set, static_cast<unsigned long>(MOUNT_ATTR_STRICTATIME));
    EXPECT_EQ(a.recursive_attr_clear, static_cast<unsigned long>(MOUNT_ATTR__ATIME));
    auto rw = parse_mount_options("rro,rrw");
    EXPECT_EQ(rw.recursive_attr_set, 0u);
    EXPECT_EQ(rw.recursive_attr_clear, static_cast<unsigned long>(MOUNT_ATTR_RDONLY));
}

TEST(MountOptions, ListAndStringAgree)
{
    std::vector<std::string> list { "nosuid", "noexec", "nodev", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5" };
    auto from_list = parse_mount_options(list);
    auto from_string = parse_mount_options("nosuid,noexec,nodev,newinstance,ptmxmode=0666,mode=0620,gid=5");
    EXPECT_EQ(from_list, from_string);
    EXPECT_EQ(from_list.data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
    EXPECT_EQ(parse_mount_options(",,ro,"), parse_mount_options("ro"));
}
