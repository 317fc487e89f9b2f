#include "sys/task_attrs.h"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <string>
#include <sys/resource.h>

#include "sys/file.h"
#include "sys/raw.h"

namespace cryo::sys {

namespace {

// struct sched_attr of include/uapi/linux/sched/types.h (size 56 with the util-clamp fields).
struct KernelSchedAttr {
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime;
    uint64_t sched_deadline;
    uint64_t sched_period;
    uint32_t sched_util_min;
    uint32_t sched_util_max;
};

std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\n'))
        s.remove_suffix(1);
    return s;
}

bool to_int(std::string_view s, long long& out, int base = 10)
{
    std::string copy(s);
    if (copy.empty())
        return false;
    char* end = nullptr;
    errno = 0;
    out = std::strtoll(copy.c_str(), &end, base);
    return errno == 0 && end && *end == '\0';
}

bool to_uint(std::string_view s, uint64_t& out, int base)
{
    std::string copy(s);
    if (copy.empty())
        return false;
    char* end = nullptr;
    errno = 0;
    out = std::strtoull(copy.c_str(), &end, base);
    return errno == 0 && end && *end == '\0';
}

} // namespace

Result<SchedAttr> sched_getattr(pid_t tid)
{
    KernelSchedAttr a {};
    if (::syscall(SYS_sched_getattr, tid, &a, sizeof a, 0) < 0)
        return Error::from_errno(fmt::format("sched_getattr {}", tid));
    return SchedAttr { a.sched_policy, a.sched_flags, a.sched_nice, a.sched_priority };
}

Result<void> sched_setattr(pid_t tid, SchedAttr const& attr)
{
    KernelSchedAttr a {};
    a.size = sizeof a;
    a.sched_policy = attr.policy;
    a.sched_flags = attr.flags;
    a.sched_nice = attr.nice;
    a.sched_priority = attr.priority;
    if (::syscall(SYS_sched_setattr, tid, &a, 0) < 0)
        return Error::from_errno(
            fmt::format("sched_setattr {} (policy {}, priority {})", tid, attr.policy, attr.priority));
    return {};
}

Result<int> nice_of(pid_t tid)
{
    // The raw syscall returns 20 - nice, never negative (getpriority(2) NOTES).
    long r = ::syscall(SYS_getpriority, PRIO_PROCESS, tid);
    if (r < 0)
        return Error::from_errno(fmt::format("getpriority {}", tid));
    return static_cast<int>(20 - r);
}

Result<void> set_nice(pid_t tid, int nice)
{
    if (::setpriority(PRIO_PROCESS, static_cast<id_t>(tid), nice) < 0)
        return Error::from_errno(fmt::format("setpriority {} to {}", tid, nice));
    return {};
}

Result<cpu_set_t> cpu_affinity(pid_t tid)
{
    cpu_set_t cpus;
    if (::sched_getaffinity(tid, sizeof cpus, &cpus) < 0)
        return Error::from_errno(fmt::format("sched_getaffinity {}", tid));
    return cpus;
}

Result<void> set_cpu_affinity(pid_t tid, cpu_set_t const& cpus)
{
    if (::sched_setaffinity(tid, sizeof cpus, &cpus) < 0)
        return Error::from_errno(fmt::format("sched_setaffinity {}", tid));
    return {};
}

Result<void> pin_to_current_cpu(pid_t tid)
{
    int cpu = ::sched_getcpu();
    if (cpu < 0)
        return Error::from_errno("sched_getcpu");
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    return set_cpu_affinity(tid, one);
}

Result<std::vector<ProcTimer>> parse_proc_timers(std::string_view text)
{
    // Blocks of "ID: n", "signal: sig/value", "notify: kind/pid.N|tid.N", "ClockID: n"
    // (fs/proc/base.c show_timer).
    std::vector<ProcTimer> out;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t eol = text.find('\n', pos);
        std::string_view line = text.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
        pos = eol == std::string_view::npos ? text.size() : eol + 1;
        auto colon = line.find(':');
        if (colon == std::string_view::npos)
            continue;
        auto key = line.substr(0, colon);
        auto value = trim(line.substr(colon + 1));
        long long n = 0;
        if (key == "ID") {
            if (!to_int(value, n) || n < 0)
                return Error::format("/proc timers: bad ID {:?}", std::string(value));
            out.push_back({});
            out.back().id = static_cast<int>(n);
            continue;
        }
        if (out.empty())
            return Error::format("/proc timers: {:?} before any ID", std::string(line));
        auto& t = out.back();
        if (key == "signal") {
            auto slash = value.find('/');
            uint64_t v = 0;
            if (slash == std::string_view::npos || !to_int(value.substr(0, slash), n)
                || !to_uint(value.substr(slash + 1), v, 16))
                return Error::format("/proc timers: bad signal line {:?}", std::string(value));
            t.signal = static_cast<int>(n);
            t.value = v;
        } else if (key == "notify") {
            auto slash = value.find('/');
            if (slash == std::string_view::npos)
                return Error::format("/proc timers: bad notify line {:?}", std::string(value));
            auto kind = value.substr(0, slash);
            auto who = value.substr(slash + 1);
            if (kind == "signal")
                t.notify = SIGEV_SIGNAL;
            else if (kind == "none")
                t.notify = SIGEV_NONE;
            else if (kind == "thread")
                t.notify = SIGEV_THREAD;
            else
                return Error::format("/proc timers: unknown notify {:?}", std::string(kind));
            if (who.starts_with("tid."))
                t.notify |= SIGEV_THREAD_ID;
            else if (!who.starts_with("pid."))
                return Error::format("/proc timers: bad notify target {:?}", std::string(who));
            if (!to_int(who.substr(4), n))
                return Error::format("/proc timers: bad notify target {:?}", std::string(who));
            t.target = static_cast<int>(n);
        } else if (key == "ClockID") {
            if (!to_int(value, n))
                return Error::format("/proc timers: bad ClockID {:?}", std::string(value));
            t.clock_id = static_cast<int>(n);
        }
    }
    return out;
}

Result<std::vector<ProcTimer>> read_proc_timers(pid_t pid)
{
    auto text = TRY(read_file(fmt::format("/proc/{}/timers", pid)));
    return parse_proc_timers(text);
}

Result<uint32_t> read_personality(pid_t pid)
{
    auto text = TRY(read_file(fmt::format("/proc/{}/personality", pid)));
    uint64_t v = 0;
    if (!to_uint(trim(text), v, 16))
        return Error::format("/proc/{}/personality: bad value {:?}", pid, text);
    return static_cast<uint32_t>(v);
}

} // namespace cryo::sys
