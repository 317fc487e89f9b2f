#include <gtest/gtest.h>

#include <cstdlib>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "child.h"
#include "rootfs/resolve.h"
#include "sys/file.h"

using namespace cryo;
using namespace cryo::rootfs;

namespace {

class ResolveInRoot : public ::testing::Test {
protected:
    void SetUp() override
    {
        char dir_template[] = "/tmp/cryo-unit-rootfs-XXXXXX";
        ASSERT_NE(mkdtemp(dir_template), nullptr);
        m_base = dir_template;
        // base/outside holds what an escape would reach; base/root is the container root.
        ASSERT_TRUE(sys::mkdir_all(m_base + "/root/real", 0755));
        ASSERT_TRUE(sys::mkdir_all(m_base + "/outside", 0755));
        ASSERT_EQ(::symlink("/", (m_base + "/root/etc").c_str()), 0);
        ASSERT_EQ(::symlink("../../..", (m_base + "/root/up").c_str()), 0);
        ASSERT_EQ(::symlink("../outside", (m_base + "/root/sideways").c_str()), 0);
        ASSERT_TRUE(sys::write_file_atomic(m_base + "/root/passwd", "inside\n"));
        auto root = sys::open(m_base + "/root", O_PATH | O_DIRECTORY);
        ASSERT_TRUE(root);
        m_root = root.release_value();
    }
    void TearDown() override
    {
        m_root.reset();
        ASSERT_TRUE(sys::remove_all(m_base));
    }

    ino_t inode_of(std::string const& path)
    {
        struct stat st { };
        EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
        return st.st_ino;
    }

    std::string m_base;
    Fd m_root;
};

} // namespace

TEST_F(ResolveInRoot, AbsoluteSymlinkToSlashStaysInside)
{
    // /etc -> / would reach the host's /etc/passwd; inside the root it is root/passwd.
    auto fd = resolve_in_root(m_root, "/etc/passwd", O_RDONLY);
    ASSERT_TRUE(fd) << fd.error().message();
    auto content = sys::read_all(*fd);
    ASSERT_TRUE(content);
    EXPECT_EQ(*content, "inside\n");
}

TEST_F(ResolveInRoot, DotDotSymlinkStaysInside)
{
    auto fd = resolve_in_root(m_root, "/up/real");
    ASSERT_TRUE(fd) << fd.error().message();
    auto st = sys::fstat(*fd);
    ASSERT_TRUE(st);
    EXPECT_EQ(st->st_ino, inode_of(m_base + "/root/real"));
    // Plain ".." beyond the root is clamped too.
    auto clamped = resolve_in_root(m_root, "../../../../passwd", O_RDONLY);
    ASSERT_TRUE(clamped) << clamped.error().message();
    EXPECT_EQ(*sys::read_all(*clamped), "inside\n");
    // A relative link that leads out of the root does not reach base/outside.
    auto sideways = resolve_in_root(m_root, "/sideways");
    EXPECT_FALSE(sideways);
    EXPECT_TRUE(sideways.error().is_errno(ENOENT));
}

TEST_F(ResolveInRoot, CreatesMissingDirectoriesInside)
{
    auto fd = ensure_in_root(m_root, "/up/escape/deeper", TargetKind::Directory);
    ASSERT_TRUE(fd) << fd.error().message();
    EXPECT_TRUE(sys::exists(m_base + "/root/escape/deeper"));
    EXPECT_FALSE(sys::exists(m_base + "/escape"));
    auto st = sys::fstat(*fd);
    ASSERT_TRUE(st);
    EXPECT_TRUE(S_ISDIR(st->st_mode));
    EXPECT_EQ(st->st_ino, inode_of(m_base + "/root/escape/deeper"));

    // Through "sideways" (../outside): created as root/outside, never base/outside/x.
    auto side = ensure_in_root(m_root, "/sideways/x", TargetKind::Directory);
    // "sideways" resolves to /outside inside the root, which does not exist: a dangling
    // link is not created through, so this is an error, and nothing appears outside.
    EXPECT_FALSE(sys::exists(m_base + "/outside/x"));
    ASSERT_FALSE(side);
    EXPECT_TRUE(side.error().is_errno(ENOENT)) << side.error().message();
}

TEST_F(ResolveInRoot, CreatesFileTargetThroughEscapingLink)
{
    std::string name = "cryo-unit-file-" + std::to_string(::getpid());
    auto fd = ensure_in_root(m_root, "/etc/" + name, TargetKind::File);
    bool escaped = sys::exists("/" + name);
    if (escaped)
        (void)sys::unlink("/" + name);
    ASSERT_FALSE(escaped) << "created /" << name << " on the host";
    ASSERT_TRUE(fd) << fd.error().message();
    auto st = sys::fstat(*fd);
    ASSERT_TRUE(st);
    EXPECT_TRUE(S_ISREG(st->st_mode));
    EXPECT_EQ(st->st_ino, inode_of(m_base + "/root/" + name));
}

TEST_F(ResolveInRoot, ExistingTargetIsReturnedAsIs)
{
    auto fd = ensure_in_root(m_root, "/real", TargetKind::Directory);
    ASSERT_TRUE(fd);
    EXPECT_EQ(sys::fstat(*fd)->st_ino, inode_of(m_base + "/root/real"));
    auto root = ensure_in_root(m_root, "/", TargetKind::Directory);
    ASSERT_TRUE(root);
    EXPECT_EQ(sys::fstat(*root)->st_ino, inode_of(m_base + "/root"));
}

TEST_F(ResolveInRoot, FileInTheWayIsAnError)
{
    auto fd = ensure_in_root(m_root, "/passwd/sub", TargetKind::Directory);
    ASSERT_FALSE(fd);
    EXPECT_TRUE(fd.error().is_errno(ENOTDIR)) << fd.error().message();
}

TEST_F(ResolveInRoot, ChdirStaysInside)
{
    std::string real = m_base + "/root/real";
    auto outcome = test::run_in_child([&]() -> std::string {
        if (auto r = chdir_in_root(m_root, "/up/real"); !r)
            return r.error().message();
        char cwd[4096];
        if (!::getcwd(cwd, sizeof cwd) || std::string(cwd) != real)
            return std::string("cwd is ") + cwd;
        auto file = chdir_in_root(m_root, "/passwd");
        if (file || !file.error().is_errno(ENOTDIR))
            return "chdir to a file: " + (file ? std::string("allowed") : file.error().message());
        return {};
    });
    EXPECT_TRUE(outcome.ok()) << outcome.failure;
}

TEST_F(ResolveInRoot, ChdirRefusesLeakedFdMagicLink)
{
    // A leaked directory fd (CVE-2024-21626): with the real / as root, /proc/self/fd/N
    // is a magic link and is refused instead of followed to the host directory.
    auto leaked = sys::open(m_base + "/outside", O_RDONLY | O_DIRECTORY);
    ASSERT_TRUE(leaked);
    auto slash = sys::open("/", O_PATH | O_DIRECTORY);
    ASSERT_TRUE(slash);
    auto outcome = test::run_in_child([&]() -> std::string {
        auto r = chdir_in_root(*slash, "/proc/self/fd/" + std::to_string(leaked->get()));
        if (r)
            return "followed /proc/self/fd/N";
        if (!r.error().is_errno(ELOOP))
            return r.error().message();
        return {};
    });
    EXPECT_TRUE(outcome.ok()) << outcome.failure;
}
