#include "cli/values.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <string>

namespace cryo::cli {

namespace {

bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

// Reads "digits[.digits]" at the front of `text`; returns its value and how many chars it
// used, or nullopt when there is no digit at all.
struct Number {
    long double value { 0 };
    size_t length { 0 };
};
std::optional<Number> take_decimal(std::string_view text)
{
    Number out;
    size_t i = 0;
    bool any_digit = false;
    while (i < text.size() && is_digit(text[i])) {
        out.value = out.value * 10 + (text[i] - '0');
        any_digit = true;
        ++i;
    }
    if (i < text.size() && text[i] == '.') {
        ++i;
        long double scale = 0.1L;
        while (i < text.size() && is_digit(text[i])) {
            out.value += scale * (text[i] - '0');
            scale /= 10;
            any_digit = true;
            ++i;
        }
    }
    if (!any_digit)
        return std::nullopt;
    out.length = i;
    return out;
}

} // namespace

Result<int64_t> parse_size(std::string_view text)
{
    auto invalid = [&] { return Error::format("invalid size: '{}'", text); };
    // go-units requires digits before any '.', so ".5g" is invalid there too.
    if (text.empty() || !is_digit(text[0]))
        return invalid();
    auto number = take_decimal(text);
    if (!number || text[number->length - 1] == '.') // go-units wants digits after a '.'
        return invalid();
    std::string_view rest = text.substr(number->length);
    if (!rest.empty() && rest[0] == ' ')
        rest.remove_prefix(1);
    long double multiplier = 1;
    if (!rest.empty()) {
        int shift = 0;
        switch (rest[0] | 0x20) { // ASCII lower case
        case 'k': shift = 10; break;
        case 'm': shift = 20; break;
        case 'g': shift = 30; break;
        case 't': shift = 40; break;
        case 'p': shift = 50; break;
        default: break;
        }
        if (shift != 0) {
            multiplier = std::ldexp(1.0L, shift);
            rest.remove_prefix(1);
        }
    }
    if (!rest.empty() && (rest[0] | 0x20) == 'i')
        rest.remove_prefix(1);
    if (!rest.empty() && (rest[0] | 0x20) == 'b')
        rest.remove_prefix(1);
    if (!rest.empty())
        return invalid();
    long double bytes = number->value * multiplier;
    if (bytes >= static_cast<long double>(std::numeric_limits<int64_t>::max()))
        return Error::format("invalid size: '{}': too large", text);
    return static_cast<int64_t>(bytes);
}

Result<std::chrono::nanoseconds> parse_duration(std::string_view text)
{
    auto invalid = [&] { return Error::format("time: invalid duration \"{}\"", text); };
    std::string_view rest = text;
    bool negative = false;
    if (!rest.empty() && (rest[0] == '-' || rest[0] == '+')) {
        negative = rest[0] == '-';
        rest.remove_prefix(1);
    }
    if (rest == "0")
        return std::chrono::nanoseconds(0);
    if (rest.empty())
        return invalid();

    struct Unit {
        std::string_view name;
        long double nanoseconds;
    };
    static constexpr Unit units[] = {
        { "ns", 1.0L }, { "us", 1e3L }, { "\xC2\xB5s", 1e3L }, { "\xCE\xBCs", 1e3L }, // µs (U+00B5, U+03BC)
        { "ms", 1e6L }, { "s", 1e9L },  { "m", 60e9L },         { "h", 3600e9L },
    };

    long double total = 0;
    while (!rest.empty()) {
        auto number = take_decimal(rest);
        if (!number)
            return invalid();
        rest.remove_prefix(number->length);
        size_t unit_length = 0;
        while (unit_length < rest.size() && rest[unit_length] != '.' && !is_digit(rest[unit_length]))
            ++unit_length;
        std::string_view unit_name = rest.substr(0, unit_length);
        if (unit_name.empty())
            return Error::format("time: missing unit in duration \"{}\"", text);
        Unit const* unit = nullptr;
        for (auto const& candidate : units) {
            if (candidate.name == unit_name)
                unit = &candidate;
        }
        if (!unit)
            return Error::format("time: unknown unit \"{}\" in duration \"{}\"", unit_name, text);
        total += number->value * unit->nanoseconds;
        rest.remove_prefix(unit_length);
    }
    if (total > static_cast<long double>(std::numeric_limits<int64_t>::max()))
        return invalid();
    auto nanoseconds = static_cast<int64_t>(std::llround(total));
    return std::chrono::nanoseconds(negative ? -nanoseconds : nanoseconds);
}

Result<int64_t> parse_int(std::string_view text)
{
    int64_t value = 0;
    auto const* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec == std::errc::invalid_argument || ptr != end)
        return Error::format("invalid value \"{}\": not an integer", text);
    if (ec == std::errc::result_out_of_range)
        return Error::format("invalid value \"{}\": out of range", text);
    return value;
}

Result<uint64_t> parse_uint(std::string_view text)
{
    uint64_t value = 0;
    auto const* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec == std::errc::invalid_argument || ptr != end)
        return Error::format("invalid value \"{}\": not an unsigned integer", text);
    if (ec == std::errc::result_out_of_range)
        return Error::format("invalid value \"{}\": out of range", text);
    return value;
}

} // namespace cryo::cli
