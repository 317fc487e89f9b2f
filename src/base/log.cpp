#include "base/log.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <fcntl.h>
#include <sys/time.h>
#include <unistd.h>

namespace cryo::log {

namespace {

Config g_config;
int g_fd = -1; // -1: stderr

char const* level_name(Level level)
{
    switch (level) {
    case Level::Debug:
        return "debug";
    case Level::Info:
        return "info";
    case Level::Warning:
        return "warning";
    case Level::Error:
        return "error";
    }
    return "?";
}

std::string timestamp()
{
    timeval tv {};
    gettimeofday(&tv, nullptr);
    tm utc {};
    gmtime_r(&tv.tv_sec, &utc);
    char buf[64];
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
    return fmt::format("{}.{:06}Z", buf, tv.tv_usec);
}

void write_all(int fd, std::string_view text)
{
    while (!text.empty()) {
        ssize_t n = ::write(fd, text.data(), text.size());
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        text.remove_prefix(static_cast<size_t>(n));
    }
}

// `stats`: the members of a statistics record's "stats" object (JSON only), or empty.
std::string render(Level level, std::string_view message, std::string_view stats = {})
{
    if (g_config.format == Format::Json)
        return fmt::format("{{\"level\":\"{}\",\"msg\":\"{}\",{}\"time\":\"{}\"}}\n", level_name(level),
                           json_escape(message), stats.empty() ? "" : fmt::format("\"stats\":{{{}}},", stats),
                           timestamp());
    return fmt::format("{} cryo {}: {}\n", timestamp(), level_name(level), message);
}

// Where records go: the --log file, else stderr.
int sink()
{
    return g_fd >= 0 ? g_fd : STDERR_FILENO;
}

} // namespace

void configure(Config const& config)
{
    g_config = config;
    if (g_fd >= 0)
        ::close(g_fd);
    g_fd = -1;
    if (!config.path.empty())
        g_fd = ::open(config.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

bool enabled(Level level)
{
    return level >= g_config.min_level;
}

void write(Level level, std::string_view message)
{
    write_all(sink(), render(level, message));
}

void stats(Level level, std::string_view message, std::initializer_list<Stat> values)
{
    if (!enabled(level) && g_fd < 0)
        return;
    if (g_config.format != Format::Json) {
        write(level, message);
        return;
    }
    std::string fields;
    for (auto const& v : values) {
        if (!fields.empty())
            fields += ',';
        // Counts stay integers; times keep three decimals. (JSON has no NaN or infinity.)
        if (!std::isfinite(v.value))
            fields += fmt::format("\"{}\":null", json_escape(v.name));
        else if (v.value == std::floor(v.value) && std::fabs(v.value) < 9.0e15)
            fields += fmt::format("\"{}\":{}", json_escape(v.name), static_cast<int64_t>(v.value));
        else
            fields += fmt::format("\"{}\":{:.3f}", json_escape(v.name), v.value);
    }
    write_all(sink(), render(level, message, fields));
}

void fatal_error(std::string_view message)
{
    if (g_fd >= 0)
        write_all(g_fd, render(Level::Error, message));
    write_all(STDERR_FILENO, fmt::format("cryo: {}\n", message));
}

std::string json_escape(std::string_view text)
{
    std::string out;
    out.reserve(text.size() + 8);
    for (unsigned char c : text) {
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            if (c < 0x20)
                out += fmt::format("\\u{:04x}", c);
            else
                out += static_cast<char>(c);
        }
    }
    return out;
}

} // namespace cryo::log
