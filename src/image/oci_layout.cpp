// Reading OCI image layouts and docker save archives (import.h): index -> manifest ->
// config + layers, each small blob verified against its digest as it is read.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "image/import.h"
#include "image/sha256.h"
#include "sys/file.h"

namespace cryo::image {

namespace {

using nlohmann::json;

constexpr std::string_view k_oci_index = "application/vnd.oci.image.index.v1+json";
constexpr std::string_view k_docker_list = "application/vnd.docker.distribution.manifest.list.v2+json";
constexpr std::string_view k_oci_manifest = "application/vnd.oci.image.manifest.v1+json";
constexpr std::string_view k_docker_manifest = "application/vnd.docker.distribution.manifest.v2+json";

bool is_known_layer_type(std::string_view type)
{
    static constexpr std::string_view k_types[] = {
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.oci.image.layer.v1.tar+zstd",
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
        "application/vnd.docker.image.rootfs.diff.tar",
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    };
    return std::find(std::begin(k_types), std::end(k_types), type) != std::end(k_types);
}

bool is_known_config_type(std::string_view type)
{
    return type == "application/vnd.oci.image.config.v1+json"
        || type == "application/vnd.docker.container.image.v1+json";
}

Result<json> parse_json(std::string const& text, std::string const& what)
{
    try {
        return json::parse(text);
    } catch (json::exception const& error) {
        return Error::format("{}: invalid JSON: {}", what, error.what());
    }
}

struct Descriptor {
    std::string media_type;
    std::string digest; // hex
    int64_t size { -1 };
    json platform;
};

Result<Descriptor> parse_descriptor(json const& node, std::string const& what)
{
    if (!node.is_object())
        return Error::format("{}: descriptor is not an object", what);
    Descriptor d;
    if (!node.contains("digest") || !node["digest"].is_string())
        return Error::format("{}: descriptor without a digest", what);
    d.digest = TRY(parse_digest(node["digest"].get<std::string>()).context("{}", what));
    if (node.contains("mediaType") && node["mediaType"].is_string())
        d.media_type = node["mediaType"].get<std::string>();
    if (node.contains("size") && node["size"].is_number_integer())
        d.size = node["size"].get<int64_t>();
    if (node.contains("platform"))
        d.platform = node["platform"];
    return d;
}

std::string blob_path(std::string const& root, std::string const& hex)
{
    return root + "/blobs/sha256/" + hex;
}

// Reads a small blob (index, manifest, config) and checks its digest and size.
Result<std::string> read_verified_blob(std::string const& root, Descriptor const& d, std::string const& what)
{
    auto path = blob_path(root, d.digest);
    auto text = TRY(sys::read_file(path).context("{} sha256:{}", what, d.digest));
    auto actual = sha256_hex(text);
    if (actual != d.digest)
        return Error::format("{}: digest mismatch: expected sha256:{}, got sha256:{}", what, d.digest, actual);
    if (d.size >= 0 && static_cast<size_t>(d.size) != text.size())
        return Error::format("{} sha256:{}: size {} differs from the descriptor's {}", what, d.digest, text.size(),
                             d.size);
    return text;
}

std::vector<std::string> string_list(json const& node)
{
    std::vector<std::string> out;
    if (node.is_array())
        for (auto const& item : node)
            if (item.is_string())
                out.push_back(item.get<std::string>());
    return out;
}

// Index entries: prefer linux/amd64 (this machine), else the first entry.
Result<Descriptor> choose_manifest(json const& index, std::string const& what)
{
    if (!index.is_object() || !index.contains("manifests") || !index["manifests"].is_array()
        || index["manifests"].empty())
        return Error::format("{}: no manifests", what);
    std::vector<Descriptor> all;
    for (auto const& node : index["manifests"])
        all.push_back(TRY(parse_descriptor(node, what)));
    for (auto const& d : all) {
        if (d.platform.is_object() && d.platform.value("os", "") == "linux"
            && d.platform.value("architecture", "") == "amd64")
            return d;
    }
    return all.front();
}

} // namespace

Result<ImageConfig> parse_image_config(std::string const& json_text, std::vector<std::string>* diff_ids)
{
    auto doc = TRY(parse_json(json_text, "image config"));
    if (!doc.is_object())
        return Error::make("image config: not a JSON object");
    ImageConfig config;
    auto const& run = doc.contains("config") && doc["config"].is_object() ? doc["config"] : json::object();
    if (run.is_object()) {
        config.env = string_list(run.value("Env", json()));
        config.entrypoint = string_list(run.value("Entrypoint", json()));
        config.cmd = string_list(run.value("Cmd", json()));
        if (run.contains("WorkingDir") && run["WorkingDir"].is_string())
            config.workdir = run["WorkingDir"].get<std::string>();
        if (run.contains("User") && run["User"].is_string())
            config.user = run["User"].get<std::string>();
    }
    if (diff_ids) {
        diff_ids->clear();
        if (doc.contains("rootfs") && doc["rootfs"].is_object())
            for (auto const& id : string_list(doc["rootfs"].value("diff_ids", json())))
                diff_ids->push_back(TRY(parse_digest(id).context("image config: diff_ids")));
    }
    return config;
}

Result<ParsedImage> read_oci_layout(std::string const& root)
{
    auto index_text = TRY(sys::read_file(root + "/index.json").context("OCI layout: index.json"));
    auto index = TRY(parse_json(index_text, "OCI layout: index.json"));
    auto manifest_desc = TRY(choose_manifest(index, "OCI layout: index.json"));
    // Nested indexes (multi-platform images) until a manifest.
    for (int depth = 0; manifest_desc.media_type == k_oci_index || manifest_desc.media_type == k_docker_list; ++depth) {
        if (depth > 4)
            return Error::make("OCI layout: indexes nested too deep");
        auto nested_text = TRY(read_verified_blob(root, manifest_desc, "OCI layout: index"));
        auto nested = TRY(parse_json(nested_text, "OCI layout: index"));
        manifest_desc = TRY(choose_manifest(nested, "OCI layout: index"));
    }
    if (!manifest_desc.media_type.empty() && manifest_desc.media_type != k_oci_manifest
        && manifest_desc.media_type != k_docker_manifest)
        return Error::format("OCI layout: manifest sha256:{}: unknown media type \"{}\"", manifest_desc.digest,
                             manifest_desc.media_type);
    auto manifest_text = TRY(read_verified_blob(root, manifest_desc, "OCI layout: manifest"));
    auto manifest = TRY(parse_json(manifest_text, "OCI layout: manifest"));
    if (!manifest.is_object() || !manifest.contains("config") || !manifest.contains("layers")
        || !manifest["layers"].is_array())
        return Error::make("OCI layout: manifest: config or layers missing");
    if (manifest.contains("mediaType") && manifest["mediaType"].is_string()) {
        auto type = manifest["mediaType"].get<std::string>();
        if (type != k_oci_manifest && type != k_docker_manifest)
            return Error::format("OCI layout: manifest: unknown media type \"{}\"", type);
    }
    auto config_desc = TRY(parse_descriptor(manifest["config"], "OCI layout: manifest config"));
    if (!is_known_config_type(config_desc.media_type))
        return Error::format("OCI layout: config sha256:{}: unknown media type \"{}\"", config_desc.digest,
                             config_desc.media_type);
    auto config_text = TRY(read_verified_blob(root, config_desc, "OCI layout: config"));
    std::vector<std::string> diff_ids;
    ParsedImage image;
    image.config
        = TRY(parse_image_config(config_text, &diff_ids).context("OCI layout: config sha256:{}", config_desc.digest));
    auto const& layers = manifest["layers"];
    if (layers.empty())
        return Error::make("OCI layout: manifest has no layers");
    if (!diff_ids.empty() && diff_ids.size() != layers.size())
        return Error::format("OCI layout: config lists {} diff_ids for {} layers", diff_ids.size(), layers.size());
    for (size_t i = 0; i < layers.size(); ++i) {
        auto d = TRY(parse_descriptor(layers[i], fmt::format("OCI layout: layer {}", i)));
        if (!is_known_layer_type(d.media_type))
            return Error::format("OCI layout: layer sha256:{}: unknown media type \"{}\"", d.digest, d.media_type);
        image.layers.push_back(LayerBlob {
            .path = blob_path(root, d.digest),
            .media_type = d.media_type,
            .blob_digest = d.digest,
            .diff_id = diff_ids.empty() ? std::nullopt : std::optional<std::string>(diff_ids[i]),
        });
    }
    return image;
}

Result<ParsedImage> read_docker_archive(std::string const& root)
{
    auto text = TRY(sys::read_file(root + "/manifest.json").context("docker archive: manifest.json"));
    auto manifest = TRY(parse_json(text, "docker archive: manifest.json"));
    if (!manifest.is_array() || manifest.empty() || !manifest[0].is_object())
        return Error::make("docker archive: manifest.json: no image");
    auto const& entry = manifest[0];
    if (!entry.contains("Config") || !entry["Config"].is_string() || !entry.contains("Layers"))
        return Error::make("docker archive: manifest.json: Config or Layers missing");
    auto relative_paths = string_list(entry["Layers"]);
    relative_paths.insert(relative_paths.begin(), entry["Config"].get<std::string>());
    for (auto const& path : relative_paths) {
        auto normalized = normalize_entry_path(path);
        if (normalized.is_error() || normalized->empty())
            return Error::format("docker archive: manifest.json: invalid path \"{}\"", path);
    }
    auto config_text = TRY(sys::read_file(root + "/" + relative_paths[0]).context("docker archive: config"));
    // Newer docker names blobs by digest: verify the config against its name when it has one.
    auto config_name = relative_paths[0].substr(relative_paths[0].rfind('/') + 1);
    if (config_name.ends_with(".json"))
        config_name.resize(config_name.size() - 5);
    if (auto expected = parse_digest(config_name); !expected.is_error() && *expected != sha256_hex(config_text))
        return Error::format("docker archive: config {}: digest mismatch: got sha256:{}", relative_paths[0],
                             sha256_hex(config_text));
    std::vector<std::string> diff_ids;
    ParsedImage image;
    image.config = TRY(parse_image_config(config_text, &diff_ids).context("docker archive: config"));
    size_t count = relative_paths.size() - 1;
    if (count == 0)
        return Error::make("docker archive: manifest.json lists no layers");
    if (diff_ids.size() != count)
        return Error::format("docker archive: config lists {} diff_ids for {} layers", diff_ids.size(), count);
    for (size_t i = 0; i < count; ++i) {
        auto const& path = relative_paths[i + 1];
        LayerBlob blob { .path = root + "/" + path,
                         .media_type = "application/vnd.docker.image.rootfs.diff.tar",
                         .blob_digest = {},
                         .diff_id = diff_ids[i] };
        if (path.starts_with("blobs/sha256/"))
            blob.blob_digest = TRY(parse_digest(path.substr(13)).context("docker archive: layer {}", path));
        image.layers.push_back(std::move(blob));
    }
    return image;
}

} // namespace cryo::image
