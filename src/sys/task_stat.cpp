#include "sys/task_stat.h"

#include <fmt/format.h>

#include "sys/file.h"

namespace cryo::sys {

Result<StatHead> parse_stat_head(std::string_view text)
{
    // "pid (comm) S ...": the kernel prints comm as is between the parentheses, so only the
    // last ')' ends it (fs/proc/array.c do_task_stat).
    size_t open = text.find(" (");
    size_t close = text.rfind(')');
    if (open == std::string_view::npos || close == std::string_view::npos || close < open + 2)
        return Error::make("parse stat: no command name");
    if (close + 2 >= text.size() || text[close + 1] != ' ' || text[close + 2] == ' ' || text[close + 2] == '\n')
        return Error::make("parse stat: no state after the command name");
    // One letter, then a field separator (or the end of a cut-off text's last field).
    if (close + 3 < text.size() && text[close + 3] != ' ')
        return Error::format("parse stat: {:?} is not a state",
                             std::string(text.substr(close + 2, text.find(' ', close + 2) - (close + 2))));
    return StatHead { .pid = text.substr(0, open),
                      .comm = text.substr(open + 2, close - open - 2),
                      .state = text[close + 2],
                      .rest = close + 3 < text.size() ? text.substr(close + 4) : std::string_view {} };
}

Result<char> parse_task_state(std::string_view text)
{
    return TRY(parse_stat_head(text)).state;
}

Result<char> read_task_state(pid_t pid, pid_t tid)
{
    auto text = TRY(read_file(fmt::format("/proc/{}/task/{}/stat", pid, tid)));
    return TRY(parse_task_state(text).context("thread {} of process {}", tid, pid));
}

} // namespace cryo::sys
