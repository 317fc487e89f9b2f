// Importing images into the store: root file system tarballs (plain, gzip, zstd, xz...),
// directories, OCI image layouts (directory or tar) and `docker save` / `podman save`
// archives. Every blob is verified against its sha256 digest; a failed import leaves the
// store as it was (no image, no unreferenced layer, nothing in tmp/).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "image/extract.h"
#include "image/store.h"

namespace cryo::image {

enum class SourceKind { RootfsTarball, Directory, OciLayout, OciArchive, DockerArchive };
std::string_view to_string(SourceKind kind);

// Looks at a path (a directory's top-level names, an archive's first entries).
Result<SourceKind> detect_source(std::string const& path);

using ProgressFn = std::function<void(std::string_view what, uint64_t done, uint64_t total)>;

struct ImportOptions {
    bool replace { false }; // an existing image of that name is replaced instead of an error
    ProgressFn progress {};
};

Result<ImageRecord> import_image(Store const& store, std::string const& name, std::string const& source,
                                 ImportOptions const& options = {});

// One layer from a tar stream into the store (the caller holds the exclusive lock); returns
// its digest (sha256 of the uncompressed tar). `blob_digest` / `diff_id`, when given, must
// match or nothing is published.
struct LayerCheck {
    std::optional<std::string> blob_digest;
    std::optional<std::string> diff_id;
    Whiteouts whiteouts { Whiteouts::Overlay };
};
Result<std::string> import_layer(Store const& store, FdRef source, LayerCheck const& check,
                                 ProgressFn const& progress = {});

// A parsed OCI / docker image: layer blobs bottom first, with what to verify them against.
struct LayerBlob {
    std::string path; // file inside the layout
    std::string media_type;
    std::optional<std::string> blob_digest; // hex
    std::optional<std::string> diff_id; // hex
};
struct ParsedImage {
    std::vector<LayerBlob> layers;
    ImageConfig config;
};
// `root` is an unpacked OCI layout or docker save archive.
Result<ParsedImage> read_oci_layout(std::string const& root);
Result<ParsedImage> read_docker_archive(std::string const& root);
// The run config from an OCI / docker image config document.
Result<ImageConfig> parse_image_config(std::string const& json_text, std::vector<std::string>* diff_ids);

} // namespace cryo::image
