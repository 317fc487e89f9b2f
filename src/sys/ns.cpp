#include "sys/ns.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <optional>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <thread>

#include "sys/file.h"

namespace cryo::sys {

Result<void> setns(FdRef fd, int nstype)
{
    if (::setns(fd.get(), nstype) < 0)
        return Error::from_errno(fmt::format("setns {:#x}", nstype));
    return {};
}

Result<void> unshare(int flags)
{
    if (::unshare(flags) < 0)
        return Error::from_errno(fmt::format("unshare {:#x}", flags));
    return {};
}

Result<Fd> open_ns(pid_t pid, std::string_view name)
{
    auto path = pid == 0 ? fmt::format("/proc/self/ns/{}", name) : fmt::format("/proc/{}/ns/{}", pid, name);
    return open(path, O_RDONLY);
}

Result<Fd> open_ns_path(std::string const& path, int nstype)
{
    auto fd = TRY(open(path, O_RDONLY));
    int type = ::ioctl(fd.get(), NS_GET_NSTYPE);
    if (type < 0)
        return Error::from_errno(fmt::format("{} is not a namespace file", path));
    if (type != nstype)
        return Error::format("{} is a namespace of another type", path);
    return fd;
}

Result<ino_t> ns_inode(pid_t pid, std::string_view name)
{
    auto path = pid == 0 ? fmt::format("/proc/self/ns/{}", name) : fmt::format("/proc/{}/ns/{}", pid, name);
    auto st = TRY(stat(path));
    return st.st_ino;
}

Result<Fd> open_in_netns(FdRef netns, std::function<Result<Fd>()> const& open)
{
    struct stat theirs {
    }, ours {};
    if (::fstat(netns.get(), &theirs) == 0 && ::stat("/proc/thread-self/ns/net", &ours) == 0
        && theirs.st_ino == ours.st_ino && theirs.st_dev == ours.st_dev)
        return open();
    std::optional<Result<Fd>> result;
    std::thread worker([&] {
        if (::setns(netns.get(), CLONE_NEWNET) < 0)
            result.emplace(Error::from_errno("setns net"));
        else
            result.emplace(open());
    });
    worker.join();
    return std::move(*result);
}

} // namespace cryo::sys
