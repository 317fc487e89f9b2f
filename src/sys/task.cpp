#include "sys/task.h"

#include <string>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "sys/raw.h"

namespace cryo::sys {

namespace {
// ioprio_set(2) who: the calling process (linux/ioprio.h is absent from older headers).
constexpr int ioprio_who_process = 1;
constexpr int ioprio_class_shift = 13;
} // namespace

Result<void> set_no_new_privs()
{
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return Error::from_errno("prctl PR_SET_NO_NEW_PRIVS");
    return {};
}

Result<bool> no_new_privs()
{
    int r = ::prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
    if (r < 0)
        return Error::from_errno("prctl PR_GET_NO_NEW_PRIVS");
    return r == 1;
}

Result<void> setrlimit(int resource, uint64_t soft, uint64_t hard)
{
    struct rlimit64 limit { };
    limit.rlim_cur = soft;
    limit.rlim_max = hard;
    if (::prlimit64(0, static_cast<__rlimit_resource>(resource), &limit, nullptr) < 0)
        return Error::from_errno("setrlimit");
    return {};
}

Result<void> ioprio_set_self(int io_class, int priority)
{
    int value = (io_class << ioprio_class_shift) | priority;
    if (::syscall(SYS_ioprio_set, ioprio_who_process, 0, value) < 0)
        return Error::from_errno("ioprio_set");
    return {};
}

Result<int> ioprio_get_self()
{
    long r = ::syscall(SYS_ioprio_get, ioprio_who_process, 0);
    if (r < 0)
        return Error::from_errno("ioprio_get");
    return static_cast<int>(r);
}

Result<void> sched_setattr_self(SchedAttr attr)
{
    attr.size = sizeof attr;
    if (::syscall(SYS_sched_setattr, 0, &attr, 0) < 0)
        return Error::from_errno("sched_setattr");
    return {};
}

Result<void> personality(unsigned long persona)
{
    if (::personality(persona) < 0)
        return Error::from_errno("personality");
    return {};
}

Result<void> sethostname(std::string_view name)
{
    if (::sethostname(name.data(), name.size()) < 0)
        return Error::from_errno("sethostname");
    return {};
}

Result<void> setdomainname(std::string_view name)
{
    if (::setdomainname(name.data(), name.size()) < 0)
        return Error::from_errno("setdomainname");
    return {};
}

} // namespace cryo::sys
