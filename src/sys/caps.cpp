#include "sys/caps.h"

#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "sys/raw.h"

namespace cryo::sys {

Result<CapabilitySets> capget()
{
    __user_cap_header_struct header { _LINUX_CAPABILITY_VERSION_3, 0 };
    __user_cap_data_struct data[2] {};
    if (::syscall(SYS_capget, &header, data) < 0)
        return Error::from_errno("capget");
    auto join = [](uint32_t low, uint32_t high) { return uint64_t(low) | (uint64_t(high) << 32); };
    return CapabilitySets {
        .effective = join(data[0].effective, data[1].effective),
        .permitted = join(data[0].permitted, data[1].permitted),
        .inheritable = join(data[0].inheritable, data[1].inheritable),
    };
}

Result<void> capset(CapabilitySets const& sets)
{
    __user_cap_header_struct header { _LINUX_CAPABILITY_VERSION_3, 0 };
    __user_cap_data_struct data[2] {};
    data[0].effective = static_cast<uint32_t>(sets.effective);
    data[1].effective = static_cast<uint32_t>(sets.effective >> 32);
    data[0].permitted = static_cast<uint32_t>(sets.permitted);
    data[1].permitted = static_cast<uint32_t>(sets.permitted >> 32);
    data[0].inheritable = static_cast<uint32_t>(sets.inheritable);
    data[1].inheritable = static_cast<uint32_t>(sets.inheritable >> 32);
    if (::syscall(SYS_capset, &header, data) < 0)
        return Error::from_errno("capset");
    return {};
}

Result<bool> cap_bounding_has(int cap)
{
    int r = ::prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (r < 0)
        return Error::from_errno("prctl PR_CAPBSET_READ");
    return r == 1;
}

Result<void> cap_bounding_drop(int cap)
{
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
        return Error::from_errno("prctl PR_CAPBSET_DROP");
    return {};
}

Result<bool> cap_ambient_has(int cap)
{
    int r = ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0);
    if (r < 0)
        return Error::from_errno("prctl PR_CAP_AMBIENT_IS_SET");
    return r == 1;
}

Result<void> cap_ambient_raise(int cap)
{
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
        return Error::from_errno("prctl PR_CAP_AMBIENT_RAISE");
    return {};
}

Result<void> cap_ambient_clear_all()
{
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
        return Error::from_errno("prctl PR_CAP_AMBIENT_CLEAR_ALL");
    return {};
}

Result<void> set_keep_caps(bool keep)
{
    if (::prctl(PR_SET_KEEPCAPS, keep ? 1 : 0, 0, 0, 0) < 0)
        return Error::from_errno("prctl PR_SET_KEEPCAPS");
    return {};
}

Result<void> setresuid(uid_t uid)
{
    if (::syscall(SYS_setresuid, uid, uid, uid) < 0)
        return Error::from_errno("setresuid");
    return {};
}

Result<void> setresgid(gid_t gid)
{
    if (::syscall(SYS_setresgid, gid, gid, gid) < 0)
        return Error::from_errno("setresgid");
    return {};
}

Result<void> setgroups(std::span<gid_t const> groups)
{
    if (::syscall(SYS_setgroups, groups.size(), groups.data()) < 0)
        return Error::from_errno("setgroups");
    return {};
}

} // namespace cryo::sys
