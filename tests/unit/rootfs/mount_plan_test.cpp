#include <gtest/gtest.h>

#include <algorithm>
#include <sys/mount.h>

#include "rootfs/mount_plan.h"
#include "rootfs/resolve.h"

using namespace cryo;
using namespace cryo::rootfs;

TEST(MountPlan, FilesystemStep)
{
    auto step = make_mount_step("proc", "proc", "/proc", parse_mount_options("nosuid,noexec,nodev"));
    EXPECT_FALSE(step.is_bind());
    EXPECT_EQ(step.fstype, "proc");
    EXPECT_EQ(step.source, "proc");
    EXPECT_EQ(step.destination, "/proc");
    EXPECT_EQ(step.flags, static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC | MS_NODEV));
    EXPECT_FALSE(step.readonly_remount);
    EXPECT_EQ(step.target, TargetKind::Directory);
}

TEST(MountPlan, BindStepNeedsRemountForFlags)
{
    auto ro = make_mount_step("bind", "/etc/resolv.conf", "/etc/resolv.conf", parse_mount_options("rbind,ro"), true);
    EXPECT_TRUE(ro.is_bind());
    EXPECT_EQ(ro.bind, BindKind::Rbind);
    EXPECT_TRUE(ro.fstype.empty());
    EXPECT_TRUE(ro.readonly_remount);
    EXPECT_EQ(ro.target, TargetKind::File);

    auto plain = make_mount_step("none", "/data", "/data", parse_mount_options("bind"));
    EXPECT_EQ(plain.bind, BindKind::Bind);
    EXPECT_FALSE(plain.readonly_remount);
    EXPECT_EQ(plain.target, TargetKind::Directory);

    // Type "bind" alone means a bind mount, as in runc and crun.
    auto typed = make_mount_step("bind", "/data", "/data", parse_mount_options(""));
    EXPECT_EQ(typed.bind, BindKind::Bind);

    auto recursive_ro = make_mount_step("bind", "/data", "/data", parse_mount_options("rbind,rro"));
    EXPECT_TRUE(recursive_ro.readonly_remount);
}

TEST(MountPlan, DefaultDevices)
{
    auto devices = default_devices();
    ASSERT_EQ(devices.size(), 6u);
    auto find = [&](std::vector<DeviceNode> const& list, std::string const& path) {
        return std::find_if(list.begin(), list.end(), [&](DeviceNode const& d) { return d.path == path; });
    };
    auto null = find(devices, "/dev/null");
    ASSERT_NE(null, devices.end());
    EXPECT_EQ(null->major, 1u);
    EXPECT_EQ(null->minor, 3u);
    EXPECT_EQ(null->mode, 0666u);
    auto tty = find(devices, "/dev/tty");
    ASSERT_NE(tty, devices.end());
    EXPECT_EQ(tty->major, 5u);
    EXPECT_EQ(tty->minor, 0u);

    // A spec device with the same path wins over the default.
    std::vector<DeviceNode> spec { DeviceNode { .path = "/dev/null", .mode = 0600, .uid = 7 },
                                   DeviceNode { .path = "/dev/fuse", .major = 10, .minor = 229 } };
    add_default_devices(spec);
    EXPECT_EQ(spec.size(), 7u);
    EXPECT_EQ(find(spec, "/dev/null")->mode, 0600u);
    EXPECT_EQ(find(spec, "/dev/null")->uid, 7u);
    EXPECT_NE(find(spec, "/dev/urandom"), spec.end());
}

TEST(MountPlan, DevSymlinks)
{
    auto links = default_dev_symlinks(false);
    ASSERT_EQ(links.size(), 4u);
    EXPECT_EQ(links[0].link, "/dev/fd");
    EXPECT_EQ(links[0].target, "/proc/self/fd");
    EXPECT_EQ(links[3].link, "/dev/stderr");
    EXPECT_EQ(links[3].target, "/proc/self/fd/2");
    auto with_ptmx = default_dev_symlinks(true);
    ASSERT_EQ(with_ptmx.size(), 5u);
    EXPECT_EQ(with_ptmx.back().link, "/dev/ptmx");
    EXPECT_EQ(with_ptmx.back().target, "pts/ptmx");
}

TEST(MountPlan, SplitLast)
{
    EXPECT_EQ(split_last("/dev/net/tun"), (std::pair<std::string_view, std::string_view> { "/dev/net", "tun" }));
    EXPECT_EQ(split_last("/dev"), (std::pair<std::string_view, std::string_view> { "/", "dev" }));
    EXPECT_EQ(split_last("/dev/null/"), (std::pair<std::string_view, std::string_view> { "/dev", "null" }));
    EXPECT_EQ(split_last("name"), (std::pair<std::string_view, std::string_view> { ".", "name" }));
}
