#include "image/import.h"

#include <sys/stat.h>

#include "base/scope_guard.h"
#include "sys/file.h"
#include "sys/mounts.h"

namespace cryo::image {

namespace {

bool is_hex64(std::string_view text)
{
    return text.size() == 64 && text.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

// Could this archive member belong to an OCI layout or a docker save archive?
bool looks_like_image_member(std::string const& name)
{
    if (name.empty() || name == "blobs" || name.starts_with("blobs/"))
        return true;
    auto slash = name.find('/');
    auto first = name.substr(0, slash);
    // podman save names layers "<hex>.tar" at the top level.
    if (slash == std::string::npos)
        return first == "oci-layout" || first == "index.json" || first == "manifest.json" || first == "repositories"
            || first.ends_with(".json") || is_hex64(first.substr(0, 64));
    return is_hex64(first); // legacy docker: <id>/layer.tar, <id>/json, <id>/VERSION
}

SourceKind kind_of_unpacked(std::string const& dir)
{
    if (sys::exists(dir + "/oci-layout") && sys::exists(dir + "/index.json"))
        return SourceKind::OciLayout;
    if (sys::exists(dir + "/manifest.json") && sys::exists(dir + "/blobs"))
        return SourceKind::DockerArchive;
    if (sys::exists(dir + "/manifest.json") && !sys::exists(dir + "/bin") && !sys::exists(dir + "/etc"))
        return SourceKind::DockerArchive;
    return SourceKind::Directory;
}

Result<Fd> open_rootfs_dir(std::string const& path)
{
    return sys::open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW);
}

} // namespace

std::string_view to_string(SourceKind kind)
{
    switch (kind) {
    case SourceKind::RootfsTarball:
        return "rootfs-tar";
    case SourceKind::Directory:
        return "directory";
    case SourceKind::OciLayout:
    case SourceKind::OciArchive:
        return "oci";
    case SourceKind::DockerArchive:
        return "docker";
    }
    return "unknown";
}

Result<SourceKind> detect_source(std::string const& path)
{
    auto st = TRY(sys::stat(path));
    if (S_ISDIR(st.st_mode))
        return kind_of_unpacked(path);
    if (!S_ISREG(st.st_mode))
        return Error::make("not a regular file or directory");
    auto file = TRY(sys::open(path, O_RDONLY));
    // An image archive's members are few and named after digests; a root file system shows
    // an ordinary path ("bin/sh") within its first entries. docker save writes
    // manifest.json last, so the decision is made on the first member that cannot be part
    // of an image, or at the end.
    auto names = TRY(list_archive(file, 100000));
    bool has_oci = false;
    bool has_docker = false;
    for (auto const& name : names) {
        if (!looks_like_image_member(name))
            return SourceKind::RootfsTarball;
        has_oci |= name == "oci-layout" || name == "index.json";
        has_docker |= name == "manifest.json";
    }
    if (has_oci)
        return SourceKind::OciArchive;
    if (has_docker)
        return SourceKind::DockerArchive;
    return SourceKind::RootfsTarball;
}

Result<std::string> import_layer(Store const& store, FdRef source, LayerCheck const& check, ProgressFn const& progress)
{
    if (check.diff_id && store.has_layer(*check.diff_id)) {
        // Stored once: the source is only read to verify that it is what it claims to be.
        auto digests = TRY(hash_archive(source));
        if (check.blob_digest && digests.blob_digest != *check.blob_digest)
            return Error::format("layer sha256:{}: digest mismatch: got sha256:{}", *check.blob_digest,
                                 digests.blob_digest);
        if (digests.diff_digest != *check.diff_id)
            return Error::format(
                "layer sha256:{}: uncompressed digest mismatch: expected diff_id sha256:{}, got sha256:{}",
                check.blob_digest.value_or(digests.blob_digest), *check.diff_id, digests.diff_digest);
        return *check.diff_id;
    }
    auto temp = TRY(store.make_temp_dir("layer"));
    ArmedScopeGuard remove_temp([&] { (void)sys::remove_all(temp); });
    TRY(sys::mkdir(temp + "/rootfs", 0755).context("layer: create {}/rootfs", temp));
    auto rootfs = TRY(open_rootfs_dir(temp + "/rootfs"));
    ExtractOptions options { .whiteouts = check.whiteouts, .progress = {} };
    if (progress)
        options.progress = [&](uint64_t done, uint64_t total) { progress("layer", done, total); };
    auto result = TRY(extract_archive(source, rootfs, options));
    if (check.blob_digest && result.blob_digest != *check.blob_digest)
        return Error::format("layer sha256:{}: digest mismatch: got sha256:{}", *check.blob_digest, result.blob_digest);
    if (check.diff_id && result.diff_digest != *check.diff_id)
        return Error::format("layer sha256:{}: uncompressed digest mismatch: expected diff_id sha256:{}, got sha256:{}",
                             check.blob_digest.value_or(result.blob_digest), *check.diff_id, result.diff_digest);
    TRY(store.publish_layer(
        temp, LayerInfo { .digest = result.diff_digest, .size = result.size, .entries = result.entries }));
    remove_temp.disarm();
    return result.diff_digest;
}

namespace {

Result<ImageRecord> import_parsed(Store const& store, ParsedImage const& parsed, ProgressFn const& progress)
{
    ImageRecord record;
    record.config = parsed.config;
    for (auto const& blob : parsed.layers) {
        auto file = TRY(sys::open(blob.path, O_RDONLY).context("layer {}", blob.path));
        auto digest = TRY(import_layer(
            store, file,
            LayerCheck { .blob_digest = blob.blob_digest, .diff_id = blob.diff_id, .whiteouts = Whiteouts::Overlay },
            progress));
        record.layers.push_back(digest);
    }
    return record;
}

Result<ImageRecord> import_source(Store const& store, std::string const& source, SourceKind kind,
                                  ProgressFn const& progress)
{
    switch (kind) {
    case SourceKind::RootfsTarball: {
        auto file = TRY(sys::open(source, O_RDONLY));
        ImageRecord record;
        record.layers.push_back(TRY(import_layer(
            store, file, LayerCheck { .blob_digest = {}, .diff_id = {}, .whiteouts = Whiteouts::Literal }, progress)));
        return record;
    }
    case SourceKind::Directory: {
        // Through a tar in tmp/: the layer gets a digest like any other, so importing the
        // same tree twice stores it once.
        auto temp = TRY(store.make_temp_dir("dir"));
        ScopeGuard remove_temp([&] { (void)sys::remove_all(temp); });
        {
            auto out = TRY(sys::open(temp + "/layer.tar", O_WRONLY | O_CREAT | O_EXCL, 0600));
            TRY(write_tree_tar(source, out, TreeKind::Plain));
        }
        auto file = TRY(sys::open(temp + "/layer.tar", O_RDONLY));
        ImageRecord record;
        record.layers.push_back(TRY(import_layer(
            store, file, LayerCheck { .blob_digest = {}, .diff_id = {}, .whiteouts = Whiteouts::Literal }, progress)));
        return record;
    }
    case SourceKind::OciLayout:
        return import_parsed(store, TRY(read_oci_layout(source)), progress);
    case SourceKind::DockerArchive:
        if (!sys::stat(source).is_error() && S_ISDIR(sys::stat(source)->st_mode))
            return import_parsed(store, TRY(read_docker_archive(source)), progress);
        [[fallthrough]];
    case SourceKind::OciArchive: {
        // Unpacked into tmp/ (with the same containment rules as layers), then read as a
        // directory.
        auto temp = TRY(store.make_temp_dir("archive"));
        ScopeGuard remove_temp([&] { (void)sys::remove_all(temp); });
        {
            auto file = TRY(sys::open(source, O_RDONLY));
            auto dir = TRY(open_rootfs_dir(temp));
            ExtractOptions options;
            if (progress)
                options.progress = [&](uint64_t done, uint64_t total) { progress("archive", done, total); };
            TRY(extract_archive(file, dir, options));
        }
        if (kind == SourceKind::OciArchive)
            return import_parsed(store, TRY(read_oci_layout(temp)), progress);
        return import_parsed(store, TRY(read_docker_archive(temp)), progress);
    }
    }
    return Error::make("unknown source kind");
}

} // namespace

Result<ImageRecord> import_image(Store const& store, std::string const& name, std::string const& source,
                                 ImportOptions const& options)
{
    TRY(validate_image_name(name));
    auto kind = TRY(detect_source(source).context("import {}: {}", name, source));
    auto lock = TRY(store.lock(sys::LockKind::Exclusive));
    TRY(store.sweep_leftovers());
    if (store.has_image(name) && !options.replace)
        return Error::format("import {}: image {} already exists (rm it first, or use --replace)", name, name);
    auto imported = import_source(store, source, kind, options.progress);
    if (imported.is_error()) {
        // Layers published before the failure are complete but belong to no image.
        (void)store.collect_garbage();
        return imported.release_error().add_context(fmt::format("import {}: {}", name, source));
    }
    auto record = imported.release_value();
    record.name = name;
    record.source = source;
    record.kind = std::string(to_string(kind));
    record.created = now_rfc3339();
    auto written = store.write_image(record);
    if (written.is_error()) {
        (void)store.collect_garbage();
        return written.release_error().add_context(fmt::format("import {}", name));
    }
    if (options.replace)
        TRY(store.collect_garbage().context("import {}: remove layers of the replaced image", name));
    return record;
}

} // namespace cryo::image
