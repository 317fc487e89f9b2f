// The store: names, records, sharing, garbage collection, leftovers, locking.
#include <gtest/gtest.h>
#include <thread>

#include "image/import.h"
#include "image/store.h"
#include "test_util.h"

using namespace cryo;
using namespace cryo::image;
using namespace cryo::image::test;

namespace {

std::string rootfs_tar(std::string const& dir, std::string const& name, std::string const& marker)
{
    return write_tar(dir + "/" + name,
                     { { .path = "./", .type = 'd', .mode = 0755 },
                       { .path = "bin/", .type = 'd', .mode = 0755 },
                       { .path = "bin/sh", .data = "#!shell\n", .mode = 0755 },
                       { .path = "etc/marker", .data = marker } },
                     Compression::Gzip);
}

} // namespace

TEST(ImageName, Validation)
{
    for (auto const* good : { "busybox", "library/alpine:3.19", "my-app@v2", "a.b_c" })
        EXPECT_FALSE(validate_image_name(good).is_error()) << good;
    for (auto const* bad : { "", "../x", "a/../b", "/abs", "sp ace", "a%2Fb", ".hidden", "a//b", "x/" })
        EXPECT_TRUE(validate_image_name(bad).is_error()) << bad;
    EXPECT_TRUE(validate_image_name(std::string(129, 'a')).is_error());
}

TEST(Digest, Parse)
{
    std::string hex(64, 'a');
    EXPECT_EQ(*parse_digest("sha256:" + hex), hex);
    EXPECT_EQ(*parse_digest(hex), hex);
    EXPECT_TRUE(parse_digest("sha512:" + hex).is_error());
    EXPECT_TRUE(parse_digest("sha256:" + std::string(63, 'a')).is_error());
    EXPECT_TRUE(parse_digest("sha256:" + std::string(64, 'A')).is_error());
}

TEST(Store, ImportListInspectRemove)
{
    TempDir tmp;
    auto store = MUST(Store::open(tmp.path + "/store"));
    auto tar = rootfs_tar(tmp.path, "root.tar.gz", "one");
    auto record = import_image(store, "busybox", tar);
    ASSERT_FALSE(record.is_error()) << record.error().message();
    ASSERT_EQ(record->layers.size(), 1u);
    EXPECT_EQ(record->kind, "rootfs-tar");
    EXPECT_EQ(read_text(store.layer_rootfs(record->layers[0]) + "/etc/marker"), "one");
    auto info = MUST(store.layer_info(record->layers[0]));
    EXPECT_EQ(info.size, 8u + 3u);

    auto read = MUST(store.read_image("busybox"));
    EXPECT_EQ(read.layers, record->layers);
    EXPECT_EQ(read.source, tar);
    auto all = MUST(store.list_images());
    ASSERT_EQ(all.size(), 1u);
    EXPECT_EQ(all[0].name, "busybox");

    MUST(store.remove_image("busybox"));
    EXPECT_EQ(MUST(store.collect_garbage()), record->layers);
    EXPECT_EQ(count_entries(store.root() + "/layers"), 0u);
    auto missing = store.read_image("busybox");
    ASSERT_TRUE(missing.is_error());
    EXPECT_NE(missing.error().message().find("image busybox: no such image"), std::string::npos)
        << missing.error().message();
    auto rm_missing = store.remove_image("busybox");
    ASSERT_TRUE(rm_missing.is_error());
    EXPECT_NE(rm_missing.error().message().find("no such image"), std::string::npos);
}

TEST(Store, SharedLayerStoredOnceAndKeptUntilLastImageGoes)
{
    TempDir tmp;
    auto store = MUST(Store::open(tmp.path + "/store"));
    auto tar = rootfs_tar(tmp.path, "root.tar.gz", "same");
    auto a = MUST(import_image(store, "a", tar));
    auto b = MUST(import_image(store, "library/b:1", tar));
    EXPECT_EQ(a.layers, b.layers);
    EXPECT_EQ(count_entries(store.root() + "/layers"), 1u);
    auto names = MUST(store.list_images());
    ASSERT_EQ(names.size(), 2u);
    EXPECT_EQ(names[0].name, "a");
    EXPECT_EQ(names[1].name, "library/b:1");

    MUST(store.remove_image("a"));
    EXPECT_TRUE(MUST(store.collect_garbage()).empty());
    EXPECT_TRUE(store.has_layer(a.layers[0]));
    MUST(store.remove_image("library/b:1"));
    EXPECT_EQ(MUST(store.collect_garbage()).size(), 1u);
    EXPECT_FALSE(store.has_layer(a.layers[0]));
}

TEST(Store, NameClashNeedsReplace)
{
    TempDir tmp;
    auto store = MUST(Store::open(tmp.path + "/store"));
    auto first = MUST(import_image(store, "img", rootfs_tar(tmp.path, "1.tar.gz", "first")));
    auto clash = import_image(store, "img", rootfs_tar(tmp.path, "2.tar.gz", "second"));
    ASSERT_TRUE(clash.is_error());
    EXPECT_EQ(clash.error().message(), "import img: image img already exists (rm it first, or use --replace)");
    EXPECT_EQ(MUST(store.read_image("img")).layers, first.layers);
    EXPECT_EQ(count_entries(store.root() + "/layers"), 1u);
    EXPECT_EQ(count_entries(store.tmp_dir()), 0u);

    auto replaced = MUST(import_image(store, "img", tmp.path + "/2.tar.gz", ImportOptions { .replace = true }));
    EXPECT_NE(replaced.layers, first.layers);
    EXPECT_EQ(read_text(store.layer_rootfs(replaced.layers[0]) + "/etc/marker"), "second");
    // The replaced image's layer is no longer referenced: collected.
    EXPECT_FALSE(store.has_layer(first.layers[0]));
}

TEST(Store, LeftoversOfAKilledImportAreSweptAndNeverVisible)
{
    TempDir tmp;
    auto store = MUST(Store::open(tmp.path + "/store"));
    // What an import killed half way leaves: a temp layer dir with part of a tree.
    auto half = MUST(store.make_temp_dir("layer"));
    MUST(sys::mkdir_all(half + "/rootfs/usr/bin", 0755));
    write_text(half + "/rootfs/usr/bin/half", "x");
    EXPECT_EQ(count_entries(store.root() + "/layers"), 0u); // nothing visible
    EXPECT_TRUE(MUST(store.list_images()).empty());
    MUST(import_image(store, "next", rootfs_tar(tmp.path, "r.tar.gz", "n")));
    EXPECT_FALSE(sys::exists(half));
    EXPECT_EQ(count_entries(store.tmp_dir()), 0u);
}

TEST(Store, BadRecordsAreClearErrors)
{
    TempDir tmp;
    auto store = MUST(Store::open(tmp.path + "/store"));
    write_text(store.root() + "/images/broken.json", "{ not json");
    auto broken = store.read_image("broken");
    ASSERT_TRUE(broken.is_error());
    EXPECT_NE(broken.error().message().find("image broken"), std::string::npos);
    ImageRecord dangling {
        .name = "dangling", .layers = { std::string(64, 'a') }, .config = {}, .source = "", .kind = "", .created = ""
    };
    auto written = store.write_image(dangling);
    ASSERT_TRUE(written.is_error());
    EXPECT_NE(written.error().message().find("is not in the store"), std::string::npos);
    EXPECT_FALSE(store.has_image("dangling"));
}

TEST(Store, ConcurrentImportsAreSerializedAndBothLand)
{
    TempDir tmp;
    auto store = MUST(Store::open(tmp.path + "/store"));
    std::vector<std::string> tars;
    for (int i = 0; i < 4; ++i) {
        std::vector<Entry> entries;
        for (int f = 0; f < 200; ++f)
            entries.push_back({ .path = fmt::format("d{}/f{}", i, f), .data = std::string(2000, char('a' + i)) });
        tars.push_back(write_tar(fmt::format("{}/{}.tar", tmp.path, i), entries, Compression::Zstd));
    }
    std::vector<Result<ImageRecord>> results(8, Error::make("not run"));
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) {
        threads.emplace_back([&, i] {
            // A store object per thread, as separate processes would have.
            auto own = MUST(Store::open(tmp.path + "/store"));
            results[i] = import_image(own, fmt::format("img{}", i), tars[i % 4]);
        });
    }
    for (auto& t : threads)
        t.join();
    for (auto& r : results)
        ASSERT_FALSE(r.is_error()) << r.error().message();
    EXPECT_EQ(MUST(store.list_images()).size(), 8u);
    EXPECT_EQ(count_entries(store.root() + "/layers"), 4u);
    EXPECT_EQ(count_entries(store.tmp_dir()), 0u);
    for (int i = 0; i < 8; ++i)
        EXPECT_EQ(results[i]->layers, results[(i + 4) % 8]->layers);
}

TEST(Store, ContainerRegistrationKeepsLayersFromGc)
{
    TempDir tmp;
    auto store = MUST(Store::open(tmp.path + "/store"));
    auto image = MUST(import_image(store, "img", rootfs_tar(tmp.path, "r.tar.gz", "r")));
    MUST(sys::mkdir(tmp.path + "/ct", 0700));
    MUST(store.register_container(tmp.path + "/ct", image));
    MUST(store.remove_image("img"));
    EXPECT_TRUE(MUST(store.collect_garbage()).empty());
    EXPECT_TRUE(store.has_layer(image.layers[0]));
    // A registration whose container dir is gone protects nothing.
    MUST(sys::rmdir(tmp.path + "/ct"));
    EXPECT_EQ(MUST(store.collect_garbage()).size(), 1u);
    MUST(store.unregister_container(tmp.path + "/ct"));
}

TEST(Store, ImportReportsProgressUpToTheSourceSize)
{
    TempDir tmp;
    auto store = MUST(Store::open(tmp.path + "/store"));
    std::vector<Entry> entries;
    for (int i = 0; i < 40; ++i)
        entries.push_back({ .path = fmt::format("f{}", i), .data = std::string(50000, char('a' + i % 26)) });
    auto tar = write_tar(tmp.path + "/p.tar", entries);
    auto size = static_cast<uint64_t>(MUST(sys::stat(tar)).st_size);
    std::vector<uint64_t> seen;
    auto record = import_image(
        store, "p", tar,
        ImportOptions { .replace = false, .progress = [&](std::string_view what, uint64_t done, uint64_t total) {
                           EXPECT_EQ(what, "layer");
                           EXPECT_EQ(total, size);
                           seen.push_back(done);
                       } });
    ASSERT_FALSE(record.is_error()) << record.error().message();
    ASSERT_GT(seen.size(), 1u);
    EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
    EXPECT_EQ(seen.back(), size);
}
