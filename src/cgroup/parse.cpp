#include "cgroup/parse.h"

#include <algorithm>
#include <charconv>

namespace cryo::cgroup {

namespace {

std::string_view trim(std::string_view text)
{
    while (!text.empty() && (text.front() == ' ' || text.front() == '\n' || text.front() == '\t'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\n' || text.back() == '\t'))
        text.remove_suffix(1);
    return text;
}

std::optional<uint64_t> to_u64(std::string_view text)
{
    uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty())
        return std::nullopt;
    return value;
}

// Calls f(line) for each non-empty line.
template<typename F>
void for_each_line(std::string_view text, F&& f)
{
    while (!text.empty()) {
        auto end = text.find('\n');
        auto line = text.substr(0, end);
        if (!line.empty())
            f(line);
        if (end == std::string_view::npos)
            break;
        text.remove_prefix(end + 1);
    }
}

std::vector<std::string_view> split_spaces(std::string_view line)
{
    std::vector<std::string_view> fields;
    size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\n'))
            ++i;
        size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\n')
            ++i;
        if (i > start)
            fields.push_back(line.substr(start, i - start));
    }
    return fields;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(std::string_view text)
{
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\\' && i + 3 < text.size()) {
            auto digits = text.substr(i + 1, 3);
            if (std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '7'; })) {
                out += static_cast<char>((digits[0] - '0') * 64 + (digits[1] - '0') * 8 + (digits[2] - '0'));
                i += 3;
                continue;
            }
        }
        out += text[i];
    }
    return out;
}

} // namespace

std::optional<std::pair<uint64_t, uint64_t>> parse_device(std::string_view text)
{
    auto colon = text.find(':');
    if (colon == std::string_view::npos)
        return std::nullopt;
    auto major = to_u64(text.substr(0, colon));
    auto minor = to_u64(text.substr(colon + 1));
    if (!major || !minor)
        return std::nullopt;
    return std::pair { *major, *minor };
}

std::optional<uint64_t> parse_value(std::string_view text)
{
    text = trim(text);
    if (text == "max")
        return unlimited;
    return to_u64(text);
}

std::map<std::string, uint64_t> parse_flat_keyed(std::string_view text)
{
    std::map<std::string, uint64_t> out;
    for_each_line(text, [&](std::string_view line) {
        auto fields = split_spaces(line);
        if (fields.size() != 2)
            return;
        if (auto value = parse_value(fields[1]))
            out.emplace(std::string(fields[0]), *value);
    });
    return out;
}

std::vector<uint64_t> parse_list(std::string_view text)
{
    std::vector<uint64_t> out;
    for (auto field : split_spaces(trim(text))) {
        if (auto value = to_u64(field))
            out.push_back(*value);
    }
    return out;
}

std::vector<BlkioEntry> parse_blkio_v1(std::string_view text)
{
    std::vector<BlkioEntry> out;
    for_each_line(text, [&](std::string_view line) {
        auto fields = split_spaces(line);
        if (fields.size() != 3)
            return;
        auto device = parse_device(fields[0]);
        auto value = to_u64(fields[2]);
        if (!device || !value)
            return;
        out.push_back(BlkioEntry {
            .major = device->first, .minor = device->second, .op = std::string(fields[1]), .value = *value });
    });
    return out;
}

BlkioStats parse_io_stat(std::string_view text)
{
    BlkioStats out;
    for_each_line(text, [&](std::string_view line) {
        auto fields = split_spaces(line);
        if (fields.empty())
            return;
        auto device = parse_device(fields[0]);
        if (!device)
            return;
        for (size_t i = 1; i < fields.size(); ++i) {
            auto eq = fields[i].find('=');
            if (eq == std::string_view::npos)
                continue;
            auto key = fields[i].substr(0, eq);
            auto value = to_u64(fields[i].substr(eq + 1));
            if (!value)
                continue;
            auto entry = [&](char const* op) {
                return BlkioEntry { .major = device->first, .minor = device->second, .op = op, .value = *value };
            };
            if (key == "rbytes")
                out.io_service_bytes_recursive.push_back(entry("Read"));
            else if (key == "wbytes")
                out.io_service_bytes_recursive.push_back(entry("Write"));
            else if (key == "dbytes")
                out.io_service_bytes_recursive.push_back(entry("Discard"));
            else if (key == "rios")
                out.io_serviced_recursive.push_back(entry("Read"));
            else if (key == "wios")
                out.io_serviced_recursive.push_back(entry("Write"));
            else if (key == "dios")
                out.io_serviced_recursive.push_back(entry("Discard"));
        }
    });
    return out;
}

std::optional<FreezerState> parse_freezer_state(std::string_view text)
{
    text = trim(text);
    if (text == "THAWED")
        return FreezerState::Thawed;
    if (text == "FREEZING")
        return FreezerState::Freezing;
    if (text == "FROZEN")
        return FreezerState::Frozen;
    return std::nullopt;
}

std::optional<std::string> hugetlb_page_size(std::string_view file)
{
    constexpr std::string_view prefix = "hugetlb.";
    if (!file.starts_with(prefix))
        return std::nullopt;
    file.remove_prefix(prefix.size());
    auto dot = file.find('.');
    if (dot == std::string_view::npos || dot == 0)
        return std::nullopt;
    return std::string(file.substr(0, dot));
}

std::vector<Hierarchy> parse_cgroup_mounts(std::string_view mountinfo, std::string const& fs_root)
{
    static constexpr std::string_view known[]
        = { "cpu",   "cpuacct",    "cpuset",  "memory", "devices", "freezer", "net_cls", "net_prio",
            "blkio", "perf_event", "hugetlb", "pids",   "rdma",    "misc",    "debug" };
    std::vector<Hierarchy> out;
    std::optional<Hierarchy> root_v2;
    for_each_line(mountinfo, [&](std::string_view line) {
        // id parent major:minor root mount_point options [optional...] - fstype source super
        auto fields = split_spaces(line);
        auto dash = std::find(fields.begin(), fields.end(), "-");
        if (fields.size() < 5 || dash == fields.end() || fields.end() - dash < 4)
            return;
        auto fstype = dash[1];
        if (fstype != "cgroup" && fstype != "cgroup2")
            return;
        auto mount_point = unescape(fields[4]);
        if (fstype == "cgroup2" && mount_point == fs_root) {
            root_v2 = Hierarchy { .version = Version::V2, .mount_point = mount_point };
            return;
        }
        if (!mount_point.starts_with(fs_root + "/"))
            return;
        Hierarchy hierarchy { .version = fstype == "cgroup2" ? Version::V2 : Version::V1, .mount_point = mount_point };
        if (hierarchy.version == Version::V1) {
            std::string_view options = dash[3];
            while (!options.empty()) {
                auto comma = options.find(',');
                auto option = options.substr(0, comma);
                if (option.starts_with("name=")
                    || std::find(std::begin(known), std::end(known), option) != std::end(known))
                    hierarchy.controllers.emplace_back(option);
                if (comma == std::string_view::npos)
                    break;
                options.remove_prefix(comma + 1);
            }
            if (hierarchy.controllers.empty())
                return;
        }
        // A hierarchy mounted twice (bind mounts) is used once.
        bool duplicate = std::any_of(out.begin(), out.end(), [&](Hierarchy const& other) {
            return other.version == hierarchy.version && other.controllers == hierarchy.controllers
                && (hierarchy.version == Version::V1 || other.mount_point == hierarchy.mount_point);
        });
        if (!duplicate)
            out.push_back(std::move(hierarchy));
    });
    if (root_v2)
        return { *root_v2 };
    return out;
}

Result<std::string> normalize_cgroup_path(std::string const& path)
{
    if (path.empty())
        return Error::make("empty cgroup path");
    std::string out;
    if (path.front() != '/')
        out = relative_parent;
    std::string_view rest = path;
    while (!rest.empty()) {
        auto slash = rest.find('/');
        auto part = rest.substr(0, slash);
        if (part == "..")
            return Error::format("invalid cgroup path \"{}\": \"..\" is not allowed", path);
        if (!part.empty() && part != ".") {
            out += '/';
            out += part;
        }
        if (slash == std::string_view::npos)
            break;
        rest.remove_prefix(slash + 1);
    }
    if (out.empty())
        return Error::format("invalid cgroup path \"{}\": the root cgroup cannot be a container's", path);
    return out;
}

} // namespace cryo::cgroup
