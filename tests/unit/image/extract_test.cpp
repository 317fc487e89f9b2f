// Unpacking: path containment, file kinds, whiteouts, compression, truncation.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "image/extract.h"
#include "image/sha256.h"
#include "test_util.h"

using namespace cryo;
using namespace cryo::image;
using namespace cryo::image::test;

namespace {

struct Unpacked {
    TempDir tmp;
    std::string root;
    Result<ExtractResult> result { Error::make("not run") };
};

std::unique_ptr<Unpacked> unpack(std::vector<Entry> const& entries, Whiteouts whiteouts = Whiteouts::Literal,
                                 Compression compression = Compression::None)
{
    auto u = std::make_unique<Unpacked>();
    u->root = u->tmp.path + "/root";
    EXPECT_EQ(::mkdir(u->root.c_str(), 0755), 0);
    write_tar(u->tmp.path + "/a.tar", entries, compression);
    auto source = MUST(sys::open(u->tmp.path + "/a.tar", O_RDONLY));
    auto target = MUST(sys::open(u->root, O_PATH | O_DIRECTORY));
    u->result = extract_archive(source, target, ExtractOptions { .whiteouts = whiteouts });
    return u;
}

} // namespace

TEST(NormalizeEntryPath, CleansAndRefuses)
{
    EXPECT_EQ(*normalize_entry_path("./a//b/"), "a/b");
    EXPECT_EQ(*normalize_entry_path("."), "");
    EXPECT_EQ(*normalize_entry_path("./"), "");
    EXPECT_EQ(*normalize_entry_path("a/./b"), "a/b");
    EXPECT_TRUE(normalize_entry_path("/etc/passwd").is_error());
    EXPECT_TRUE(normalize_entry_path("../x").is_error());
    EXPECT_TRUE(normalize_entry_path("a/../../x").is_error());
    EXPECT_TRUE(normalize_entry_path("a/..").is_error());
    EXPECT_EQ(*normalize_entry_path("a/..b"), "a/..b");
}

TEST(Extract, FileKindsModesAndHardLinks)
{
    auto u = unpack({
        { .path = "./", .type = 'd', .mode = 0755 },
        { .path = "bin/", .type = 'd', .mode = 0555 },
        { .path = "bin/tool", .type = 'f', .data = "#!/bin/sh\necho hi\n", .mode = 04755 },
        { .path = "bin/alias", .type = 'h', .data = "bin/tool" },
        { .path = "bin/sh", .type = 'l', .data = "/bin/tool" },
        { .path = "deep/er/file", .type = 'f', .data = "x" },
        { .path = "fifo", .type = 'p', .mode = 0600 },
    });
    ASSERT_FALSE(u->result.is_error()) << u->result.error().message();
    EXPECT_EQ(u->result->entries, 7u);
    EXPECT_EQ(read_text(u->root + "/bin/tool"), "#!/bin/sh\necho hi\n");
    struct stat tool {
    }, alias {}, bin {}, fifo {};
    ASSERT_EQ(::lstat((u->root + "/bin/tool").c_str(), &tool), 0);
    ASSERT_EQ(::lstat((u->root + "/bin/alias").c_str(), &alias), 0);
    EXPECT_EQ(tool.st_ino, alias.st_ino);
    EXPECT_EQ(tool.st_nlink, 2u);
    EXPECT_EQ(tool.st_mode & 07777, 04755u);
    ASSERT_EQ(::lstat((u->root + "/bin").c_str(), &bin), 0);
    EXPECT_EQ(bin.st_mode & 07777, 0555u); // applied after its entries were written
    EXPECT_EQ(bin.st_mtime, 1700000000);
    EXPECT_EQ(*sys::readlink(u->root + "/bin/sh"), "/bin/tool");
    EXPECT_EQ(read_text(u->root + "/deep/er/file"), "x");
    ASSERT_EQ(::lstat((u->root + "/fifo").c_str(), &fifo), 0);
    EXPECT_TRUE(S_ISFIFO(fifo.st_mode));
    ::chmod((u->root + "/bin").c_str(), 0755); // so that a non-root TempDir can be removed
}

TEST(Extract, DotDotAndAbsolutePathsAreRefused)
{
    TempDir outside;
    for (auto const& evil : { std::string("../escaped"), std::string("a/../../escaped"), outside.path + "/escaped" }) {
        auto u = unpack({ { .path = "ok", .data = "fine" }, { .path = evil, .data = "pwned" } });
        ASSERT_TRUE(u->result.is_error()) << evil;
        EXPECT_NE(u->result.error().message().find("refused"), std::string::npos) << u->result.error().message();
        EXPECT_FALSE(sys::exists(u->tmp.path + "/escaped"));
        EXPECT_FALSE(sys::exists(outside.path + "/escaped"));
    }
    auto hard = unpack({ { .path = "link", .type = 'h', .data = "../../etc/passwd" } });
    ASSERT_TRUE(hard->result.is_error());
    EXPECT_NE(hard->result.error().message().find("hard link target"), std::string::npos)
        << hard->result.error().message();
}

TEST(Extract, SymlinksCannotLeadOutOfTheRoot)
{
    TempDir outside;
    write_text(outside.path + "/victim", "original");
    // A symlink to a directory outside, then a write through it: the parent resolves inside
    // the root (RESOLVE_IN_ROOT), where that directory does not exist: refused.
    auto u = unpack(
        { { .path = "evil", .type = 'l', .data = outside.path }, { .path = "evil/victim", .data = "overwritten" } });
    ASSERT_TRUE(u->result.is_error());
    EXPECT_NE(u->result.error().message().find("\"evil\" is a symlink to a directory the layer does not have"),
              std::string::npos)
        << u->result.error().message();
    EXPECT_EQ(read_text(outside.path + "/victim"), "original");
    auto up = unpack({ { .path = "up", .type = 'l', .data = "../../../../../../.." },
                       { .path = "up/tmp/escaped-through-up", .data = "pwned" } });
    // "up" resolves to the root itself: contained, the new directory is made inside.
    ASSERT_FALSE(up->result.is_error()) << up->result.error().message();
    EXPECT_FALSE(sys::exists("/tmp/escaped-through-up"));
    EXPECT_EQ(read_text(up->root + "/tmp/escaped-through-up"), "pwned");
    // When the directory exists inside the root, the write is contained there.
    auto contained = unpack({ { .path = "bin/", .type = 'd', .mode = 0755 },
                              { .path = "out", .type = 'l', .data = "/../../bin" },
                              { .path = "out/x", .data = "inside" },
                              { .path = "hl", .type = 'h', .data = "out/x" } });
    ASSERT_FALSE(contained->result.is_error()) << contained->result.error().message();
    EXPECT_EQ(read_text(contained->root + "/bin/x"), "inside");
    EXPECT_EQ(read_text(contained->root + "/hl"), "inside");
    // Overwriting a symlink entry with a file replaces the link, not its target.
    auto v = unpack({ { .path = "f", .type = 'l', .data = outside.path + "/victim" }, { .path = "f", .data = "new" } });
    ASSERT_FALSE(v->result.is_error()) << v->result.error().message();
    EXPECT_EQ(read_text(outside.path + "/victim"), "original");
    EXPECT_EQ(read_text(v->root + "/f"), "new");
    // A hard link to a symlink's target outside links the symlink's own path inside, or fails.
    auto hl = unpack(
        { { .path = "s", .type = 'l', .data = outside.path + "/victim" }, { .path = "h", .type = 'h', .data = "s" } });
    ASSERT_FALSE(hl->result.is_error()) << hl->result.error().message();
    struct stat st { };
    ASSERT_EQ(::lstat((hl->root + "/h").c_str(), &st), 0);
    EXPECT_TRUE(S_ISLNK(st.st_mode)); // linked the symlink itself, not the outside file
}

TEST(Extract, WhiteoutsBecomeOverlayMarkers)
{
    auto u = unpack(
        {
            { .path = "etc/", .type = 'd', .mode = 0755 },
            { .path = "etc/.wh.motd", .data = "" },
            { .path = "var/cache/.wh..wh..opq", .data = "" },
            { .path = "var/cache/kept", .data = "k" },
            { .path = ".wh..wh.plnk", .type = 'd' },
        },
        Whiteouts::Overlay);
    ASSERT_FALSE(u->result.is_error()) << u->result.error().message();
    struct stat st { };
    ASSERT_EQ(::lstat((u->root + "/etc/motd").c_str(), &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode));
    EXPECT_EQ(st.st_rdev, makedev(0, 0));
    EXPECT_FALSE(sys::exists(u->root + "/etc/.wh.motd"));
    EXPECT_FALSE(sys::exists(u->root + "/.wh..wh.plnk"));
    EXPECT_FALSE(sys::exists(u->root + "/var/cache/.wh..wh..opq"));
    EXPECT_EQ(read_text(u->root + "/var/cache/kept"), "k");
    // trusted.* needs CAP_SYS_ADMIN; without it the user.* form (overlay's userxattr) is used.
    char value[8] = {};
    auto got = ::lgetxattr((u->root + "/var/cache").c_str(), "trusted.overlay.opaque", value, sizeof value);
    if (got < 0)
        got = ::lgetxattr((u->root + "/var/cache").c_str(), "user.overlay.opaque", value, sizeof value);
    ASSERT_EQ(got, 1);
    EXPECT_EQ(value[0], 'y');

    auto literal = unpack({ { .path = "etc/.wh.motd", .data = "" } }, Whiteouts::Literal);
    ASSERT_FALSE(literal->result.is_error());
    EXPECT_TRUE(sys::exists(literal->root + "/etc/.wh.motd"));
}

TEST(Extract, XattrsOwnershipAndDevices)
{
    bool root = geteuid() == 0;
    auto u = unpack({
        { .path = "f", .data = "d", .xattrs = { { "user.note", "hello" } }, .uid = 1234, .gid = 5678 },
        { .path = "null", .type = 'c', .mode = 0666, .major = 1, .minor = 3 },
        { .path = "sneaky/",
          .type = 'd',
          .mode = 0755,
          .xattrs = { { "user.overlay.redirect", "/etc" }, { "trusted.overlay.opaque", "y" } } },
    });
    ASSERT_FALSE(u->result.is_error()) << u->result.error().message();
    char value[16] = {};
    auto got = ::lgetxattr((u->root + "/f").c_str(), "user.note", value, sizeof value);
    if (got >= 0)
        EXPECT_EQ(std::string(value, static_cast<size_t>(got)), "hello");
    else
        EXPECT_GT(u->result->skipped, 0u); // file system without user xattrs
    // overlayfs's own xattrs only come from whiteout files, never from an entry.
    EXPECT_LT(::lgetxattr((u->root + "/sneaky").c_str(), "user.overlay.redirect", value, sizeof value), 0);
    EXPECT_LT(::lgetxattr((u->root + "/sneaky").c_str(), "trusted.overlay.opaque", value, sizeof value), 0);
    struct stat st { };
    ASSERT_EQ(::lstat((u->root + "/f").c_str(), &st), 0);
    if (root) {
        EXPECT_EQ(st.st_uid, 1234u);
        EXPECT_EQ(st.st_gid, 5678u);
        ASSERT_EQ(::lstat((u->root + "/null").c_str(), &st), 0);
        EXPECT_TRUE(S_ISCHR(st.st_mode));
        EXPECT_EQ(st.st_rdev, makedev(1, 3));
        EXPECT_EQ(st.st_mode & 07777, 0666u);
    } else {
        EXPECT_GT(u->result->skipped, 0u);
    }
}

TEST(Extract, EveryCompressionGivesTheSameDiffDigest)
{
    std::vector<Entry> entries = { { .path = "a", .data = std::string(100000, 'z') }, { .path = "b/c", .data = "c" } };
    std::string plain_digest;
    for (auto compression :
         { Compression::None, Compression::Gzip, Compression::Xz, Compression::Zstd, Compression::Bzip2 }) {
        auto u = unpack(entries, Whiteouts::Literal, compression);
        ASSERT_FALSE(u->result.is_error()) << u->result.error().message();
        EXPECT_EQ(read_text(u->root + "/a"), std::string(100000, 'z'));
        auto file = MUST(sys::read_file(u->tmp.path + "/a.tar"));
        EXPECT_EQ(u->result->blob_digest, sha256_hex(file));
        if (compression == Compression::None) {
            plain_digest = u->result->diff_digest;
            EXPECT_EQ(plain_digest, u->result->blob_digest);
        } else {
            EXPECT_EQ(u->result->diff_digest, plain_digest);
            EXPECT_NE(u->result->blob_digest, plain_digest);
        }
    }
}

TEST(Extract, TruncatedAndCorruptArchivesFail)
{
    TempDir tmp;
    for (auto compression : { Compression::None, Compression::Gzip, Compression::Zstd }) {
        write_tar(tmp.path + "/a.tar", { { .path = "big", .data = std::string(300000, 'q') } }, compression);
        auto bytes = MUST(sys::read_file(tmp.path + "/a.tar"));
        for (auto const& damaged :
             { bytes.substr(0, bytes.size() / 2), std::string("this is not an archive at all") }) {
            write_text(tmp.path + "/bad.tar", damaged);
            ::mkdir((tmp.path + "/out").c_str(), 0755);
            auto source = MUST(sys::open(tmp.path + "/bad.tar", O_RDONLY));
            auto target = MUST(sys::open(tmp.path + "/out", O_PATH | O_DIRECTORY));
            auto result = extract_archive(source, target, {});
            EXPECT_TRUE(result.is_error()) << static_cast<int>(compression) << " " << damaged.size();
            if (result.is_error()) {
                EXPECT_NE(result.error().message().find("archive"), std::string::npos) << result.error().message();
            }
            (void)sys::remove_all(tmp.path + "/out");
        }
    }
    write_text(tmp.path + "/empty.tar", "");
    ::mkdir((tmp.path + "/out").c_str(), 0755);
    auto source = MUST(sys::open(tmp.path + "/empty.tar", O_RDONLY));
    auto target = MUST(sys::open(tmp.path + "/out", O_PATH | O_DIRECTORY));
    auto result = extract_archive(source, target, {});
    ASSERT_TRUE(result.is_error());
    EXPECT_NE(result.error().message().find("empty"), std::string::npos) << result.error().message();
}

TEST(TreeTar, OverlayUpperRoundTripsWhiteoutsAndOpaqueDirs)
{
    // An upper dir as overlayfs leaves it: a whiteout device and an opaque directory.
    auto u = unpack(
        {
            { .path = "etc/.wh.motd", .data = "" },
            { .path = "var/.wh..wh..opq", .data = "" },
            { .path = "var/new", .data = "n" },
            { .path = "hard1", .data = "same" },
            { .path = "hard2", .type = 'h', .data = "hard1" },
        },
        Whiteouts::Overlay);
    ASSERT_FALSE(u->result.is_error()) << u->result.error().message();
    auto out = MUST(sys::open(u->tmp.path + "/changes.tar", O_WRONLY | O_CREAT | O_EXCL, 0600));
    auto written = write_tree_tar(u->root, out, TreeKind::OverlayUpper);
    ASSERT_FALSE(written.is_error()) << written.error().message();
    auto source = MUST(sys::open(u->tmp.path + "/changes.tar", O_RDONLY));
    auto names = MUST(list_archive(source, 100));
    auto has = [&](std::string const& n) { return std::find(names.begin(), names.end(), n) != names.end(); };
    EXPECT_TRUE(has("etc/.wh.motd"));
    EXPECT_FALSE(has("etc/motd"));
    EXPECT_TRUE(has("var/.wh..wh..opq"));
    EXPECT_TRUE(has("var/new"));

    // And back: applying it to a fresh dir gives the same overlay form.
    ::mkdir((u->tmp.path + "/again").c_str(), 0755);
    auto again_source = MUST(sys::open(u->tmp.path + "/changes.tar", O_RDONLY));
    auto again = MUST(sys::open(u->tmp.path + "/again", O_PATH | O_DIRECTORY));
    auto applied = extract_archive(again_source, again, ExtractOptions { .whiteouts = Whiteouts::Overlay });
    ASSERT_FALSE(applied.is_error()) << applied.error().message();
    struct stat st {
    }, h1 {}, h2 {};
    ASSERT_EQ(::lstat((u->tmp.path + "/again/etc/motd").c_str(), &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode));
    EXPECT_EQ(read_text(u->tmp.path + "/again/var/new"), "n");
    ASSERT_EQ(::lstat((u->tmp.path + "/again/hard1").c_str(), &h1), 0);
    ASSERT_EQ(::lstat((u->tmp.path + "/again/hard2").c_str(), &h2), 0);
    EXPECT_EQ(h1.st_ino, h2.st_ino);
}
