// Futex state of another task (futex_state.h).
#include "sys/futex_state.h"

#include <cerrno>
#include <charconv>
#include <sys/syscall.h>
#include <unistd.h>

#include "sys/file.h"

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
    auto next_word = [&]() -> std::string_view {
        while (!text.empty() && (text.front() == ' ' || text.front() == '\n'))
            text.remove_prefix(1);
        size_t n = 0;
        while (n < text.size() && text[n] != ' ' && text[n] != '\n')
            ++n;
        auto word = text.substr(0, n);
        text.remove_prefix(n);
        return word;
    };
    auto nr_word = next_word();
    TaskSyscall call;
    auto [end, ec] = std::from_chars(nr_word.data(), nr_word.data() + nr_word.size(), call.nr);
    if (ec != std::errc() || end != nr_word.data() + nr_word.size() || call.nr < 0)
        return std::nullopt;
    for (auto& arg : call.args) {
        auto word = next_word();
        if (word.size() < 3 || word.substr(0, 2) != "0x")
            return std::nullopt;
        auto [e, c] = std::from_chars(word.data() + 2, word.data() + word.size(), arg, 16);
        if (c != std::errc() || e != word.data() + word.size())
            return std::nullopt;
    }
    return call;
}

Result<std::optional<TaskSyscall>> task_syscall(pid_t pid, pid_t tid)
{
    auto text = TRY(read_file(fmt::format("/proc/{}/task/{}/syscall", pid, tid)));
    return parse_task_syscall(text);
}

} // namespace cryo::sys
