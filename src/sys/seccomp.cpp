#include "sys/seccomp.h"

#include <linux/seccomp.h>
#include <unistd.h>

#include "sys/raw.h"

namespace cryo::sys {

Result<Fd> seccomp_set_mode_filter(std::span<sock_filter const> filter, unsigned flags)
{
    sock_fprog program {};
    program.len = static_cast<unsigned short>(filter.size());
    // SAFETY: the kernel only reads the filter; sock_fprog's pointer is non-const by ABI.
    program.filter = const_cast<sock_filter*>(filter.data());
    long r = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &program);
    if (r < 0)
        return Error::from_errno("seccomp");
    if (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER)
        return Fd(static_cast<int>(r));
    return Fd();
}

} // namespace cryo::sys
