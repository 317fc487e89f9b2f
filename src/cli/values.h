// Parsers for flag values as runc reads them: sizes ("512m", docker/go-units RAMInBytes),
// Go durations ("5s", "1m30s", "100ms"), integers. Pure functions; errors name the value.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "base/error.h"

namespace cryo::cli {

// RAMInBytes: a decimal number, an optional space, an optional unit k/m/g/t/p (any case,
// powers of 1024), then an optional "i" and "b": "512m", "1g", "1.5G", "64KiB", "4096".
// Error: "invalid size: '12x'".
Result<int64_t> parse_size(std::string_view text);

// Go's time.ParseDuration: "[-+]?(number unit)+" with units ns us µs ms s m h, or "0".
// Error: "time: invalid duration \"5\"" (Go's wording: a number needs a unit).
Result<std::chrono::nanoseconds> parse_duration(std::string_view text);

// Base-10 integers, whole string, range-checked ("invalid value \"x\": not an integer").
Result<int64_t> parse_int(std::string_view text);
Result<uint64_t> parse_uint(std::string_view text);

} // namespace cryo::cli
