#include "cli/values.h"

#include <charconv>
#include <limits>
#include <string>

namespace cryo::cli {

using runtime::quantity::detail::is_digit;
using runtime::quantity::detail::take_decimal;

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
        { "ms", 1e6L }, { "s", 1e9L },  { "m", 60e9L },        { "h", 3600e9L },
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
    if (total + 0.5L >= static_cast<long double>(std::numeric_limits<int64_t>::max()))
        return invalid();
    // total >= 0: rounded half up by hand, std::llround is libm's (not linked, see extras_limits.cpp).
    auto nanoseconds = static_cast<int64_t>(total + 0.5L);
    return std::chrono::nanoseconds(negative ? -nanoseconds : nanoseconds);
}

} // namespace cryo::cli
