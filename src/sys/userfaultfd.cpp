#include "sys/userfaultfd.h"

#include <cerrno>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace cryo::sys {

Result<void> uffd_api(FdRef uffd)
{
    struct uffdio_api api { };
    api.api = UFFD_API;
    if (::ioctl(uffd.get(), UFFDIO_API, &api) < 0)
        return Error::from_errno("userfaultfd UFFDIO_API");
    return {};
}

Result<void> uffd_register_missing(FdRef uffd, uint64_t start, uint64_t size)
{
    struct uffdio_register r { };
    r.range.start = start;
    r.range.len = size;
    r.mode = UFFDIO_REGISTER_MODE_MISSING;
    if (::ioctl(uffd.get(), UFFDIO_REGISTER, &r) < 0)
        return Error::from_errno(fmt::format("userfaultfd register {:#x}-{:#x}", start, start + size));
    return {};
}

Result<void> uffd_unregister(FdRef uffd, uint64_t start, uint64_t size)
{
    struct uffdio_range r { };
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
        struct uffdio_copy c { };
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

Result<uint64_t> uffd_api_features(FdRef uffd, uint64_t features)
{
    struct uffdio_api api { };
    api.api = UFFD_API;
    api.features = features;
    if (::ioctl(uffd.get(), UFFDIO_API, &api) < 0)
        return Error::from_errno("userfaultfd UFFDIO_API");
    return static_cast<uint64_t>(api.features);
}

Result<void> uffd_register_wp(FdRef uffd, uint64_t start, uint64_t size)
{
    struct uffdio_register r { };
    r.range.start = start;
    r.range.len = size;
    r.mode = UFFDIO_REGISTER_MODE_WP;
    if (::ioctl(uffd.get(), UFFDIO_REGISTER, &r) < 0)
        return Error::from_errno(fmt::format("userfaultfd register (write-protect) {:#x}-{:#x}", start, start + size));
    return {};
}

Result<void> uffd_writeprotect(FdRef uffd, uint64_t start, uint64_t size, bool protect)
{
    struct uffdio_writeprotect w { };
    w.range.start = start;
    w.range.len = size;
    w.mode = protect ? UFFDIO_WRITEPROTECT_MODE_WP : 0;
    if (::ioctl(uffd.get(), UFFDIO_WRITEPROTECT, &w) < 0)
        return Error::from_errno(
            fmt::format("userfaultfd {} {:#x}-{:#x}", protect ? "write-protect" : "unprotect", start, start + size));
    return {};
}

Result<void> uffd_wake(FdRef uffd, uint64_t start, uint64_t size)
{
    struct uffdio_range r { };
    r.start = start;
    r.len = size;
    if (::ioctl(uffd.get(), UFFDIO_WAKE, &r) < 0)
        return Error::from_errno(fmt::format("userfaultfd wake {:#x}-{:#x}", start, start + size));
    return {};
}

Result<void> uffd_read_events(FdRef uffd, std::vector<UffdEvent>& out)
{
    out.clear();
    struct uffd_msg msgs[64];
    ssize_t n = ::read(uffd.get(), msgs, sizeof msgs);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR)
            return {};
        return Error::from_errno("read userfaultfd");
    }
    for (size_t i = 0; i < static_cast<size_t>(n) / sizeof(struct uffd_msg); ++i) {
        auto const& m = msgs[i];
        UffdEvent e;
        switch (m.event) {
        case UFFD_EVENT_PAGEFAULT:
            e.kind = (m.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP) ? UffdEvent::Kind::WriteFault
                                                                      : UffdEvent::Kind::Fault;
            e.address = m.arg.pagefault.address;
            e.end = e.address + 1;
            break;
        case UFFD_EVENT_REMOVE:
            e.kind = UffdEvent::Kind::Remove;
            e.address = m.arg.remove.start;
            e.end = m.arg.remove.end;
            break;
        case UFFD_EVENT_UNMAP:
            e.kind = UffdEvent::Kind::Unmap;
            e.address = m.arg.remove.start;
            e.end = m.arg.remove.end;
            break;
        case UFFD_EVENT_REMAP:
            e.kind = UffdEvent::Kind::Remap;
            e.address = m.arg.remap.from;
            e.end = m.arg.remap.from + m.arg.remap.len;
            break;
        default:
            break;
        }
        out.push_back(e);
    }
    return {};
}

} // namespace cryo::sys
