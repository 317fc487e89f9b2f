#include "sys/userfaultfd.h"

#include <cerrno>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>

namespace cryo::sys {

Result<void> uffd_api(FdRef uffd)
{
    struct uffdio_api api {};
    api.api = UFFD_API;
    if (::ioctl(uffd.get(), UFFDIO_API, &api) < 0)
        return Error::from_errno("userfaultfd UFFDIO_API");
    return {};
}

Result<void> uffd_register_missing(FdRef uffd, uint64_t start, uint64_t size)
{
    struct uffdio_register r {};
    r.range.start = start;
    r.range.len = size;
    r.mode = UFFDIO_REGISTER_MODE_MISSING;
    if (::ioctl(uffd.get(), UFFDIO_REGISTER, &r) < 0)
        return Error::from_errno(fmt::format("userfaultfd register {:#x}-{:#x}", start, start + size));
    return {};
}

Result<void> uffd_unregister(FdRef uffd, uint64_t start, uint64_t size)
{
    struct uffdio_range r {};
    r.start = start;
    r.len = size;
    if (::ioctl(uffd.get(), UFFDIO_UNREGISTER, &r) < 0)
        return Error::from_errno(fmt::format("userfaultfd unregister {:#x}-{:#x}", start, start + size));
    return {};
}

Result<void> uffd_copy(FdRef uffd, uint64_t dst, void const* local, size_t size)
{
    auto src = reinterpret_cast<uint64_t>(local); // SAFETY: an address for the kernel to read from
    while (size > 0) {
        struct uffdio_copy c {};
        c.dst = dst;
        c.src = src;
        c.len = size;
        c.mode = UFFDIO_COPY_MODE_DONTWAKE; // nothing waits: the process is stopped
        int r = ::ioctl(uffd.get(), UFFDIO_COPY, &c);
        // A partial copy reports its bytes in c.copy (EAGAIN when the layout changed meanwhile).
        uint64_t done = c.copy > 0 ? static_cast<uint64_t>(c.copy) : 0;
        if (r < 0 && errno != EAGAIN && errno != EINTR)
            return Error::from_errno(fmt::format("userfaultfd copy to {:#x}", dst));
        dst += done;
        src += done;
        size -= static_cast<size_t>(done);
    }
    return {};
}

} // namespace cryo::sys
