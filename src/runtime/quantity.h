// Parsers of quantities as runc and docker read them (sizes "512m", integers), shared by the
// CLI's flags (cli/values.h re-exports them) and the runtime's create/run resource flags, so
// `cryo update --memory` and `cryo run --memory` accept exactly the same spellings. Pure.
// (Own namespace: extras_image.h has a runtime::parse_size of its own for --disk-limit.)
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "base/error.h"

namespace cryo::runtime::quantity {

// RAMInBytes: a decimal number, an optional space, an optional unit k/m/g/t/p (any case,
// powers of 1024), then an optional "i" and "b": "512m", "1g", "1.5G", "64KiB", "4096".
// Error: "invalid size: '12x'".
Result<int64_t> parse_size(std::string_view text);

// Base-10 integers, whole string, range-checked ("invalid value \"x\": not an integer").
Result<int64_t> parse_int(std::string_view text);
Result<uint64_t> parse_uint(std::string_view text);

namespace detail {
// "digits[.digits]" at the front of a string: its value and how many chars it used.
struct Decimal {
    long double value { 0 };
    size_t length { 0 };
};
// nullopt when there is no digit at all (also used by cli's Go duration parser).
std::optional<Decimal> take_decimal(std::string_view text);
inline bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}
} // namespace detail

} // namespace cryo::runtime::quantity
