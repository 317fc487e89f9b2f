#include "sys/netns_socket.h"

#include <linux/sockios.h>
#include <optional>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <thread>

#include "sys/file_kinds.h"
#include "sys/ns.h"

namespace cryo::sys {

Result<Fd> socket_in_netns_of(FdRef like, int domain, int type)
{
    int ns = ::ioctl(like.get(), SIOCGSKNS); // the kernel opens it O_CLOEXEC (open_related_ns)
    if (ns < 0)
        return socket(domain, type);
    Fd netns(ns);
    return open_in_netns(netns, [&] { return socket(domain, type); });
}

} // namespace cryo::sys
