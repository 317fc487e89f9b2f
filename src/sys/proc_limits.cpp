// Parser of /proc/PID/limits (proc_pid_limits in fs/proc/base.c): a header line, then one
// line per resource: its name left-aligned in 25 columns, the soft and hard limits in 20
// columns each, and its unit (if any).
#include "sys/proc_limits.h"

#include <array>
#include <fmt/format.h>
#include <sys/resource.h>

#include "sys/file.h"
#include "sys/text.h"

namespace cryo::sys {

namespace {

// fs/proc/base.c lnames[], indexed by RLIMIT_*.
constexpr std::array<std::string_view, 16> kNames = {
    "Max cpu time",       "Max file size",     "Max data size",         "Max stack size",
    "Max core file size", "Max resident set",  "Max processes",         "Max open files",
    "Max locked memory",  "Max address space", "Max file locks",        "Max pending signals",
    "Max msgqueue size",  "Max nice priority", "Max realtime priority", "Max realtime timeout",
};
static_assert(kNames.size() == RLIM_NLIMITS);
constexpr size_t kNameWidth = 25;

Result<uint64_t> parse_value(std::string_view word, std::string_view name)
{
    if (word == "unlimited")
        return RLIM64_INFINITY;
    uint64_t value = 0;
    if (!parse_number(word, value))
        return Error::format("limits: {}: {:?} is not a limit", name, word);
    return value;
}

} // namespace

Result<std::vector<ProcLimit>> parse_proc_limits(std::string_view text)
{
    std::vector<ProcLimit> out(kNames.size());
    std::array<bool, kNames.size()> seen {};
    bool header = true;
    while (!text.empty()) {
        size_t eol = std::min(text.find('\n'), text.size());
        auto line = text.substr(0, eol);
        text.remove_prefix(std::min(eol + 1, text.size()));
        if (header) {
            if (!line.starts_with("Limit "))
                return Error::format("limits: unexpected header {:?}", line);
            header = false;
            continue;
        }
        if (line.empty())
            continue;
        auto name = trim(line.substr(0, std::min(kNameWidth, line.size())));
        size_t resource = 0;
        while (resource < kNames.size() && kNames[resource] != name)
            ++resource;
        if (resource == kNames.size())
            return Error::format("limits: unknown limit {:?}", name);
        auto values = split_ws(line.substr(std::min(kNameWidth, line.size()))); // soft, hard, unit
        if (values.size() < 2)
            return Error::format("limits: {}: no soft and hard limit", name);
        out[resource].resource = static_cast<int>(resource);
        out[resource].soft = TRY(parse_value(values[0], name));
        out[resource].hard = TRY(parse_value(values[1], name));
        seen[resource] = true;
    }
    for (size_t i = 0; i < kNames.size(); ++i)
        if (!seen[i])
            return Error::format("limits: no line for {:?}", kNames[i]);
    return out;
}

Result<std::vector<ProcLimit>> read_proc_limits(pid_t pid)
{
    auto text = TRY(read_file(fmt::format("/proc/{}/limits", pid)));
    return parse_proc_limits(text).context("/proc/{}/limits", pid);
}

} // namespace cryo::sys
