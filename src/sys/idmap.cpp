#include "sys/idmap.h"

#include <charconv>

namespace cryo::sys {

Result<std::vector<IdMapRange>> parse_id_map(std::string_view text)
{
    std::vector<IdMapRange> map;
    while (!text.empty()) {
        auto end = text.find('\n');
        auto line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view {} : text.substr(end + 1);
        uint32_t fields[3] {};
        size_t parsed = 0;
        size_t at = 0;
        while (parsed < 3) {
            while (at < line.size() && line[at] == ' ')
                ++at;
            if (at == line.size())
                break;
            auto [next, error] = std::from_chars(line.data() + at, line.data() + line.size(), fields[parsed]);
            if (error != std::errc())
                return Error::format("id map line {:?}: not three numbers", line);
            at = static_cast<size_t>(next - line.data());
            ++parsed;
        }
        while (at < line.size() && line[at] == ' ')
            ++at;
        if (parsed == 0 && at == line.size())
            continue; // empty line
        if (parsed != 3 || at != line.size())
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
