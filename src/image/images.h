// The store operations the CLI (and the runtime) call, each taking the store lock it needs:
// listing, inspecting, removing (with garbage collection) images.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "image/store.h"

namespace cryo::image {

struct ImageDetails {
    ImageRecord record;
    std::vector<LayerInfo> layers; // bottom first
    uint64_t size { 0 }; // sum of the layers' file data
};

Result<std::vector<ImageDetails>> list_images(Store const& store);
Result<ImageDetails> inspect_image(Store const& store, std::string const& name);

struct RemoveResult {
    std::vector<std::string> removed_layers; // digests garbage-collected
};
// Removes the image, then every layer no image or live container uses.
Result<RemoveResult> remove_image(Store const& store, std::string const& name);

// JSON of one image (what `image inspect` prints and `image ls --format json` lists).
std::string image_details_json(ImageDetails const& details, bool pretty);
std::string images_json(std::vector<ImageDetails> const& images);

// "1.5 MiB"
std::string human_size(uint64_t bytes);

} // namespace cryo::image
