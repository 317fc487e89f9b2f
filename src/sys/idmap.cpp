#include "sys/idmap.h"

#include "sys/text.h"

namespace cryo::sys {

Result<std::vector<IdMapRange>> parse_id_map(std::string_view text)
{
    std::vector<IdMapRange> map;
    while (!text.empty()) {
        auto end = text.find('\n');
        auto line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view {} : text.substr(end + 1);
        // The kernel pads with spaces only: a tab, like any other character, is an error.
        auto words = split_ws(line, " ");
        if (words.empty())
            continue; // empty line
        uint32_t fields[3] {};
        if (words.size() != 3 || !parse_whole_number(words[0], fields[0]) || !parse_whole_number(words[1], fields[1])
            || !parse_whole_number(words[2], fields[2]))
            return Error::format("id map line {:?}: not three numbers", line);
        map.push_back({ .inside = fields[0], .outside = fields[1], .count = fields[2] });
    }
    return map;
}

std::optional<uint32_t> id_inside(std::vector<IdMapRange> const& map, uint32_t outside)
{
    for (auto const& range : map)
        if (outside >= range.outside && outside - range.outside < range.count)
            return range.inside + (outside - range.outside);
    return std::nullopt;
}

} // namespace cryo::sys
