// Futex state of another task (futex_state.h).
#include "sys/futex_state.h"

#include <cerrno>
#include <sys/syscall.h>
#include <unistd.h>

#include "sys/file.h"
#include "sys/text.h"

namespace cryo::sys {

Result<RobustListHead> robust_list_registration(pid_t tid)
{
    void* head = nullptr;
    size_t size = 0;
    if (::syscall(SYS_get_robust_list, tid, &head, &size) != 0)
        return Error::from_errno(fmt::format("get_robust_list of thread {}", tid));
    // SAFETY: the kernel returns a user address of the other task, only ever used as a number.
    return RobustListHead { static_cast<uint64_t>(reinterpret_cast<uintptr_t>(head)), size };
}

std::optional<TaskSyscall> parse_task_syscall(std::string_view text)
{
    // The kernel separates with single spaces and ends with a newline; a tab is no separator.
    auto words = split_ws(text, " \n");
    TaskSyscall call;
    if (words.size() < 1 + call.args.size() || !parse_whole_number(words[0], call.nr) || call.nr < 0)
        return std::nullopt;
    for (size_t i = 0; i < call.args.size(); ++i) {
        // "0x" and hex digits (the kernel prints 0x%llx); std::from_chars takes no prefix.
        auto word = words[1 + i];
        if (!word.starts_with("0x") || !parse_whole_number(word.substr(2), call.args[i], 16))
            return std::nullopt;
    }
    return call; // SP and PC follow; not needed
}

Result<std::optional<TaskSyscall>> task_syscall(pid_t pid, pid_t tid)
{
    auto text = TRY(read_file(fmt::format("/proc/{}/task/{}/syscall", pid, tid)));
    return parse_task_syscall(text);
}

} // namespace cryo::sys
