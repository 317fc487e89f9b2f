// Small pure helpers for the text files of /proc and /sys that sys/ parses (procfs, limits):
// trimming, whole-field numbers, splitting on runs of blanks. Views point into the text given.
#pragma once

#include <charconv>
#include <string_view>
#include <vector>

namespace cryo::sys {

inline std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n'))
        s.remove_suffix(1);
    return s;
}

template<typename T>
bool parse_number(std::string_view s, T& out, int base = 10)
{
    s = trim(s);
    if (s.empty())
        return false;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
    return ec == std::errc() && ptr == s.data() + s.size();
}

// Splits on runs of spaces/tabs.
inline std::vector<std::string_view> split_ws(std::string_view s)
{
    std::vector<std::string_view> out;
    size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t'))
            ++i;
        size_t j = i;
        while (j < s.size() && s[j] != ' ' && s[j] != '\t')
            ++j;
        if (j > i)
            out.push_back(s.substr(i, j - i));
        i = j;
    }
    return out;
}

} // namespace cryo::sys
