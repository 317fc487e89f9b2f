#include "sys/fdinfo.h"

#include <cstdio>
#include <string>

#include "sys/text.h"

namespace cryo::sys {

namespace {

std::optional<uint64_t> number_of(FdInfo const& info, char const* key, int base)
{
    auto it = info.extra.find(key);
    if (it == info.extra.end())
        return std::nullopt;
    // Blanks may pad the value ("eventfd-count:   2a"), never follow it.
    std::string_view text = it->second;
    size_t start = text.find_first_not_of(" \t");
    uint64_t value = 0;
    if (start == std::string_view::npos || !parse_whole_number(text.substr(start), value, base))
        return std::nullopt;
    return value;
}

} // namespace

std::optional<uint64_t> fdinfo_inode(FdInfo const& info)
{
    return number_of(info, "ino", 10);
}

Result<EventfdFdInfo> parse_eventfd_fdinfo(FdInfo const& info)
{
    auto count = number_of(info, "eventfd-count", 16);
    if (!count)
        return Error::make("fdinfo: no valid eventfd-count line");
    EventfdFdInfo out;
    out.count = *count;
    if (info.extra.contains("eventfd-semaphore")) {
        auto semaphore = number_of(info, "eventfd-semaphore", 10);
        if (!semaphore || *semaphore > 1)
            return Error::make("fdinfo: bad eventfd-semaphore line");
        out.semaphore = *semaphore == 1;
    }
    return out;
}

Result<uint64_t> parse_signalfd_fdinfo(FdInfo const& info)
{
    auto mask = number_of(info, "sigmask", 16);
    if (!mask)
        return Error::make("fdinfo: no valid sigmask line");
    return *mask;
}

namespace {

// "(SECONDS, NANOSECONDS)" -> nanoseconds.
std::optional<uint64_t> parse_timespec(std::string const& text)
{
    unsigned long long seconds = 0, nanoseconds = 0;
    int used = 0;
    if (std::sscanf(text.c_str(), " (%llu, %llu)%n", &seconds, &nanoseconds, &used) != 2
        || static_cast<size_t>(used) != text.size() || nanoseconds >= 1000000000ULL)
        return std::nullopt;
    return seconds * 1000000000ULL + nanoseconds;
}

// The value after `key` in a line of "key: value key: value" pairs (epoll tfd lines).
std::optional<std::string> field(std::string const& line, std::string const& key)
{
    size_t at = 0;
    while ((at = line.find(key, at)) != std::string::npos) {
        if (at == 0 || line[at - 1] == ' ' || line[at - 1] == '\t')
            break;
        at += key.size();
    }
    if (at == std::string::npos)
        return std::nullopt;
    size_t start = line.find_first_not_of(" \t", at + key.size());
    if (start == std::string::npos)
        return std::nullopt;
    size_t end = line.find_first_of(" \t", start);
    return line.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

template<typename T>
bool parse_as(std::optional<std::string> const& text, T& out, int base)
{
    return text && parse_whole_number(*text, out, base);
}

} // namespace

Result<TimerfdFdInfo> parse_timerfd_fdinfo(FdInfo const& info)
{
    TimerfdFdInfo out;
    auto clock = number_of(info, "clockid", 10);
    auto ticks = number_of(info, "ticks", 10);
    auto flags = number_of(info, "settime flags", 8);
    auto value = info.extra.contains("it_value") ? parse_timespec(info.extra.at("it_value")) : std::nullopt;
    auto interval = info.extra.contains("it_interval") ? parse_timespec(info.extra.at("it_interval")) : std::nullopt;
    if (!clock || !ticks || !flags || !value || !interval)
        return Error::make("fdinfo: bad or missing timerfd lines");
    out.clock_id = static_cast<int>(*clock);
    out.ticks = *ticks;
    out.settime_flags = static_cast<uint32_t>(*flags);
    out.value_ns = *value;
    out.interval_ns = *interval;
    return out;
}

Result<std::vector<EpollTargetFdInfo>> parse_epoll_fdinfo(FdInfo const& info)
{
    std::vector<EpollTargetFdInfo> out;
    auto it = info.extra.find("tfd");
    if (it == info.extra.end())
        return out;
    std::string const& all = it->second;
    size_t start = 0;
    while (start <= all.size()) {
        size_t end = all.find('\n', start);
        std::string line = " " + all.substr(start, end == std::string::npos ? std::string::npos : end - start);
        // The first value of the line is the tfd itself ("tfd:" was the key).
        EpollTargetFdInfo t;
        size_t first = line.find_first_not_of(" \t");
        size_t first_end = first == std::string::npos ? first : line.find_first_of(" \t", first);
        std::optional<std::string> fd_text;
        if (first != std::string::npos)
            fd_text = line.substr(first, first_end == std::string::npos ? std::string::npos : first_end - first);
        if (!parse_as(fd_text, t.fd, 10) || !parse_as(field(line, "events:"), t.events, 16)
            || !parse_as(field(line, "data:"), t.data, 16) || !parse_as(field(line, "ino:"), t.inode, 16))
            return Error::format("fdinfo: bad epoll line \"tfd: {}\"", line.substr(1));
        out.push_back(t);
        if (end == std::string::npos)
            break;
        start = end + 1;
    }
    return out;
}

Result<std::vector<InotifyWatchFdInfo>> parse_inotify_fdinfo(FdInfo const& info)
{
    std::vector<InotifyWatchFdInfo> out;
    auto it = info.extra.find("inotify wd");
    if (it == info.extra.end())
        return out;
    std::string const& all = it->second;
    size_t start = 0;
    while (start <= all.size()) {
        size_t end = all.find('\n', start);
        // "wd:" was the key: the line starts with the wd itself.
        std::string line = "wd:" + all.substr(start, end == std::string::npos ? std::string::npos : end - start);
        InotifyWatchFdInfo w;
        std::optional<std::string> handle_text = field(line, "f_handle:");
        if (!parse_as(field(line, "wd:"), w.wd, 10) || !parse_as(field(line, "ino:"), w.inode, 16)
            || !parse_as(field(line, "sdev:"), w.device, 16) || !parse_as(field(line, "mask:"), w.mask, 16)
            || !parse_as(field(line, "fhandle-type:"), w.handle_type, 16) || !handle_text
            || handle_text->size() % 2 != 0)
            return Error::format("fdinfo: bad inotify line \"inotify {}\"", line);
        for (size_t i = 0; i < handle_text->size(); i += 2) {
            uint8_t byte = 0;
            if (!parse_whole_number(std::string_view(*handle_text).substr(i, 2), byte, 16))
                return Error::format("fdinfo: bad inotify f_handle {}", *handle_text);
            w.handle.push_back(byte);
        }
        out.push_back(std::move(w));
        if (end == std::string::npos)
            break;
        start = end + 1;
    }
    return out;
}

namespace {

std::string unescape_octal(std::string_view text)
{
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\\' && i + 3 < text.size()) {
            int value = 0;
            bool ok = true;
            for (size_t k = 1; k <= 3; ++k) {
                char c = text[i + k];
                if (c < '0' || c > '7')
                    ok = false;
                value = value * 8 + (c - '0');
            }
            if (ok) {
                out.push_back(static_cast<char>(value));
                i += 3;
                continue;
            }
        }
        out.push_back(text[i]);
    }
    return out;
}

} // namespace

std::optional<std::string> mount_point_of_device(std::string_view mountinfo, unsigned major, unsigned minor)
{
    std::string wanted = std::to_string(major) + ":" + std::to_string(minor);
    std::optional<std::string> any;
    size_t start = 0;
    while (start < mountinfo.size()) {
        size_t end = mountinfo.find('\n', start);
        std::string_view line
            = mountinfo.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
        start = end == std::string_view::npos ? mountinfo.size() : end + 1;
        // id parent major:minor root mount-point ...
        std::vector<std::string_view> fields;
        size_t at = 0;
        while (fields.size() < 5 && at < line.size()) {
            size_t space = line.find(' ', at);
            fields.push_back(line.substr(at, space == std::string_view::npos ? std::string_view::npos : space - at));
            at = space == std::string_view::npos ? line.size() : space + 1;
        }
        if (fields.size() < 5 || fields[2] != wanted)
            continue;
        if (fields[3] == "/")
            return unescape_octal(fields[4]);
        if (!any)
            any = unescape_octal(fields[4]);
    }
    return any;
}

std::optional<uint64_t> fdinfo_scm_fds(FdInfo const& info)
{
    return number_of(info, "scm_fds", 10);
}

} // namespace cryo::sys
