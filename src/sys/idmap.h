// User namespace id maps as /proc/PID/uid_map and gid_map show them ("inside outside count"
// per line, outside ids in the reader's user namespace), and the translation of an outside
// id into the namespace. Pure (fixture-free unit tests); reading the files is the caller's.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace cryo::sys {

struct IdMapRange {
    uint32_t inside { 0 };
    uint32_t outside { 0 };
    uint32_t count { 0 };
    bool operator==(IdMapRange const&) const = default;
};

// Lines of a uid_map/gid_map; a malformed line is an error naming it.
Result<std::vector<IdMapRange>> parse_id_map(std::string_view text);

// The id that `outside` has inside the namespace, or nullopt when the map does not cover it.
std::optional<uint32_t> id_inside(std::vector<IdMapRange> const& map, uint32_t outside);

} // namespace cryo::sys
