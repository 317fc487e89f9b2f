// Container root file systems as data, changes export/apply and commit (no root needed:
// whiteouts are 0/0 character devices, which unprivileged users may create since 5.8).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "image/extract.h"
#include "image/import.h"
#include "image/overlay.h"
#include "test_util.h"

using namespace cryo;
using namespace cryo::image;
using namespace cryo::image::test;

namespace {

struct Fixture {
    TempDir tmp;
    Store store;
    ImageRecord image;
    Fixture()
        : store(MUST(Store::open(tmp.path + "/store")))
    {
        auto base = write_tar(tmp.path + "/base.tar",
                              { { .path = "./", .type = 'd', .mode = 0755 },
                                { .path = "etc/motd", .data = "base" },
                                { .path = "etc/keep", .data = "keep" },
                                { .path = "var/lib/a", .data = "a" } });
        image = MUST(import_image(store, "base", base));
    }
};

} // namespace

TEST(Overlay, PlanListsLayersTopFirst)
{
    TempDir tmp;
    auto store = MUST(Store::open(tmp.path + "/store"));
    ImageRecord image { .name = "x",
                        .layers = { std::string(64, 'a'), std::string(64, 'b') },
                        .config = {},
                        .source = "",
                        .kind = "",
                        .created = "" };
    auto mounts = MUST(plan_container_rootfs(store, image, "/run/cryo/c1/"));
    ASSERT_EQ(mounts.lower_dirs.size(), 2u);
    EXPECT_EQ(mounts.lower_dirs[0], store.layer_rootfs(std::string(64, 'b')));
    EXPECT_EQ(mounts.lower_dirs[1], store.layer_rootfs(std::string(64, 'a')));
    EXPECT_EQ(mounts.upper_dir, "/run/cryo/c1/upper");
    EXPECT_EQ(mounts.target, "/run/cryo/c1/rootfs");
    EXPECT_EQ(mounts.options(),
              fmt::format("lowerdir={}:{},upperdir=/run/cryo/c1/upper,workdir=/run/cryo/c1/work,"
                          "index=off,redirect_dir=off,metacopy=off",
                          mounts.lower_dirs[0], mounts.lower_dirs[1]));
    EXPECT_TRUE(plan_container_rootfs(store, image, "/run/a,b").is_error());
    EXPECT_TRUE(plan_container_rootfs(store, image, "relative").is_error());
    ImageRecord huge = image;
    huge.layers.assign(60, std::string(64, 'c'));
    auto too_long = plan_container_rootfs(store, huge, "/run/cryo/c1");
    ASSERT_TRUE(too_long.is_error());
    EXPECT_NE(too_long.error().message().find("longer than a page"), std::string::npos);
}

TEST(Overlay, PrepareCreatesDirsAndProtectsLayersUntilRelease)
{
    Fixture f;
    auto ct = f.tmp.path + "/ct";
    MUST(sys::mkdir(ct, 0700));
    auto mounts = prepare_container_rootfs(f.store, "base", ct);
    ASSERT_FALSE(mounts.is_error()) << mounts.error().message();
    EXPECT_TRUE(sys::exists(ct + "/upper"));
    EXPECT_TRUE(sys::exists(ct + "/work"));
    EXPECT_TRUE(sys::exists(ct + "/rootfs"));
    EXPECT_EQ(mounts->lower_dirs, std::vector<std::string> { f.store.layer_rootfs(f.image.layers[0]) });
    auto again = prepare_container_rootfs(f.store, "base", ct);
    ASSERT_TRUE(again.is_error());
    EXPECT_NE(again.error().message().find("already exists"), std::string::npos);

    MUST(f.store.remove_image("base"));
    EXPECT_TRUE(MUST(f.store.collect_garbage()).empty()); // the container still uses it
    MUST(release_container_rootfs(f.store, ct));
    EXPECT_FALSE(sys::exists(ct + "/upper"));
    EXPECT_EQ(MUST(f.store.collect_garbage()), f.image.layers);

    auto missing = prepare_container_rootfs(f.store, "base", ct);
    ASSERT_TRUE(missing.is_error());
    EXPECT_NE(missing.error().message().find("image base: no such image"), std::string::npos);
    EXPECT_FALSE(sys::exists(ct + "/upper"));
}

TEST(Overlay, ExportApplyAndCommitCarryWhiteoutsAndOpaqueDirs)
{
    Fixture f;
    // An upper dir as overlayfs would leave it after: echo new > /etc/motd; rm /etc/keep;
    // rm -r /var/lib; mkdir /var/lib; echo b > /var/lib/b.
    auto upper = f.tmp.path + "/upper";
    MUST(sys::mkdir_all(upper + "/etc", 0755));
    MUST(sys::mkdir_all(upper + "/var/lib", 0755));
    write_text(upper + "/etc/motd", "changed");
    ASSERT_EQ(::mknod((upper + "/etc/keep").c_str(), S_IFCHR | 0, makedev(0, 0)), 0);
    char const* opaque_key = geteuid() == 0 ? "trusted.overlay.opaque" : "user.overlay.opaque";
    ASSERT_EQ(::lsetxattr((upper + "/var/lib").c_str(), opaque_key, "y", 1, 0), 0);
    write_text(upper + "/var/lib/b", "b");

    auto tar_path = f.tmp.path + "/changes.tar";
    {
        auto out = MUST(sys::open(tar_path, O_WRONLY | O_CREAT | O_EXCL, 0600));
        MUST(export_changes(upper, out));
    }
    auto tar = MUST(sys::open(tar_path, O_RDONLY));
    auto names = MUST(list_archive(tar, 100));
    auto has = [&](std::string const& n) { return std::find(names.begin(), names.end(), n) != names.end(); };
    EXPECT_TRUE(has("etc/motd"));
    EXPECT_TRUE(has("etc/.wh.keep"));
    EXPECT_TRUE(has("var/lib/.wh..wh..opq"));
    EXPECT_TRUE(has("var/lib/b"));

    // Applied on "another machine": the same upper dir comes back.
    auto moved = f.tmp.path + "/moved";
    MUST(sys::mkdir(moved, 0755));
    auto again = MUST(sys::open(tar_path, O_RDONLY));
    MUST(apply_changes(again, moved));
    EXPECT_EQ(read_text(moved + "/etc/motd"), "changed");
    struct stat st { };
    ASSERT_EQ(::lstat((moved + "/etc/keep").c_str(), &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
    char value[4] = {};
    ssize_t got = ::lgetxattr((moved + "/var/lib").c_str(), "trusted.overlay.opaque", value, sizeof value);
    if (got < 0)
        got = ::lgetxattr((moved + "/var/lib").c_str(), "user.overlay.opaque", value, sizeof value);
    EXPECT_EQ(got, 1);

    auto committed = commit(f.store, upper, "base", "base-changed");
    ASSERT_FALSE(committed.is_error()) << committed.error().message();
    ASSERT_EQ(committed->layers.size(), 2u);
    EXPECT_EQ(committed->layers[0], f.image.layers[0]);
    auto top = f.store.layer_rootfs(committed->layers[1]);
    EXPECT_EQ(read_text(top + "/etc/motd"), "changed");
    ASSERT_EQ(::lstat((top + "/etc/keep").c_str(), &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode));
    EXPECT_EQ(MUST(f.store.read_image("base-changed")).kind, "commit");
    EXPECT_EQ(count_entries(f.store.tmp_dir()), 0u);

    auto clash = commit(f.store, upper, "base", "base-changed");
    ASSERT_TRUE(clash.is_error());
    EXPECT_NE(clash.error().message().find("already exists"), std::string::npos);
    auto no_base = commit(f.store, upper, "nope", "other");
    ASSERT_TRUE(no_base.is_error());
    EXPECT_EQ(no_base.error().message().find("commit other: image nope: no such image"), 0u)
        << no_base.error().message();
    EXPECT_FALSE(f.store.has_image("other"));
}

TEST(Overlay, WritableDirHoldsUpperAndWorkButNotTheTarget)
{
    Fixture f;
    auto ct = f.tmp.path + "/ct";
    auto disk = f.tmp.path + "/disk";
    MUST(sys::mkdir(ct, 0700));
    MUST(sys::mkdir(disk, 0700));
    auto planned = MUST(plan_container_rootfs(f.store, f.image, ct, disk + "/"));
    EXPECT_EQ(planned.upper_dir, disk + "/upper");
    EXPECT_EQ(planned.work_dir, disk + "/work");
    EXPECT_EQ(planned.target, ct + "/rootfs");
    auto mounts = prepare_container_rootfs(f.store, "base", ct, disk);
    ASSERT_FALSE(mounts.is_error()) << mounts.error().message();
    EXPECT_TRUE(sys::exists(disk + "/upper"));
    EXPECT_TRUE(sys::exists(disk + "/work"));
    EXPECT_FALSE(sys::exists(ct + "/upper"));
    EXPECT_TRUE(sys::exists(ct + "/rootfs"));
    EXPECT_EQ(MUST(f.store.container_image(ct)), "base");
    MUST(release_container_rootfs(f.store, ct, disk));
    EXPECT_FALSE(sys::exists(disk + "/upper"));
    EXPECT_FALSE(sys::exists(disk + "/work"));
    EXPECT_FALSE(sys::exists(ct + "/rootfs"));
    EXPECT_TRUE(f.store.container_image(ct).is_error());
}
