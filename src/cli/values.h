// Parsers for flag values as runc reads them: sizes ("512m", docker/go-units RAMInBytes),
// Go durations ("5s", "1m30s", "100ms"), integers. Pure functions; errors name the value.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "base/error.h"
#include "runtime/quantity.h"

namespace cryo::cli {

// Sizes ("512m") and integers: shared with the runtime's create/run resource flags.
using runtime::quantity::parse_int;
using runtime::quantity::parse_size;
using runtime::quantity::parse_uint;

// Go's time.ParseDuration: "[-+]?(number unit)+" with units ns us µs ms s m h, or "0".
// Error: "time: invalid duration \"5\"" (Go's wording: a number needs a unit).
Result<std::chrono::nanoseconds> parse_duration(std::string_view text);

} // namespace cryo::cli
