// Root-only: builds a container root in a private mount namespace of a forked child and
// checks it from inside. Skipped without root. Nothing leaks: the namespace dies with the
// child, and / is made rslave first so no mount propagates back.
#include <gtest/gtest.h>

#include <algorithm>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "child.h"
#include "rootfs/idmap.h"
#include "rootfs/mounts.h"
#include "sys/file.h"

using namespace cryo;
using namespace cryo::rootfs;

namespace {

class RootfsApply : public ::testing::Test {
protected:
    void SetUp() override
    {
        if (::geteuid() != 0)
            GTEST_SKIP() << "needs root for mount namespaces";
        char dir_template[] = "/tmp/cryo-unit-mounts-XXXXXX";
        ASSERT_NE(mkdtemp(dir_template), nullptr);
        m_base = dir_template;
        m_root = m_base + "/root";
        ASSERT_TRUE(sys::mkdir_all(m_root + "/tmp", 0755));
        ASSERT_TRUE(sys::mkdir_all(m_base + "/data", 0755));
        ASSERT_TRUE(sys::write_file_atomic(m_base + "/data/x", "data\n"));
        ASSERT_TRUE(sys::write_file_atomic(m_base + "/hostname", "box\n"));
        ASSERT_TRUE(sys::write_file_atomic(m_root + "/tmp/seed", "seed\n", 0640));
        ASSERT_EQ(::symlink("/", (m_root + "/evil").c_str()), 0);
        m_mountinfo_before = count_mounts_under(m_base);
    }
    void TearDown() override
    {
        if (m_base.empty())
            return;
        EXPECT_EQ(count_mounts_under(m_base), m_mountinfo_before) << "a mount leaked to the host";
        EXPECT_TRUE(sys::remove_all(m_base));
    }

    static int count_mounts_under(std::string const& path)
    {
        auto info = sys::read_file("/proc/self/mountinfo");
        int count = 0;
        for (size_t pos = 0; (pos = info->find(" " + path, pos)) != std::string::npos; ++pos)
            ++count;
        return count;
    }

    std::string m_base;
    std::string m_root;
    int m_mountinfo_before { 0 };
};

std::string expect_errno(char const* what, int result, int expected)
{
    if (result >= 0)
        return std::string(what) + ": succeeded";
    if (errno != expected)
        return std::string(what) + ": errno " + std::to_string(errno);
    return {};
}

std::string check_fs(char const* path, long magic, bool readonly)
{
    struct statfs st { };
    if (::statfs(path, &st) < 0)
        return std::string("statfs ") + path + " failed";
    if (st.f_type != magic)
        return std::string(path) + " has fs type " + std::to_string(st.f_type);
    if (readonly != ((st.f_flags & ST_RDONLY) != 0))
        return std::string(path) + (readonly ? " is writable" : " is read-only");
    return {};
}

std::string check_content(char const* path, char const* expected)
{
    auto content = sys::read_file(path);
    if (!content)
        return content.error().message();
    if (*content != expected)
        return std::string(path) + " holds " + *content;
    return {};
}

#define CHECK(expr)                                                                                                    \
    do {                                                                                                               \
        if (auto failure = (expr); !failure.empty())                                                                   \
            return failure;                                                                                            \
    } while (0)

} // namespace

TEST_F(RootfsApply, FullPlanWithPivot)
{
    MountPlan plan;
    plan.rootfs = m_root;
    plan.readonly_root = true;
    plan.steps.push_back(make_mount_step("proc", "proc", "/proc", parse_mount_options("nosuid,noexec,nodev")));
    plan.steps.push_back(
        make_mount_step("tmpfs", "tmpfs", "/dev", parse_mount_options("nosuid,strictatime,mode=755,size=65536k")));
    plan.steps.push_back(make_mount_step("devpts", "devpts", "/dev/pts",
                                         parse_mount_options("nosuid,noexec,newinstance,ptmxmode=0666,mode=0620")));
    plan.steps.push_back(make_mount_step("sysfs", "sysfs", "/sys", parse_mount_options("nosuid,noexec,nodev,ro")));
    MountStep cgroup;
    cgroup.destination = "/sys/fs/cgroup";
    cgroup.flags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
    cgroup.cgroup = CgroupMount {
        .hierarchies
        = { { .dir = "memory", .options = "memory", .host_path = "/sys/fs/cgroup/memory", .v2 = false },
            { .dir = "cpu,cpuacct", .options = "cpu,cpuacct", .host_path = "/sys/fs/cgroup/cpu", .v2 = false },
            { .dir = "unified", .options = "", .host_path = "/sys/fs/cgroup/unified", .v2 = true } },
        .cgroup_namespace = false
    };
    plan.steps.push_back(cgroup);
    plan.steps.push_back(
        make_mount_step("bind", m_base + "/hostname", "/etc/hostname", parse_mount_options("rbind,ro"), true));
    plan.steps.push_back(make_mount_step("bind", m_base + "/data", "/data", parse_mount_options("rbind,ro,nosuid")));
    // Through a symlink to "/": lands on the container's /tmp, not the host's.
    plan.steps.push_back(make_mount_step("tmpfs", "tmpfs", "/evil/tmp", parse_mount_options("tmpcopyup,mode=1777")));
    plan.devices = default_devices();
    plan.devices.push_back(
        DeviceNode { .path = "/dev/sub/fifo", .type = DeviceType::Fifo, .mode = 0600, .uid = 5, .gid = 6 });
    plan.symlinks = default_dev_symlinks(true);
    plan.masked_paths = { "/proc/timer_list", "/proc/driver", "/proc/no-such-thing" };
    plan.readonly_paths = { "/proc/sys", "/proc/sysrq-trigger" };

    std::string base = m_base;
    auto outcome = test::run_in_child([&]() -> std::string {
        if (::unshare(CLONE_NEWNS) < 0)
            return "unshare";
        if (auto r = setup_rootfs(plan); !r)
            return "setup: " + r.error().message();
        if (auto r = finalize_rootfs(plan); !r)
            return "finalize: " + r.error().message();

        struct stat st { };
        if (::stat(base.c_str(), &st) == 0)
            return "the host's " + base + " is visible after pivot_root";
        if (::stat("/dev/null", &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)
            || (st.st_mode & 07777) != 0666)
            return "/dev/null is wrong";
        if (::stat("/dev/sub/fifo", &st) < 0 || !S_ISFIFO(st.st_mode) || st.st_uid != 5 || st.st_gid != 6
            || (st.st_mode & 07777) != 0600)
            return "/dev/sub/fifo is wrong";
        char link[64] = {};
        if (::readlink("/dev/fd", link, sizeof link - 1) < 0 || std::string(link) != "/proc/self/fd")
            return "/dev/fd link wrong";
        std::fill(std::begin(link), std::end(link), 0);
        if (::readlink("/dev/ptmx", link, sizeof link - 1) < 0 || std::string(link) != "pts/ptmx")
            return "/dev/ptmx link wrong";
        CHECK(check_fs("/dev/pts", DEVPTS_SUPER_MAGIC, false));
        CHECK(check_content("/etc/hostname", "box\n"));
        CHECK(expect_errno("write /etc/hostname", ::open("/etc/hostname", O_WRONLY), EROFS));
        CHECK(check_content("/data/x", "data\n"));
        CHECK(expect_errno("create /data/y", ::open("/data/y", O_CREAT | O_WRONLY, 0644), EROFS));
        CHECK(check_fs("/tmp", TMPFS_MAGIC, false));
        CHECK(check_content("/tmp/seed", "seed\n"));
        if (::stat("/tmp/seed", &st) < 0 || (st.st_mode & 07777) != 0640)
            return "tmpcopyup lost the mode of /tmp/seed";
        if (::stat("/tmp", &st) < 0 || (st.st_mode & 07777) != 0755)
            return "tmpcopyup did not keep the mode of /tmp";
        CHECK(expect_errno("create /newfile", ::open("/newfile", O_CREAT | O_WRONLY, 0644), EROFS));
        if (::stat("/proc/timer_list", &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
            return "/proc/timer_list is not masked";
        CHECK(check_fs("/proc/driver", TMPFS_MAGIC, true));
        CHECK(check_fs("/proc/sys", PROC_SUPER_MAGIC, true));
        CHECK(expect_errno("write /proc/sys/kernel/hostname", ::open("/proc/sys/kernel/hostname", O_WRONLY), EROFS));
        CHECK(check_fs("/proc", PROC_SUPER_MAGIC, false));
        CHECK(check_fs("/sys", SYSFS_MAGIC, true));
        CHECK(check_fs("/sys/fs/cgroup", TMPFS_MAGIC, true));
        CHECK(check_fs("/sys/fs/cgroup/memory", CGROUP_SUPER_MAGIC, true));
        CHECK(check_fs("/sys/fs/cgroup/cpu,cpuacct", CGROUP_SUPER_MAGIC, true));
        CHECK(check_fs("/sys/fs/cgroup/cpu", CGROUP_SUPER_MAGIC, true)); // symlink to cpu,cpuacct
        CHECK(check_fs("/sys/fs/cgroup/unified", CGROUP2_SUPER_MAGIC, true));
        return {};
    });
    EXPECT_TRUE(outcome.ok()) << outcome.failure;
    // The symlinked tmpfs target must not have touched the host's /tmp.
    EXPECT_FALSE(sys::exists("/tmp/seed"));
}

TEST_F(RootfsApply, NoPivotMovesAndChroots)
{
    MountPlan plan;
    plan.rootfs = m_root;
    plan.no_pivot = true;
    plan.root_propagation = { Propagation::Private, true };
    plan.steps.push_back(make_mount_step("proc", "proc", "/proc", parse_mount_options("nosuid,noexec,nodev")));
    std::string base = m_base;
    auto outcome = test::run_in_child([&]() -> std::string {
        if (::unshare(CLONE_NEWNS) < 0)
            return "unshare";
        if (auto r = setup_rootfs(plan); !r)
            return "setup: " + r.error().message();
        if (auto r = finalize_rootfs(plan); !r)
            return "finalize: " + r.error().message();
        struct stat st { };
        if (::stat(base.c_str(), &st) == 0)
            return "the host is visible after chroot";
        if (::stat("/tmp/seed", &st) < 0)
            return "not chrooted into the rootfs";
        CHECK(check_fs("/proc", PROC_SUPER_MAGIC, false));
        return {};
    });
    EXPECT_TRUE(outcome.ok()) << outcome.failure;
}

TEST_F(RootfsApply, SharedRootPropagationStillPivots)
{
    MountPlan plan;
    plan.rootfs = m_root;
    plan.root_propagation = { Propagation::Shared, true };
    plan.steps.push_back(make_mount_step("tmpfs", "tmpfs", "/run", parse_mount_options("mode=755")));
    plan.steps.push_back(make_mount_step("proc", "proc", "/proc", parse_mount_options("")));
    std::string base = m_base;
    auto outcome = test::run_in_child([&]() -> std::string {
        if (::unshare(CLONE_NEWNS) < 0)
            return "unshare";
        // Start from a private namespace so that "shared" cannot reach the host; make the
        // rootfs a mount point itself, the harder case (an image's overlay is one).
        if (::mount(nullptr, "/", nullptr, MS_PRIVATE | MS_REC, nullptr) < 0)
            return "make / private";
        if (::mount(plan.rootfs.c_str(), plan.rootfs.c_str(), nullptr, MS_BIND, nullptr) < 0)
            return "bind rootfs";
        if (auto r = setup_rootfs(plan); !r)
            return "setup: " + r.error().message();
        struct stat st { };
        if (::stat(base.c_str(), &st) == 0)
            return "the host is visible after pivot_root";
        CHECK(check_fs("/run", TMPFS_MAGIC, false));
        // The container's / is shared (its own peer group) as asked.
        auto info = sys::read_file("/proc/self/mountinfo");
        if (!info)
            return "read mountinfo";
        bool shared_root = false;
        for (size_t start = 0; start < info->size();) {
            auto end = info->find('\n', start);
            std::string line = info->substr(start, end - start);
            start = end == std::string::npos ? info->size() : end + 1;
            // "<id> <parent> <dev> <root> <mount point> <options> <optional fields> - ..."
            size_t field = 0, pos = 0;
            std::string mount_point;
            while (field < 5 && pos != std::string::npos) {
                auto next = line.find(' ', pos);
                if (field == 4)
                    mount_point = line.substr(pos, next - pos);
                pos = next == std::string::npos ? next : next + 1;
                ++field;
            }
            if (mount_point == "/" && line.find(" shared:") != std::string::npos)
                shared_root = true;
        }
        if (!shared_root)
            return "/ is not shared:\n" + *info;
        return {};
    });
    EXPECT_TRUE(outcome.ok()) << outcome.failure;
}

TEST_F(RootfsApply, ErrorNamesTheMount)
{
    MountPlan plan;
    plan.rootfs = m_root;
    plan.steps.push_back(make_mount_step("nosuchfs", "nosuchfs", "/x", parse_mount_options("")));
    auto outcome = test::run_in_child([&]() -> std::string {
        if (::unshare(CLONE_NEWNS) < 0)
            return "unshare";
        auto r = setup_rootfs(plan);
        if (r)
            return "mounting nosuchfs succeeded";
        if (r.error().message() != "mount nosuchfs on /x: No such device")
            return r.error().message();
        return {};
    });
    EXPECT_TRUE(outcome.ok()) << outcome.failure;
}

TEST_F(RootfsApply, UserNamespaceBindsDevicesAndFallsBackForSysfs)
{
    MountPlan plan;
    plan.rootfs = m_root;
    plan.readonly_root = true;
    plan.bind_devices = true;
    plan.steps.push_back(make_mount_step("tmpfs", "tmpfs", "/dev", parse_mount_options("nosuid,mode=755")));
    // sysfs needs a network namespace owned by the user namespace: falls back to /sys.
    plan.steps.push_back(make_mount_step("sysfs", "sysfs", "/sys", parse_mount_options("nosuid,noexec,nodev,ro")));
    plan.devices = default_devices();
    auto outcome = test::run_in_child([&]() -> std::string {
        if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
            return "unshare";
        if (!sys::write_file("/proc/self/setgroups", "deny") || !sys::write_file("/proc/self/uid_map", "0 0 1")
            || !sys::write_file("/proc/self/gid_map", "0 0 1"))
            return "id maps";
        if (auto r = setup_rootfs(plan); !r)
            return "setup: " + r.error().message();
        if (auto r = finalize_rootfs(plan); !r)
            return "finalize: " + r.error().message();
        struct stat st { };
        if (::stat("/dev/null", &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
            return "/dev/null not bound from the host";
        int fd = ::open("/dev/null", O_WRONLY);
        if (fd < 0 || ::write(fd, "x", 1) != 1)
            return "/dev/null not writable";
        ::close(fd);
        CHECK(check_fs("/sys", SYSFS_MAGIC, true));
        CHECK(expect_errno("create /newfile", ::open("/newfile", O_CREAT | O_WRONLY, 0644), EROFS));
        return {};
    });
    EXPECT_TRUE(outcome.ok()) << outcome.failure;
}

TEST_F(RootfsApply, IdmappedBindPreparedByParent)
{
    auto userns = make_userns("0 100000 65536\n", "0 100000 65536\n");
    ASSERT_TRUE(userns) << userns.error().message();
    char link[64] = {}, own[64] = {};
    ASSERT_GT(::readlink(fmt::format("/proc/self/fd/{}", userns->get()).c_str(), link, sizeof link - 1), 0);
    ASSERT_GT(::readlink("/proc/self/ns/user", own, sizeof own - 1), 0);
    EXPECT_TRUE(std::string(link).starts_with("user:[")) << link;
    EXPECT_STRNE(link, own);

    ASSERT_TRUE(sys::mkdir_all(m_base + "/idsrc", 0755));
    ASSERT_TRUE(sys::write_file_atomic(m_base + "/idsrc/file", "mine\n"));
    ASSERT_EQ(::chown((m_base + "/idsrc/file").c_str(), 0, 0), 0);
    auto step = make_mount_step("bind", m_base + "/idsrc", "/idmapped", parse_mount_options("rbind,idmap,ro"));
    auto tree = make_idmapped_tree(step, *userns);
    ASSERT_TRUE(tree) << tree.error().message();

    MountPlan plan;
    plan.rootfs = m_root;
    plan.steps.push_back(step);
    plan.steps.back().prepared_tree = *tree;
    auto outcome = test::run_in_child([&]() -> std::string {
        if (::unshare(CLONE_NEWNS) < 0)
            return "unshare";
        if (auto r = setup_rootfs(plan); !r)
            return "setup: " + r.error().message();
        struct stat st { };
        if (::stat("/idmapped/file", &st) < 0)
            return "stat /idmapped/file";
        if (st.st_uid != 100000 || st.st_gid != 100000)
            return "owner seen through the idmapped mount: " + std::to_string(st.st_uid) + ":"
                + std::to_string(st.st_gid);
        CHECK(check_content("/idmapped/file", "mine\n"));
        CHECK(expect_errno("create /idmapped/new", ::open("/idmapped/new", O_CREAT | O_WRONLY, 0644), EROFS));
        return {};
    });
    EXPECT_TRUE(outcome.ok()) << outcome.failure;
    // Without a prepared tree the child cannot idmap: a clear error instead of EPERM.
    MountPlan unprepared;
    unprepared.rootfs = m_root;
    unprepared.steps.push_back(step);
    auto refused = test::run_in_child([&]() -> std::string {
        if (::unshare(CLONE_NEWNS) < 0)
            return "unshare";
        auto r = setup_rootfs(unprepared);
        if (r)
            return "idmapped without a prepared tree";
        std::string want = "mount " + m_base
            + "/idsrc on /idmapped: an idmapped mount needs a tree prepared by the parent (make_idmapped_tree)";
        return r.error().message() == want ? "" : r.error().message();
    });
    EXPECT_TRUE(refused.ok()) << refused.failure;
}

TEST_F(RootfsApply, BindFlagsTopOnlyOrRecursive)
{
    ASSERT_TRUE(sys::mkdir_all(m_base + "/data/sub", 0755));
    MountPlan plan;
    plan.rootfs = m_root;
    plan.steps.push_back(make_mount_step("bind", m_base + "/data", "/a", parse_mount_options("rbind,ro")));
    plan.steps.push_back(make_mount_step("bind", m_base + "/data", "/b", parse_mount_options("rbind,rro")));
    plan.steps.push_back(make_mount_step("bind", m_base + "/data", "/c", parse_mount_options("bind,ro,nodev")));
    plan.steps.push_back(make_mount_step("bind", m_base + "/data", "/d", parse_mount_options("rbind,rshared")));
    plan.steps.push_back(
        make_mount_step("bind", m_base + "/data", "/e", parse_mount_options("bind,noatime,nosuid,noexec")));
    plan.steps.push_back(make_mount_step("proc", "proc", "/proc", parse_mount_options("")));
    struct statfs host { };
    ASSERT_EQ(::statfs((m_base + "/data").c_str(), &host), 0);
    long data_fs = static_cast<long>(host.f_type);
    std::string sub = m_base + "/data/sub";
    auto outcome = test::run_in_child([&]() -> std::string {
        if (::unshare(CLONE_NEWNS) < 0)
            return "unshare";
        if (::mount(nullptr, "/", nullptr, MS_PRIVATE | MS_REC, nullptr) < 0)
            return "make / private";
        // A submount in the source: what "rbind" carries along and "bind" does not.
        if (::mount("tmpfs", sub.c_str(), "tmpfs", 0, nullptr) < 0)
            return "mount tmpfs on the source's sub";
        if (auto r = setup_rootfs(plan); !r)
            return "setup: " + r.error().message();
        CHECK(check_fs("/a", data_fs, true));
        CHECK(check_fs("/a/sub", TMPFS_MAGIC, false)); // "ro" is for the top mount only
        CHECK(check_fs("/b/sub", TMPFS_MAGIC, true)); // "rro" reaches submounts
        CHECK(check_fs("/c", data_fs, true));
        struct statvfs vfs { };
        if (::statvfs("/c", &vfs) < 0 || !(vfs.f_flag & ST_NODEV))
            return "/c lost nodev";
        struct statfs st { };
        if (::statfs("/c/sub", &st) < 0 || st.f_type == TMPFS_MAGIC)
            return "a plain bind carried the submount along";
        auto info = sys::read_file("/proc/self/mountinfo");
        if (!info)
            return "mountinfo";
        bool shared = false;
        for (size_t start = 0; start < info->size();) {
            auto end = info->find('\n', start);
            std::string line = info->substr(start, end - start);
            start = end == std::string::npos ? info->size() : end + 1;
            if (line.find(" /d ") != std::string::npos && line.find(" shared:") != std::string::npos)
                shared = true;
        }
        return shared ? "" : "/d is not shared";
    });
    EXPECT_TRUE(outcome.ok()) << outcome.failure;
}

TEST_F(RootfsApply, SharedPropagationDoesNotUnmountPeers)
{
    // The "host" here is a child's own namespace whose / is rshared; the container is a
    // grandchild whose namespace starts as a peer of it. Detaching the old root in the
    // grandchild must not unmount anything in the child.
    MountPlan plan;
    plan.rootfs = m_root;
    plan.root_propagation = { Propagation::Shared, true };
    plan.steps.push_back(make_mount_step("proc", "proc", "/proc", parse_mount_options("")));
    std::string base = m_base;
    auto outcome = test::run_in_child([&]() -> std::string {
        if (::unshare(CLONE_NEWNS) < 0)
            return "unshare";
        if (::mount(nullptr, "/", nullptr, MS_PRIVATE | MS_REC, nullptr) < 0)
            return "make / private";
        std::string peer = base + "/peer";
        if (::mkdir(peer.c_str(), 0755) < 0 || ::mount("tmpfs", peer.c_str(), "tmpfs", 0, nullptr) < 0)
            return "mount the peer tmpfs";
        if (::mount(nullptr, "/", nullptr, MS_SHARED | MS_REC, nullptr) < 0)
            return "make / rshared";
        auto before = sys::read_file("/proc/self/mountinfo");
        auto container = test::run_in_child([&]() -> std::string {
            if (::unshare(CLONE_NEWNS) < 0)
                return "unshare";
            if (auto r = setup_rootfs(plan); !r)
                return "setup: " + r.error().message();
            return {};
        });
        if (!container.ok())
            return "container: " + container.failure;
        auto after = sys::read_file("/proc/self/mountinfo");
        auto count = [](std::string const& text) { return std::count(text.begin(), text.end(), '\n'); };
        if (!before || !after || count(*after) < count(*before))
            return "mounts of the peer namespace were unmounted:\n" + *before + "---\n" + *after;
        struct statfs st { };
        if (::statfs(peer.c_str(), &st) < 0 || st.f_type != TMPFS_MAGIC)
            return "the peer tmpfs is gone";
        return {};
    });
    EXPECT_TRUE(outcome.ok()) << outcome.failure;
}

TEST_F(RootfsApply, MaskingNeedsNoProc)
{
    ASSERT_TRUE(sys::mkdir_all(m_root + "/secret/inner", 0755));
    ASSERT_TRUE(sys::mkdir_all(m_root + "/also-secret", 0755));
    ASSERT_TRUE(sys::write_file_atomic(m_root + "/key", "hidden\n"));
    MountPlan plan;
    plan.rootfs = m_root;
    plan.steps.push_back(make_mount_step("tmpfs", "tmpfs", "/dev", parse_mount_options("mode=755")));
    plan.devices = default_devices();
    plan.masked_paths = { "/secret", "/also-secret", "/key" };
    auto outcome = test::run_in_child([&]() -> std::string {
        if (::unshare(CLONE_NEWNS) < 0)
            return "unshare";
        if (auto r = setup_rootfs(plan); !r)
            return "setup: " + r.error().message();
        struct stat st { };
        if (::stat("/proc/self", &st) == 0)
            return "the test meant to run without /proc";
        if (auto r = finalize_rootfs(plan); !r)
            return "finalize: " + r.error().message();
        CHECK(check_fs("/secret", TMPFS_MAGIC, true));
        CHECK(check_fs("/also-secret", TMPFS_MAGIC, true));
        if (::stat("/secret/inner", &st) == 0)
            return "/secret still shows its content";
        CHECK(check_content("/key", ""));
        if (::stat("/key", &st) < 0 || !S_ISCHR(st.st_mode))
            return "/key is not /dev/null";
        struct statvfs vfs { };
        if (::statvfs("/secret", &vfs) < 0 || !(vfs.f_flag & ST_NOSUID) || !(vfs.f_flag & ST_NODEV)
            || !(vfs.f_flag & ST_NOEXEC))
            return "masking tmpfs lacks nosuid/nodev/noexec";
        return {};
    });
    EXPECT_TRUE(outcome.ok()) << outcome.failure;
}

TEST_F(RootfsApply, CgroupNamespaceMountsHierarchiesDirectly)
{
    MountPlan plan;
    plan.rootfs = m_root;
    MountStep cgroup
        = make_mount_step("cgroup", "cgroup", "/sys/fs/cgroup", parse_mount_options("nosuid,noexec,nodev,relatime,ro"));
    cgroup.cgroup
        = CgroupMount { .hierarchies
                        = { { .dir = "memory", .options = "memory", .host_path = "", .v2 = false },
                            { .dir = "systemd", .options = "none,name=systemd", .host_path = "", .v2 = false },
                            { .dir = "unified", .options = "", .host_path = "", .v2 = true } },
                        .cgroup_namespace = true };
    plan.steps.push_back(cgroup);
    auto outcome = test::run_in_child([&]() -> std::string {
        if (::unshare(CLONE_NEWNS | CLONE_NEWCGROUP) < 0)
            return "unshare";
        if (auto r = setup_rootfs(plan); !r)
            return "setup: " + r.error().message();
        CHECK(check_fs("/sys/fs/cgroup", TMPFS_MAGIC, true));
        CHECK(check_fs("/sys/fs/cgroup/memory", CGROUP_SUPER_MAGIC, true));
        CHECK(check_fs("/sys/fs/cgroup/systemd", CGROUP_SUPER_MAGIC, true));
        CHECK(check_fs("/sys/fs/cgroup/unified", CGROUP2_SUPER_MAGIC, true));
        struct stat st { };
        if (::stat("/sys/fs/cgroup/memory/memory.limit_in_bytes", &st) < 0)
            return "the memory hierarchy has no memory.limit_in_bytes";
        struct statvfs vfs { };
        if (::statvfs("/sys/fs/cgroup/memory", &vfs) < 0 || !(vfs.f_flag & ST_NOEXEC) || !(vfs.f_flag & ST_NOSUID))
            return "cgroup mount lacks noexec/nosuid";
        return {};
    });
    EXPECT_TRUE(outcome.ok()) << outcome.failure;
}

TEST_F(RootfsApply, ConsoleIsBoundOnDevConsole)
{
    int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    ASSERT_GE(master, 0);
    ASSERT_EQ(::grantpt(master), 0);
    ASSERT_EQ(::unlockpt(master), 0);
    std::string slave = ::ptsname(master);
    struct stat pty { };
    ASSERT_EQ(::stat(slave.c_str(), &pty), 0);
    MountPlan plan;
    plan.rootfs = m_root;
    plan.steps.push_back(make_mount_step("tmpfs", "tmpfs", "/dev", parse_mount_options("mode=755")));
    plan.console = slave;
    auto outcome = test::run_in_child([&]() -> std::string {
        if (::unshare(CLONE_NEWNS) < 0)
            return "unshare";
        if (auto r = setup_rootfs(plan); !r)
            return "setup: " + r.error().message();
        struct stat st { };
        if (::stat("/dev/console", &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != pty.st_rdev)
            return "/dev/console is not the pty";
        return {};
    });
    ::close(master);
    EXPECT_TRUE(outcome.ok()) << outcome.failure;
}
