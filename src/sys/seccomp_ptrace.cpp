#include "sys/seccomp_ptrace.h"

#include <cerrno>
#include <sys/ptrace.h>

#include "sys/file.h"
#include "sys/text.h"

namespace cryo::sys {

Result<std::optional<std::vector<sock_filter>>> ptrace_seccomp_filter(pid_t tid, unsigned index)
{
    // With a null buffer the kernel returns the program's length in instructions.
    long count = ::ptrace(PTRACE_SECCOMP_GET_FILTER, tid, static_cast<unsigned long>(index), nullptr);
    if (count < 0 && errno == ENOENT)
        return std::optional<std::vector<sock_filter>> {};
    if (count < 0)
        return Error::from_errno(fmt::format("ptrace PTRACE_SECCOMP_GET_FILTER {} of {}", index, tid));
    std::vector<sock_filter> program(static_cast<size_t>(count));
    long got = ::ptrace(PTRACE_SECCOMP_GET_FILTER, tid, static_cast<unsigned long>(index), program.data());
    if (got < 0)
        return Error::from_errno(fmt::format("ptrace PTRACE_SECCOMP_GET_FILTER {} of {}", index, tid));
    // Filters are immutable once attached: the length cannot change between the two calls.
    program.resize(static_cast<size_t>(got));
    return std::optional(std::move(program));
}

Result<uint64_t> ptrace_seccomp_flags(pid_t tid, unsigned index)
{
    struct __ptrace_seccomp_metadata metadata { };
    metadata.filter_off = index;
    if (::ptrace(PTRACE_SECCOMP_GET_METADATA, tid, sizeof metadata, &metadata) < 0)
        return Error::from_errno(fmt::format("ptrace PTRACE_SECCOMP_GET_METADATA {} of {}", index, tid));
    return static_cast<uint64_t>(metadata.flags);
}

Result<void> ptrace_suspend_seccomp(pid_t tid, unsigned long options_in_use)
{
    if (::ptrace(PTRACE_SETOPTIONS, tid, nullptr, options_in_use | PTRACE_O_SUSPEND_SECCOMP) < 0)
        return Error::from_errno(fmt::format("ptrace PTRACE_O_SUSPEND_SECCOMP on {}", tid));
    return {};
}

Result<SeccompStatus> parse_seccomp_status(std::string_view text)
{
    SeccompStatus out;
    auto field = [&](std::string_view key, int& value) -> Result<void> {
        size_t at = 0;
        for (;;) {
            at = text.find(key, at);
            if (at == std::string_view::npos)
                return {};
            if (at == 0 || text[at - 1] == '\n')
                break;
            at += key.size();
        }
        auto rest = text.substr(at + key.size());
        size_t begin = rest.find_first_not_of(" \t");
        if (begin == std::string_view::npos)
            return Error::format("{} without a value", key);
        rest = rest.substr(begin);
        // The number fills the rest of its line: a blank after it is an error.
        if (!parse_whole_number(rest.substr(0, rest.find('\n')), value))
            return Error::format("bad {} line", key);
        return {};
    };
    TRY(field("Seccomp:", out.mode));
    TRY(field("Seccomp_filters:", out.filters));
    if (out.mode < 0 || out.mode > 2 || out.filters < 0)
        return Error::format("bad seccomp mode {} or filter count {}", out.mode, out.filters);
    return out;
}

Result<SeccompStatus> read_seccomp_status(pid_t pid, pid_t tid)
{
    auto path = fmt::format("/proc/{}/task/{}/status", pid, tid);
    auto text = TRY(read_file(path));
    return TRY(parse_seccomp_status(text).context("{}", path));
}

} // namespace cryo::sys
