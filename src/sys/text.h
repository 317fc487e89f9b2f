// Small pure helpers for the text files of /proc and /sys that sys/ parses (procfs, limits,
// fdinfo, id maps, status, syscall): trimming, whole-field numbers, splitting on runs of blanks.
// Views point into the text given; nothing allocates but split_ws's vector.
#pragma once

#include <charconv>
#include <string_view>
#include <vector>

namespace cryo::sys {

// Without spaces and tabs at the start, spaces, tabs and newlines at the end.
inline std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n'))
        s.remove_suffix(1);
    return s;
}

// True if the whole of `s`, nothing before or after it, is a number in `base` that fits T:
// digits of the base only (no blanks, no '+', no "0x"), '-' only for a signed T. The strict
// form, for a field already cut out of its line or one where a blank is an error. `out` holds
// the number on true; on false it is unspecified (std::from_chars may have stored a prefix).
template<typename T>
bool parse_whole_number(std::string_view s, T& out, int base = 10)
{
    if (s.empty())
        return false;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
    return ec == std::errc() && ptr == s.data() + s.size();
}

// parse_whole_number of trim(s): spaces and tabs before the number, and those and newlines
// after it, are allowed.
template<typename T>
bool parse_number(std::string_view s, T& out, int base = 10)
{
    return parse_whole_number(trim(s), out, base);
}

// The words of `s`: split on runs of any of `blanks` (spaces and tabs unless told), no empty
// words.
inline std::vector<std::string_view> split_ws(std::string_view s, std::string_view blanks = " \t")
{
    std::vector<std::string_view> out;
    size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && blanks.find(s[i]) != std::string_view::npos)
            ++i;
        size_t j = i;
        while (j < s.size() && blanks.find(s[j]) == std::string_view::npos)
            ++j;
        if (j > i)
            out.push_back(s.substr(i, j - i));
        i = j;
    }
    return out;
}

} // namespace cryo::sys
