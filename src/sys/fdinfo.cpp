#include "sys/fdinfo.h"

#include <charconv>
#include <string>

namespace cryo::sys {

namespace {

std::optional<uint64_t> number_of(FdInfo const& info, char const* key, int base)
{
    auto it = info.extra.find(key);
    if (it == info.extra.end())
        return std::nullopt;
    std::string const& text = it->second;
    size_t start = text.find_first_not_of(" \t");
    if (start == std::string::npos)
        return std::nullopt;
    uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data() + start, text.data() + text.size(), value, base);
    if (ec != std::errc() || end != text.data() + text.size())
        return std::nullopt;
    return value;
}

} // namespace

std::optional<uint64_t> fdinfo_inode(FdInfo const& info) { return number_of(info, "ino", 10); }

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

std::optional<uint64_t> fdinfo_scm_fds(FdInfo const& info) { return number_of(info, "scm_fds", 10); }

} // namespace cryo::sys
