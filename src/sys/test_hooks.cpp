#include "sys/test_hooks.h"

#include <cstdlib>
#include <string_view>

#include "base/log.h"
#include "sys/text.h"

namespace cryo::sys {

namespace {

// The whole of `text` as a decimal number of at least `min`.
template<typename T>
std::optional<T> parse_number(std::string_view text, T min)
{
    T n {};
    if (!parse_whole_number(text, n) || n < min)
        return std::nullopt;
    return n;
}

} // namespace

ParsedKillTracee parse_kill_tracee(char const* value)
{
    if (!value)
        return {};
    std::string_view text = value;
    auto colon = text.find(':');
    auto nr = parse_number<long>(text.substr(0, colon), 0);
    std::optional<pid_t> pid;
    if (colon != std::string_view::npos) {
        pid = parse_number<pid_t>(text.substr(colon + 1), 1);
        if (!pid)
            nr.reset();
    }
    if (!nr)
        return { std::nullopt, fmt::format("ignoring CRYO_TEST_KILL_TRACEE={:?}: not NR or NR:PID", value) };
    return { KillTraceeHook { *nr, pid }, {} };
}

std::optional<KillTraceeHook> const& kill_tracee_hook()
{
    static std::optional<KillTraceeHook> const hook = [] {
        auto parsed = parse_kill_tracee(std::getenv("CRYO_TEST_KILL_TRACEE"));
        if (!parsed.warning.empty())
            log::warn("{}", parsed.warning);
        return parsed.hook;
    }();
    return hook;
}

} // namespace cryo::sys
