// Process-wide logger configured once by the CLI (--log, --log-format, --debug). Text goes
// to stderr unless --log names a file; JSON lines follow runc's format
// {"level":"error","msg":"...","time":"..."} because containerd's shim and conmon read them.
#pragma once

#include <fmt/format.h>
#include <initializer_list>
#include <string>
#include <string_view>

namespace cryo::log {

enum class Level { Debug, Info, Warning, Error };
enum class Format { Text, Json };

struct Config {
    std::string path; // empty: stderr
    Format format { Format::Text };
    Level min_level { Level::Warning };
};

void configure(Config const& config);
bool enabled(Level level);
void write(Level level, std::string_view message);
// The error a command ends with: always printed to stderr as "cryo: <message>", and
// also written to the --log file (in its format) when one is configured.
void fatal_error(std::string_view message);

template<typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args)
{
    if (enabled(Level::Debug))
        write(Level::Debug, fmt::format(f, std::forward<Args>(args)...));
}
template<typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args)
{
    if (enabled(Level::Info))
        write(Level::Info, fmt::format(f, std::forward<Args>(args)...));
}
template<typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args)
{
    if (enabled(Level::Warning))
        write(Level::Warning, fmt::format(f, std::forward<Args>(args)...));
}
template<typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args)
{
    write(Level::Error, fmt::format(f, std::forward<Args>(args)...));
}

// One figure of a statistics record (a time in ms, a count, bytes).
struct Stat {
    std::string_view name;
    double value;
};
// A statistics record (a dump's or restore's phases): in JSON its figures are fields of a
// "stats" object beside "msg", so tools read them without parsing the message; in text, the
// message alone. Written when `level` is enabled or when the log goes to a file (--log), as
// runc's log file gets its info records.
void stats(Level level, std::string_view message, std::initializer_list<Stat> values);

// Escapes a string for inclusion in a JSON string literal (no surrounding quotes).
std::string json_escape(std::string_view text);

} // namespace cryo::log
