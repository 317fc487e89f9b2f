// `cryo checkpoint inspect DIR`: an image for people (tree, memory per area kind, files) or
// as JSON for scripts. Verifies every checksum on the way, so it doubles as an image check.
#pragma once

#include <string>

#include "base/error.h"

namespace cryo::checkpoint {

enum class InspectFormat { Text, Json };

Result<std::string> inspect_image(std::string const& dir, InspectFormat format);

} // namespace cryo::checkpoint
