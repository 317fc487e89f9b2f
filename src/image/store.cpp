#include "image/store.h"

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>
#include <set>

#include "image/sha256.h"
#include "sys/file.h"

namespace cryo::image {

namespace {

using nlohmann::json;

constexpr int k_image_schema = 1;

bool is_hex_digest(std::string_view text)
{
    return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

// '/' is allowed in names but not in file names; '%' is not allowed in names, so the
// encoding cannot collide.
std::string encode_name(std::string const& name)
{
    std::string out;
    for (char c : name)
        out += c == '/' ? std::string("%2F") : std::string(1, c);
    return out;
}

std::string decode_name(std::string const& file)
{
    std::string out;
    for (size_t i = 0; i < file.size(); ++i) {
        if (file.compare(i, 3, "%2F") == 0) {
            out += '/';
            i += 2;
        } else {
            out += file[i];
        }
    }
    return out;
}

template<typename T>
Result<T> json_get(json const& object, char const* key, T fallback)
{
    try {
        auto it = object.find(key);
        if (it == object.end() || it->is_null())
            return fallback;
        return it->get<T>();
    } catch (json::exception const& error) {
        return Error::format("field {}: {}", key, error.what());
    }
}

Result<ImageRecord> image_from_json(std::string const& text)
{
    json doc;
    try {
        doc = json::parse(text);
    } catch (json::exception const& error) {
        return Error::format("invalid JSON: {}", error.what());
    }
    if (!doc.is_object())
        return Error::make("not a JSON object");
    if (TRY(json_get<int>(doc, "schema", 0)) != k_image_schema)
        return Error::make("unknown schema");
    ImageRecord record;
    record.name = TRY(json_get<std::string>(doc, "name", ""));
    record.layers = TRY(json_get<std::vector<std::string>>(doc, "layers", {}));
    record.source = TRY(json_get<std::string>(doc, "source", ""));
    record.kind = TRY(json_get<std::string>(doc, "kind", ""));
    record.created = TRY(json_get<std::string>(doc, "created", ""));
    auto config = doc.value("config", json::object());
    if (!config.is_object())
        return Error::make("config is not an object");
    record.config.env = TRY(json_get<std::vector<std::string>>(config, "env", {}));
    record.config.entrypoint = TRY(json_get<std::vector<std::string>>(config, "entrypoint", {}));
    record.config.cmd = TRY(json_get<std::vector<std::string>>(config, "cmd", {}));
    record.config.workdir = TRY(json_get<std::string>(config, "workdir", ""));
    record.config.user = TRY(json_get<std::string>(config, "user", ""));
    for (auto const& layer : record.layers) {
        if (!is_hex_digest(layer))
            return Error::format("invalid layer digest \"{}\"", layer);
    }
    if (record.layers.empty())
        return Error::make("no layers");
    return record;
}

std::string image_to_json(ImageRecord const& record)
{
    json doc = {
        { "schema", k_image_schema },
        { "name", record.name },
        { "layers", record.layers },
        { "source", record.source },
        { "kind", record.kind },
        { "created", record.created },
        { "config",
          { { "env", record.config.env },
            { "entrypoint", record.config.entrypoint },
            { "cmd", record.config.cmd },
            { "workdir", record.config.workdir },
            { "user", record.config.user } } },
    };
    // Replace invalid UTF-8 instead of throwing: names and paths come from users.
    return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

} // namespace

Result<void> validate_image_name(std::string const& name)
{
    auto allowed = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_'
            || c == '-' || c == ':' || c == '@' || c == '/';
    };
    if (name.empty() || name.size() > 128)
        return Error::format("invalid image name \"{}\": must be 1 to 128 characters", name);
    if (!std::all_of(name.begin(), name.end(), allowed))
        return Error::format("invalid image name \"{}\": only letters, digits and . _ - : @ / are allowed", name);
    if (name.find("..") != std::string::npos || name.front() == '/' || name.front() == '.' || name.back() == '/'
        || name.find("//") != std::string::npos)
        return Error::format("invalid image name \"{}\"", name);
    return {};
}

Result<std::string> parse_digest(std::string const& text)
{
    std::string_view hex = text;
    if (hex.starts_with("sha256:"))
        hex.remove_prefix(7);
    else if (text.find(':') != std::string::npos)
        return Error::format("unsupported digest algorithm in \"{}\" (only sha256)", text);
    if (!is_hex_digest(hex))
        return Error::format("invalid digest \"{}\"", text);
    return std::string(hex);
}

std::string default_store_root()
{
    char const* from_env = std::getenv("CRYO_STORE");
    if (from_env && *from_env)
        return from_env;
    return k_default_store_root;
}

std::string now_rfc3339()
{
    time_t now = time(nullptr);
    struct tm tm { };
    gmtime_r(&now, &tm);
    char buffer[32];
    strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buffer;
}

Result<Store> Store::open(std::string root)
{
    while (root.size() > 1 && root.back() == '/')
        root.pop_back();
    if (root.empty())
        return Error::make("image store: empty path");
    for (char const* sub : { "", "/layers", "/images", "/containers", "/tmp" })
        TRY(sys::mkdir_all(root + sub, 0700).context("image store {}: create {}", root, root + sub));
    return Store(std::move(root));
}

Result<StoreLock> Store::lock(sys::LockKind kind) const
{
    auto fd = TRY(sys::open(m_root + "/lock", O_RDWR | O_CREAT, 0600).context("image store {}: open lock", m_root));
    TRY(sys::flock(fd, kind).context("image store {}: lock", m_root));
    return StoreLock(std::move(fd));
}

Result<size_t> Store::sweep_leftovers() const
{
    auto entries = TRY(sys::list_dir(tmp_dir()).context("image store {}: list tmp", m_root));
    for (auto const& entry : entries)
        TRY(sys::remove_all(tmp_dir() + "/" + entry).context("image store {}: sweep leftover {}", m_root, entry));
    return entries.size();
}

Result<std::string> Store::make_temp_dir(std::string const& what) const
{
    return sys::mkdtemp(fmt::format("{}/{}-", tmp_dir(), what)).context("image store {}: make temp dir", m_root);
}

bool Store::has_layer(std::string const& digest) const
{
    return is_hex_digest(digest) && sys::exists(layer_path(digest) + "/layer.json");
}

Result<LayerInfo> Store::layer_info(std::string const& digest) const
{
    auto text = TRY(sys::read_file(layer_path(digest) + "/layer.json").context("layer {}", digest));
    try {
        auto doc = json::parse(text);
        return LayerInfo { .digest = digest,
                           .size = doc.at("size").get<uint64_t>(),
                           .entries = doc.at("entries").get<uint64_t>() };
    } catch (json::exception const& error) {
        return Error::format("layer {}: layer.json: {}", digest, error.what());
    }
}

Result<void> Store::publish_layer(std::string const& temp_dir, LayerInfo const& info) const
{
    if (!is_hex_digest(info.digest))
        return Error::format("publish layer: invalid digest \"{}\"", info.digest);
    if (has_layer(info.digest))
        return sys::remove_all(temp_dir).context("remove duplicate of layer {}", info.digest);
    json meta = { { "digest", "sha256:" + info.digest }, { "size", info.size }, { "entries", info.entries } };
    TRY(sys::write_file_atomic(temp_dir + "/layer.json", meta.dump() + "\n")
            .context("layer {}: write layer.json", info.digest));
    // Sync the layer's directory entries before it becomes visible: a crash after the
    // rename must not leave a published layer with missing files.
    auto dir = TRY(sys::open(temp_dir, O_RDONLY | O_DIRECTORY).context("layer {}: open", info.digest));
    TRY(sys::syncfs(dir).context("layer {}: sync", info.digest));
    TRY(sys::renameat2(FdRef::cwd(), temp_dir, FdRef::cwd(), layer_path(info.digest), RENAME_NOREPLACE)
            .context("layer {}: publish", info.digest));
    return {};
}

std::string Store::image_file(std::string const& name) const
{
    return m_root + "/images/" + encode_name(name) + ".json";
}

bool Store::has_image(std::string const& name) const
{
    return sys::exists(image_file(name));
}

Result<ImageRecord> Store::read_image(std::string const& name) const
{
    TRY(validate_image_name(name));
    auto text = sys::read_file(image_file(name));
    if (text.is_error()) {
        if (text.error().is_errno(ENOENT))
            return Error::format("image {}: no such image in {}", name, m_root);
        return text.release_error().add_context(fmt::format("image {}", name));
    }
    auto record = TRY(image_from_json(*text).context("image {}: {}", name, image_file(name)));
    record.name = name;
    return record;
}

Result<std::vector<ImageRecord>> Store::list_images() const
{
    auto files = TRY(sys::list_dir(m_root + "/images").context("image store {}", m_root));
    std::sort(files.begin(), files.end());
    std::vector<ImageRecord> images;
    for (auto const& file : files) {
        if (!file.ends_with(".json") || file.starts_with("."))
            continue;
        images.push_back(TRY(read_image(decode_name(file.substr(0, file.size() - 5)))));
    }
    std::sort(images.begin(), images.end(), [](auto const& a, auto const& b) { return a.name < b.name; });
    return images;
}

Result<void> Store::write_image(ImageRecord const& record) const
{
    TRY(validate_image_name(record.name));
    if (record.layers.empty())
        return Error::format("image {}: no layers", record.name);
    for (auto const& layer : record.layers) {
        if (!has_layer(layer))
            return Error::format("image {}: layer {} is not in the store", record.name, layer);
    }
    return sys::write_file_atomic(image_file(record.name), image_to_json(record))
        .context("image {}: write", record.name);
}

Result<void> Store::remove_image(std::string const& name) const
{
    TRY(validate_image_name(name));
    if (!has_image(name))
        return Error::format("image {}: no such image in {}", name, m_root);
    return sys::unlink(image_file(name)).context("image {}: remove", name);
}

Result<std::vector<std::string>> Store::collect_garbage() const
{
    std::set<std::string> used;
    for (auto const& image : TRY(list_images()))
        used.insert(image.layers.begin(), image.layers.end());
    for (auto const& file : TRY(sys::list_dir(m_root + "/containers").context("image store {}", m_root))) {
        auto text = sys::read_file(m_root + "/containers/" + file);
        if (text.is_error())
            continue;
        json doc = json::parse(*text, nullptr, false);
        if (!doc.is_object() || !doc.contains("container_dir") || !doc["container_dir"].is_string())
            continue;
        // A registration whose container dir is gone was left by a container deleted
        // without release; it no longer protects anything.
        if (!sys::exists(doc["container_dir"].get<std::string>())) {
            (void)sys::unlink(m_root + "/containers/" + file);
            continue;
        }
        if (doc.contains("layers") && doc["layers"].is_array()) {
            for (auto const& layer : doc["layers"])
                if (layer.is_string())
                    used.insert(layer.get<std::string>());
        }
    }
    std::vector<std::string> removed;
    auto layers = TRY(sys::list_dir(m_root + "/layers").context("image store {}", m_root));
    std::sort(layers.begin(), layers.end());
    for (auto const& layer : layers) {
        if (used.contains(layer))
            continue;
        // Rename first so that a layer is either whole or gone, even if removal is killed.
        auto doomed = TRY(make_temp_dir("gc"));
        TRY(sys::renameat2(FdRef::cwd(), layer_path(layer), FdRef::cwd(), doomed + "/layer")
                .context("garbage-collect layer {}", layer));
        TRY(sys::remove_all(doomed).context("garbage-collect layer {}", layer));
        removed.push_back(layer);
    }
    return removed;
}

Result<void> Store::register_container(std::string const& container_dir, ImageRecord const& image) const
{
    json doc = { { "container_dir", container_dir }, { "image", image.name }, { "layers", image.layers } };
    return sys::write_file_atomic(m_root + "/containers/" + sha256_hex(container_dir) + ".json", doc.dump() + "\n")
        .context("register container {}", container_dir);
}

Result<void> Store::unregister_container(std::string const& container_dir) const
{
    auto path = m_root + "/containers/" + sha256_hex(container_dir) + ".json";
    auto result = sys::unlink(path);
    if (result.is_error() && !result.error().is_errno(ENOENT))
        return std::move(result).context("unregister container {}", container_dir);
    return {};
}

Result<std::string> Store::container_image(std::string const& container_dir) const
{
    auto path = m_root + "/containers/" + sha256_hex(container_dir) + ".json";
    auto text = sys::read_file(path);
    if (text.is_error()) {
        if (text.error().is_errno(ENOENT))
            return Error::format("container dir {}: not prepared from an image of {}", container_dir, m_root);
        return text.release_error().add_context(fmt::format("container dir {}", container_dir));
    }
    json doc = json::parse(*text, nullptr, false);
    if (!doc.is_object() || !doc.contains("image") || !doc["image"].is_string())
        return Error::format("container dir {}: invalid registration {}", container_dir, path);
    return doc["image"].get<std::string>();
}

} // namespace cryo::image
