#include "image/images.h"

#include <nlohmann/json.hpp>

#include "sys/fsops.h"

namespace cryo::image {

namespace {

using json = nlohmann::ordered_json; // keeps keys in the order written: name first

Result<ImageDetails> details_of(Store const& store, ImageRecord record)
{
    ImageDetails details;
    for (auto const& layer : record.layers) {
        auto info = TRY(store.layer_info(layer).context("image {}", record.name));
        details.size += info.size;
        details.layers.push_back(info);
    }
    details.record = std::move(record);
    return details;
}

json to_json(ImageDetails const& details)
{
    auto const& r = details.record;
    json layers = json::array();
    for (auto const& layer : details.layers)
        layers.push_back(
            { { "digest", "sha256:" + layer.digest }, { "size", layer.size }, { "entries", layer.entries } });
    return {
        { "name", r.name },
        { "kind", r.kind },
        { "source", r.source },
        { "created", r.created },
        { "size", details.size },
        { "layers", layers },
        { "config",
          { { "env", r.config.env },
            { "entrypoint", r.config.entrypoint },
            { "cmd", r.config.cmd },
            { "workdir", r.config.workdir },
            { "user", r.config.user } } },
    };
}

} // namespace

Result<std::vector<ImageDetails>> list_images(Store const& store)
{
    auto lock = TRY(store.lock(sys::LockKind::Shared));
    std::vector<ImageDetails> out;
    for (auto& record : TRY(store.list_images()))
        out.push_back(TRY(details_of(store, std::move(record))));
    return out;
}

Result<ImageDetails> inspect_image(Store const& store, std::string const& name)
{
    auto lock = TRY(store.lock(sys::LockKind::Shared));
    return details_of(store, TRY(store.read_image(name)));
}

Result<RemoveResult> remove_image(Store const& store, std::string const& name)
{
    TRY(validate_image_name(name));
    auto lock = TRY(store.lock(sys::LockKind::Exclusive));
    TRY(store.sweep_leftovers());
    TRY(store.remove_image(name));
    RemoveResult result;
    result.removed_layers = TRY(store.collect_garbage().context("image {}: garbage collection", name));
    return result;
}

std::string image_details_json(ImageDetails const& details, bool pretty)
{
    return to_json(details).dump(pretty ? 2 : -1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string images_json(std::vector<ImageDetails> const& images)
{
    json array = json::array();
    for (auto const& details : images)
        array.push_back(to_json(details));
    return array.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string human_size(uint64_t bytes)
{
    static constexpr char const* k_units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    double value = static_cast<double>(bytes);
    size_t unit = 0;
    while (value >= 1024 && unit + 1 < std::size(k_units)) {
        value /= 1024;
        ++unit;
    }
    return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", value, k_units[unit]);
}

} // namespace cryo::image
