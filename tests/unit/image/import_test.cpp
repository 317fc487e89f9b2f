// Import of each source kind, and bad input: digest mismatch, unknown media types, corrupt
// and truncated archives. After every failure the store holds exactly what it held before.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "image/import.h"
#include "image/sha256.h"
#include "test_util.h"

using namespace cryo;
using namespace cryo::image;
using namespace cryo::image::test;
using nlohmann::json;

namespace {

struct Layer {
    std::vector<Entry> entries;
    Compression compression { Compression::Gzip };
    std::string media_type { "application/vnd.oci.image.layer.v1.tar+gzip" };
};

std::string put_blob(std::string const& layout, std::string const& bytes)
{
    auto hex = sha256_hex(bytes);
    write_text(layout + "/blobs/sha256/" + hex, bytes);
    return hex;
}

std::string uncompressed_digest(std::vector<Entry> const& entries, std::string const& scratch)
{
    write_tar(scratch, entries, Compression::None);
    return sha256_hex(MUST(sys::read_file(scratch)));
}

// An OCI image layout directory with the given layers; `edit` may change the documents.
struct LayoutDocs {
    json config;
    json manifest;
    json index;
    std::vector<std::string> layer_digests;
};

LayoutDocs make_oci_layout(std::string const& layout, std::vector<Layer> const& layers,
                           std::function<void(LayoutDocs&)> const& edit = {})
{
    MUST(sys::mkdir_all(layout + "/blobs/sha256", 0755));
    write_text(layout + "/oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
    LayoutDocs docs;
    docs.config = { { "architecture", "amd64" },
                    { "os", "linux" },
                    { "config",
                      { { "Env", { "PATH=/bin", "A=1" } },
                        { "Cmd", { "/bin/sh" } },
                        { "Entrypoint", { "/init" } },
                        { "WorkingDir", "/srv" },
                        { "User", "1000:1000" } } },
                    { "rootfs", { { "type", "layers" }, { "diff_ids", json::array() } } } };
    json layer_descs = json::array();
    for (size_t i = 0; i < layers.size(); ++i) {
        auto scratch = layout + "/scratch.tar";
        docs.config["rootfs"]["diff_ids"].push_back("sha256:" + uncompressed_digest(layers[i].entries, scratch));
        write_tar(scratch, layers[i].entries, layers[i].compression);
        auto bytes = MUST(sys::read_file(scratch));
        ::unlink(scratch.c_str());
        auto hex = put_blob(layout, bytes);
        docs.layer_digests.push_back(hex);
        layer_descs.push_back(
            { { "mediaType", layers[i].media_type }, { "digest", "sha256:" + hex }, { "size", bytes.size() } });
    }
    docs.manifest = { { "schemaVersion", 2 },
                      { "mediaType", "application/vnd.oci.image.manifest.v1+json" },
                      { "config", { { "mediaType", "application/vnd.oci.image.config.v1+json" } } },
                      { "layers", layer_descs } };
    if (edit)
        edit(docs);
    auto config_text = docs.config.dump();
    docs.manifest["config"]["digest"] = "sha256:" + put_blob(layout, config_text);
    docs.manifest["config"]["size"] = config_text.size();
    auto manifest_text = docs.manifest.dump();
    auto manifest_hex = put_blob(layout, manifest_text);
    docs.index = { { "schemaVersion", 2 },
                   { "manifests",
                     { { { "mediaType", "application/vnd.oci.image.manifest.v1+json" },
                         { "digest", "sha256:" + manifest_hex },
                         { "size", manifest_text.size() },
                         { "platform", { { "os", "linux" }, { "architecture", "amd64" } } } } } } };
    write_text(layout + "/index.json", docs.index.dump());
    return docs;
}

// Packs a directory's files into a tar (what `skopeo copy oci-archive:` or docker save give).
std::string tar_of_dir(std::string const& dir, std::string const& out)
{
    std::vector<Entry> entries;
    std::function<void(std::string const&)> walk = [&](std::string const& rel) {
        for (auto const& name : MUST(sys::list_dir(dir + (rel.empty() ? "" : "/" + rel)))) {
            auto path = rel.empty() ? name : rel + "/" + name;
            auto st = MUST(sys::lstat(dir + "/" + path));
            if (S_ISDIR(st.st_mode)) {
                entries.push_back({ .path = path + "/", .type = 'd', .mode = 0755 });
                walk(path);
            } else {
                entries.push_back({ .path = path, .data = MUST(sys::read_file(dir + "/" + path)) });
            }
        }
    };
    walk("");
    return write_tar(out, entries);
}

std::vector<Layer> two_layers()
{
    return {
        Layer { .entries = { { .path = "bin/sh", .data = "sh", .mode = 0755 },
                             { .path = "etc/motd", .data = "hello" },
                             { .path = "var/cache/old", .data = "old" } } },
        Layer { .entries = { { .path = "etc/.wh.motd", .data = "" },
                             { .path = "var/cache/.wh..wh..opq", .data = "" },
                             { .path = "var/cache/new", .data = "new" },
                             { .path = "bin/extra", .data = "x" } },
                .compression = Compression::Zstd,
                .media_type = "application/vnd.oci.image.layer.v1.tar+zstd" },
    };
}

// The store's visible state: images and layers (tmp/ must be empty).
std::string store_state(Store const& store)
{
    std::string state;
    for (auto const& name : MUST(sys::list_dir(store.root() + "/images")))
        state += "image " + name + "\n";
    for (auto const& name : MUST(sys::list_dir(store.root() + "/layers")))
        state += "layer " + name + "\n";
    state += fmt::format("tmp {}\n", count_entries(store.tmp_dir()));
    return state;
}

void expect_failure_leaves_store(Store const& store, std::string const& name, std::string const& source,
                                 std::string const& message_part)
{
    auto before = store_state(store);
    auto result = import_image(store, name, source);
    ASSERT_TRUE(result.is_error()) << source;
    auto message = result.error().message();
    EXPECT_NE(message.find(message_part), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_EQ(message.rfind("import " + name, 0), 0u) << message; // names the thing first
    EXPECT_EQ(store_state(store), before);
}

} // namespace

TEST(Import, OciLayoutDirectoryWithWhiteoutsAndConfig)
{
    TempDir tmp;
    auto store = MUST(Store::open(tmp.path + "/store"));
    auto docs = make_oci_layout(tmp.path + "/layout", two_layers());
    EXPECT_EQ(MUST(detect_source(tmp.path + "/layout")), SourceKind::OciLayout);
    auto record = import_image(store, "app", tmp.path + "/layout");
    ASSERT_FALSE(record.is_error()) << record.error().message();
    EXPECT_EQ(record->kind, "oci");
    ASSERT_EQ(record->layers.size(), 2u);
    EXPECT_EQ(record->layers[0], *parse_digest(docs.config["rootfs"]["diff_ids"][0].get<std::string>()));
    EXPECT_EQ(record->config.env, (std::vector<std::string> { "PATH=/bin", "A=1" }));
    EXPECT_EQ(record->config.cmd, (std::vector<std::string> { "/bin/sh" }));
    EXPECT_EQ(record->config.entrypoint, (std::vector<std::string> { "/init" }));
    EXPECT_EQ(record->config.workdir, "/srv");
    EXPECT_EQ(record->config.user, "1000:1000");
    auto top = store.layer_rootfs(record->layers[1]);
    struct stat st { };
    ASSERT_EQ(::lstat((top + "/etc/motd").c_str(), &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
    EXPECT_EQ(read_text(store.layer_rootfs(record->layers[0]) + "/etc/motd"), "hello");
    EXPECT_EQ(MUST(store.read_image("app")).config, record->config);
}

TEST(Import, OciArchiveSharesLayersWithTheLayoutImport)
{
    TempDir tmp;
    auto store = MUST(Store::open(tmp.path + "/store"));
    make_oci_layout(tmp.path + "/layout", two_layers());
    tar_of_dir(tmp.path + "/layout", tmp.path + "/image.tar");
    EXPECT_EQ(MUST(detect_source(tmp.path + "/image.tar")), SourceKind::OciArchive);
    auto from_dir = MUST(import_image(store, "dir", tmp.path + "/layout"));
    auto from_tar = import_image(store, "tar", tmp.path + "/image.tar");
    ASSERT_FALSE(from_tar.is_error()) << from_tar.error().message();
    EXPECT_EQ(from_tar->layers, from_dir.layers);
    EXPECT_EQ(count_entries(store.root() + "/layers"), 2u);
    EXPECT_EQ(count_entries(store.tmp_dir()), 0u);
}

TEST(Import, DockerSaveArchive)
{
    TempDir tmp;
    auto store = MUST(Store::open(tmp.path + "/store"));
    auto dir = tmp.path + "/docker";
    auto layers = two_layers();
    json config = { { "config", { { "Cmd", { "sh" } }, { "Env", { "X=y" } } } },
                    { "rootfs", { { "diff_ids", json::array() } } } };
    json manifest_layers = json::array();
    for (size_t i = 0; i < layers.size(); ++i) {
        auto id = fmt::format("{:064x}", i + 1);
        MUST(sys::mkdir_all(dir + "/" + id, 0755));
        write_tar(dir + "/" + id + "/layer.tar", layers[i].entries, Compression::None);
        config["rootfs"]["diff_ids"].push_back("sha256:"
                                               + sha256_hex(MUST(sys::read_file(dir + "/" + id + "/layer.tar"))));
        write_text(dir + "/" + id + "/VERSION", "1.0");
        manifest_layers.push_back(id + "/layer.tar");
    }
    auto config_text = config.dump();
    write_text(dir + "/" + sha256_hex(config_text) + ".json", config_text);
    json manifest = json::array({ { { "Config", sha256_hex(config_text) + ".json" },
                                    { "RepoTags", { "x:latest" } },
                                    { "Layers", manifest_layers } } });
    write_text(dir + "/manifest.json", manifest.dump());
    write_text(dir + "/repositories", "{}");
    tar_of_dir(dir, tmp.path + "/saved.tar");
    EXPECT_EQ(MUST(detect_source(tmp.path + "/saved.tar")), SourceKind::DockerArchive);
    auto record = import_image(store, "saved", tmp.path + "/saved.tar");
    ASSERT_FALSE(record.is_error()) << record.error().message();
    EXPECT_EQ(record->kind, "docker");
    ASSERT_EQ(record->layers.size(), 2u);
    EXPECT_EQ(record->config.cmd, (std::vector<std::string> { "sh" }));
    struct stat st { };
    ASSERT_EQ(::lstat((store.layer_rootfs(record->layers[1]) + "/etc/motd").c_str(), &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode));

    // A layer whose content does not match its diff_id.
    write_tar(dir + "/" + fmt::format("{:064x}", 2) + "/layer.tar", { { .path = "evil", .data = "changed" } });
    tar_of_dir(dir, tmp.path + "/tampered.tar");
    expect_failure_leaves_store(store, "tampered", tmp.path + "/tampered.tar", "digest mismatch");
}

TEST(Import, PodmanSaveArchiveWithTopLevelLayerTars)
{
    TempDir tmp;
    auto store = MUST(Store::open(tmp.path + "/store"));
    auto dir = tmp.path + "/podman";
    MUST(sys::mkdir_all(dir, 0755));
    write_tar(tmp.path + "/layer.tar", { { .path = "bin/sh", .data = "sh" } });
    auto layer_bytes = MUST(sys::read_file(tmp.path + "/layer.tar"));
    auto layer_hex = sha256_hex(layer_bytes);
    write_text(dir + "/" + layer_hex + ".tar", layer_bytes);
    json config
        = { { "config", { { "Cmd", { "sh" } } } }, { "rootfs", { { "diff_ids", { "sha256:" + layer_hex } } } } };
    auto config_text = config.dump();
    write_text(dir + "/" + sha256_hex(config_text) + ".json", config_text);
    json manifest
        = json::array({ { { "Config", sha256_hex(config_text) + ".json" }, { "Layers", { layer_hex + ".tar" } } } });
    write_text(dir + "/manifest.json", manifest.dump());
    tar_of_dir(dir, tmp.path + "/podman.tar");
    EXPECT_EQ(MUST(detect_source(tmp.path + "/podman.tar")), SourceKind::DockerArchive);
    auto record = import_image(store, "podman", tmp.path + "/podman.tar");
    ASSERT_FALSE(record.is_error()) << record.error().message();
    EXPECT_EQ(record->layers, std::vector<std::string> { layer_hex });
    EXPECT_EQ(read_text(store.layer_rootfs(layer_hex) + "/bin/sh"), "sh");
}

TEST(Import, DirectoryKeepsHardLinksAndIsStoredOnce)
{
    TempDir tmp;
    auto store = MUST(Store::open(tmp.path + "/store"));
    auto src = tmp.path + "/rootfs";
    MUST(sys::mkdir_all(src + "/usr/bin", 0755));
    write_text(src + "/usr/bin/busybox", "BB");
    ASSERT_EQ(::link((src + "/usr/bin/busybox").c_str(), (src + "/usr/bin/sh").c_str()), 0);
    ASSERT_EQ(::symlink("usr/bin", (src + "/bin").c_str()), 0);
    ASSERT_EQ(::mkfifo((src + "/fifo").c_str(), 0600), 0);
    EXPECT_EQ(MUST(detect_source(src)), SourceKind::Directory);
    auto record = import_image(store, "tree", src);
    ASSERT_FALSE(record.is_error()) << record.error().message();
    EXPECT_EQ(record->kind, "directory");
    auto layer = store.layer_rootfs(record->layers[0]);
    struct stat a {
    }, b {}, f {};
    ASSERT_EQ(::lstat((layer + "/usr/bin/busybox").c_str(), &a), 0);
    ASSERT_EQ(::lstat((layer + "/usr/bin/sh").c_str(), &b), 0);
    EXPECT_EQ(a.st_ino, b.st_ino);
    EXPECT_EQ(*sys::readlink(layer + "/bin"), "usr/bin");
    ASSERT_EQ(::lstat((layer + "/fifo").c_str(), &f), 0);
    EXPECT_TRUE(S_ISFIFO(f.st_mode));
    EXPECT_EQ(count_entries(store.tmp_dir()), 0u);
}

TEST(Import, RootfsTarballsOfEveryCompression)
{
    TempDir tmp;
    auto store = MUST(Store::open(tmp.path + "/store"));
    std::vector<Entry> entries = { { .path = "bin/sh", .data = "sh" }, { .path = "etc/hostname", .data = "h" } };
    std::string layer;
    int i = 0;
    for (auto compression : { Compression::None, Compression::Gzip, Compression::Xz, Compression::Zstd }) {
        auto path = write_tar(fmt::format("{}/r{}.tar", tmp.path, i), entries, compression);
        EXPECT_EQ(MUST(detect_source(path)), SourceKind::RootfsTarball);
        auto record = import_image(store, fmt::format("r{}", i++), path);
        ASSERT_FALSE(record.is_error()) << record.error().message();
        if (layer.empty())
            layer = record->layers[0];
        EXPECT_EQ(record->layers[0], layer); // keyed by the uncompressed stream
    }
    EXPECT_EQ(count_entries(store.root() + "/layers"), 1u);
}

TEST(ImportBadInput, DigestMismatchOfALayerBlob)
{
    TempDir tmp;
    auto store = MUST(Store::open(tmp.path + "/store"));
    MUST(import_image(store, "keep", write_tar(tmp.path + "/k.tar", { { .path = "k", .data = "k" } })));
    auto docs = make_oci_layout(tmp.path + "/layout", two_layers());
    // Corrupt the second layer's blob in place: same name, other bytes.
    auto blob = tmp.path + "/layout/blobs/sha256/" + docs.layer_digests[1];
    write_tar(blob, { { .path = "x", .data = "tampered" } }, Compression::Zstd);
    expect_failure_leaves_store(store, "bad", tmp.path + "/layout", "digest mismatch");
    EXPECT_FALSE(store.has_image("bad"));
}

TEST(ImportBadInput, DiffIdMismatch)
{
    TempDir tmp;
    auto store = MUST(Store::open(tmp.path + "/store"));
    make_oci_layout(tmp.path + "/layout", two_layers(),
                    [](LayoutDocs& docs) { docs.config["rootfs"]["diff_ids"][1] = "sha256:" + std::string(64, '0'); });
    expect_failure_leaves_store(store, "bad", tmp.path + "/layout", "uncompressed digest mismatch");
}

TEST(ImportBadInput, UnknownMediaTypes)
{
    TempDir tmp;
    auto store = MUST(Store::open(tmp.path + "/store"));
    auto layers = two_layers();
    layers[1].media_type = "application/vnd.example.mystery";
    make_oci_layout(tmp.path + "/layer", layers);
    expect_failure_leaves_store(store, "bad", tmp.path + "/layer",
                                "unknown media type \"application/vnd.example.mystery\"");
    make_oci_layout(tmp.path + "/config", two_layers(),
                    [](LayoutDocs& docs) { docs.manifest["config"]["mediaType"] = "text/plain"; });
    expect_failure_leaves_store(store, "bad", tmp.path + "/config", "unknown media type \"text/plain\"");
}

TEST(ImportBadInput, CorruptTruncatedAndMissingSources)
{
    TempDir tmp;
    auto store = MUST(Store::open(tmp.path + "/store"));
    std::vector<Entry> entries;
    for (int i = 0; i < 50; ++i)
        entries.push_back({ .path = fmt::format("f{}", i), .data = std::string(10000, 'x') });
    auto good = MUST(sys::read_file(write_tar(tmp.path + "/good.tar.gz", entries, Compression::Gzip)));
    write_text(tmp.path + "/truncated.tar.gz", good.substr(0, good.size() * 2 / 3));
    expect_failure_leaves_store(store, "t", tmp.path + "/truncated.tar.gz", "truncated.tar.gz");
    auto corrupt = good;
    for (size_t i = 200; i < 400; ++i)
        corrupt[i] = static_cast<char>(corrupt[i] ^ 0x5a);
    write_text(tmp.path + "/corrupt.tar.gz", corrupt);
    expect_failure_leaves_store(store, "c", tmp.path + "/corrupt.tar.gz", "corrupt.tar.gz");
    expect_failure_leaves_store(store, "m", tmp.path + "/does-not-exist", "No such file or directory");
    write_text(tmp.path + "/escape.tar", "");
    write_tar(tmp.path + "/escape.tar", { { .path = "ok", .data = "1" }, { .path = "../../escaped", .data = "2" } });
    expect_failure_leaves_store(store, "e", tmp.path + "/escape.tar", "refused");
    EXPECT_FALSE(sys::exists(tmp.path + "/escaped"));
    EXPECT_FALSE(sys::exists(store.root() + "/escaped"));
}

TEST(ImportBadInput, MissingBlobInLayout)
{
    TempDir tmp;
    auto store = MUST(Store::open(tmp.path + "/store"));
    auto docs = make_oci_layout(tmp.path + "/layout", two_layers());
    ::unlink((tmp.path + "/layout/blobs/sha256/" + docs.layer_digests[1]).c_str());
    expect_failure_leaves_store(store, "bad", tmp.path + "/layout", docs.layer_digests[1]);
}

TEST(ImportBadInput, KilledImportLeavesNoVisibleLayer)
{
    TempDir tmp;
    auto store = MUST(Store::open(tmp.path + "/store"));
    std::vector<Entry> entries;
    for (int i = 0; i < 1500; ++i)
        entries.push_back({ .path = fmt::format("d{}/f{}", i % 30, i), .data = std::string(4000, 'k') });
    auto tar = write_tar(tmp.path + "/big.tar", entries);
    for (int delay_ms : { 5, 30, 80 }) {
        pid_t child = fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            auto own = Store::open(tmp.path + "/store");
            (void)import_image(*own, "big", tar);
            _exit(0);
        }
        usleep(delay_ms * 1000);
        kill(child, SIGKILL);
        int status = 0;
        waitpid(child, &status, 0);
        // Either the import finished (a complete layer and image) or nothing is visible.
        auto layers = MUST(sys::list_dir(store.root() + "/layers"));
        if (store.has_image("big")) {
            ASSERT_EQ(layers.size(), 1u);
            EXPECT_EQ(MUST(store.layer_info(layers[0])).entries, 1500u);
            MUST(store.remove_image("big"));
            MUST(store.collect_garbage());
        } else {
            for (auto const& layer : layers) // published but not yet named: complete
                EXPECT_EQ(MUST(store.layer_info(layer)).entries, 1500u);
        }
    }
    auto record = import_image(store, "after", tar);
    ASSERT_FALSE(record.is_error()) << record.error().message();
    EXPECT_EQ(count_entries(store.tmp_dir()), 0u);
    EXPECT_EQ(count_entries(store.root() + "/layers"), 1u);
}
