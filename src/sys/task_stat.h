// The state letter of one task from /proc/PID/task/TID/stat (proc(5) field 3). The command
// name before it may hold spaces and ')' (a program may name itself "a) Z (b"), so the letter
// is the one after the last ')'. The parser is pure and fixture-tested.
#pragma once

#include <string_view>
#include <sys/types.h>

#include "base/error.h"

namespace cryo::sys {

// The fields of a stat text up to its state, and the rest (fields 4 on, views into it).
struct StatHead {
    std::string_view pid;
    std::string_view comm;
    char state { 0 };
    std::string_view rest;
};
// Pure. text: a /proc/PID/stat or /proc/PID/task/TID/stat, "pid (comm) S rest"; an error when
// no "(comm) X" is there (a truncated or foreign text). procfs.h parse_stat reads the rest.
Result<StatHead> parse_stat_head(std::string_view text);
// Pure. Its state letter (R, S, D, T, t, Z, X, I...).
Result<char> parse_task_state(std::string_view text);
// The state letter of thread tid of process pid. An errno error (ENOENT, ESRCH) when the task
// is gone, that is once it has been reaped.
Result<char> read_task_state(pid_t pid, pid_t tid);
// Pure. The task has exited: a zombie (Z) or dead (X, being reaped).
constexpr bool exited_state(char state)
{
    return state == 'Z' || state == 'X';
}

} // namespace cryo::sys
