// The state letter of one task from /proc/PID/task/TID/stat (proc(5) field 3). The command
// name before it may hold spaces and ')' (a program may name itself "a) Z (b"), so the letter
// is the one after the last ')'. The parser is pure and fixture-tested.
#pragma once

#include <string_view>
#include <sys/types.h>

#include "base/error.h"

namespace cryo::sys {

// Pure. text: a /proc/PID/stat or /proc/PID/task/TID/stat. Its state letter (R, S, D, T, t,
// Z, X, I...); an error when no "(comm) X" is there (a truncated or foreign text).
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
