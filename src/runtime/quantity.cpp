#include "runtime/quantity.h"

#include <charconv>
#include <limits>
#include <string>

namespace cryo::runtime::quantity {

namespace detail {

std::optional<Decimal> take_decimal(std::string_view text)
{
    Decimal out;
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

} // namespace detail

using detail::is_digit;
using detail::take_decimal;

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
        case 'k':
            shift = 10;
            break;
        case 'm':
            shift = 20;
            break;
        case 'g':
            shift = 30;
            break;
        case 't':
            shift = 40;
            break;
        case 'p':
            shift = 50;
            break;
        default:
            break;
        }
        if (shift != 0) {
            multiplier = static_cast<long double>(uint64_t { 1 } << shift); // not ldexp: no libm
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

} // namespace cryo::runtime::quantity
