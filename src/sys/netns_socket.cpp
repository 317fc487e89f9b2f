#include "sys/netns_socket.h"

#include <linux/sockios.h>
#include <sys/ioctl.h>

namespace cryo::sys {

std::optional<Fd> socket_netns(FdRef socket)
{
    int ns = ::ioctl(socket.get(), SIOCGSKNS); // the kernel opens it O_CLOEXEC (open_related_ns)
    if (ns < 0)
        return std::nullopt;
    return Fd(ns);
}

} // namespace cryo::sys
