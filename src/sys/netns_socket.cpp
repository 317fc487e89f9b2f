#include "sys/netns_socket.h"

#include <linux/sockios.h>
#include <optional>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <thread>

#include "sys/file_kinds.h"

namespace cryo::sys {

Result<Fd> socket_in_netns_of(FdRef like, int domain, int type)
{
    int ns = ::ioctl(like.get(), SIOCGSKNS); // the kernel opens it O_CLOEXEC (open_related_ns)
    if (ns < 0)
        return socket(domain, type);
    Fd netns(ns);
    struct stat theirs {
    }, ours {};
    if (::fstat(netns.get(), &theirs) == 0 && ::stat("/proc/thread-self/ns/net", &ours) == 0
        && theirs.st_ino == ours.st_ino && theirs.st_dev == ours.st_dev)
        return socket(domain, type);
    // setns moves only the calling thread: a short-lived one joins, opens and leaves; the
    // socket stays in the namespace it was made in.
    std::optional<Result<Fd>> result;
    std::thread worker([&] {
        if (::setns(netns.get(), CLONE_NEWNET) < 0)
            result.emplace(Error::from_errno("setns net"));
        else
            result.emplace(socket(domain, type));
    });
    worker.join();
    return std::move(*result);
}

} // namespace cryo::sys
