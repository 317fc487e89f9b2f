#include "sys/file_kinds.h"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

namespace cryo::sys {

Result<bool> same_file_description(pid_t pid_a, int fd_a, pid_t pid_b, int fd_b)
{
    long r = ::syscall(SYS_kcmp, pid_a, pid_b, KCMP_FILE, fd_a, fd_b);
    if (r < 0)
        return Error::from_errno(fmt::format("kcmp fd {} of {} with fd {} of {}", fd_a, pid_a, fd_b, pid_b));
    return r == 0;
}

Result<size_t> tee(FdRef in, FdRef out, size_t size)
{
    for (;;) {
        ssize_t r = ::tee(in.get(), out.get(), size, SPLICE_F_NONBLOCK);
        if (r >= 0)
            return static_cast<size_t>(r);
        if (errno == EAGAIN)
            return size_t { 0 };
        if (errno != EINTR)
            return Error::from_errno("tee");
    }
}

Result<uint32_t> pipe_size(FdRef pipe)
{
    int r = ::fcntl(pipe.get(), F_GETPIPE_SZ);
    if (r < 0)
        return Error::from_errno("fcntl F_GETPIPE_SZ");
    return static_cast<uint32_t>(r);
}

Result<void> set_pipe_size(FdRef pipe, uint32_t size)
{
    if (::fcntl(pipe.get(), F_SETPIPE_SZ, static_cast<int>(size)) < 0)
        return Error::from_errno(fmt::format("fcntl F_SETPIPE_SZ {}", size));
    return {};
}

Result<Fd> eventfd(int flags)
{
    int fd = ::eventfd(0, flags | EFD_CLOEXEC);
    if (fd < 0)
        return Error::from_errno("eventfd");
    return Fd(fd);
}

Result<Fd> signalfd(uint64_t mask, int flags)
{
    // The raw syscall: glibc's sigset helpers refuse the signals it reserves (32, 33).
    long fd = ::syscall(SYS_signalfd4, -1, &mask, sizeof mask, flags | SFD_CLOEXEC);
    if (fd < 0)
        return Error::from_errno(fmt::format("signalfd {:#x}", mask));
    return Fd(static_cast<int>(fd));
}

Result<Fd> timerfd_create(int clock_id, int flags)
{
    int fd = ::timerfd_create(clock_id, flags | TFD_CLOEXEC);
    if (fd < 0)
        return Error::from_errno(fmt::format("timerfd_create clock {}", clock_id));
    return Fd(fd);
}

Result<void> timerfd_settime(FdRef timer, uint64_t value_ns, uint64_t interval_ns)
{
    struct itimerspec spec { };
    spec.it_value.tv_sec = static_cast<time_t>(value_ns / 1000000000ULL);
    spec.it_value.tv_nsec = static_cast<long>(value_ns % 1000000000ULL);
    spec.it_interval.tv_sec = static_cast<time_t>(interval_ns / 1000000000ULL);
    spec.it_interval.tv_nsec = static_cast<long>(interval_ns % 1000000000ULL);
    if (::timerfd_settime(timer.get(), 0, &spec, nullptr) < 0)
        return Error::from_errno("timerfd_settime");
    return {};
}

Result<void> timerfd_set_ticks(FdRef timer, uint64_t ticks)
{
    constexpr unsigned long kSetTicks = _IOW('T', 0, uint64_t); // TFD_IOC_SET_TICKS
    if (::ioctl(timer.get(), kSetTicks, &ticks) < 0)
        return Error::from_errno(fmt::format("timerfd set {} pending expirations", ticks));
    return {};
}

Result<Fd> epoll_create()
{
    int fd = ::epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0)
        return Error::from_errno("epoll_create1");
    return Fd(fd);
}

Result<Fd> inotify_init()
{
    int fd = ::inotify_init1(IN_CLOEXEC);
    if (fd < 0)
        return Error::from_errno("inotify_init1");
    return Fd(fd);
}

Result<int> inotify_add_watch(FdRef inotify, std::string const& path, uint32_t mask)
{
    int wd = ::inotify_add_watch(inotify.get(), path.c_str(), mask);
    if (wd < 0)
        return Error::from_errno(fmt::format("inotify_add_watch {} {:#x}", path, mask));
    return wd;
}

Result<void> inotify_rm_watch(FdRef inotify, int wd)
{
    if (::inotify_rm_watch(inotify.get(), wd) < 0)
        return Error::from_errno(fmt::format("inotify_rm_watch {}", wd));
    return {};
}

Result<Fd> open_by_handle(FdRef mount, int handle_type, std::vector<uint8_t> const& handle, int flags)
{
    std::vector<unsigned char> storage(sizeof(struct file_handle) + handle.size());
    struct file_handle header { };
    header.handle_bytes = static_cast<unsigned>(handle.size());
    header.handle_type = handle_type;
    std::memcpy(storage.data(), &header, sizeof header);
    std::memcpy(storage.data() + offsetof(struct file_handle, f_handle), handle.data(), handle.size());
    // SAFETY: storage holds a struct file_handle followed by its handle bytes, as the kernel reads it.
    int fd = ::open_by_handle_at(mount.get(), reinterpret_cast<struct file_handle*>(storage.data()), flags | O_CLOEXEC);
    if (fd < 0)
        return Error::from_errno("open_by_handle_at");
    return Fd(fd);
}

Result<Fd> memfd_create(std::string const& name, unsigned flags)
{
    int fd = ::memfd_create(name.c_str(), flags | MFD_CLOEXEC);
    if (fd < 0)
        return Error::from_errno(fmt::format("memfd_create {}", name));
    return Fd(fd);
}

Result<uint32_t> file_seals(FdRef fd)
{
    int r = ::fcntl(fd.get(), F_GET_SEALS);
    if (r < 0)
        return Error::from_errno("fcntl F_GET_SEALS");
    return static_cast<uint32_t>(r);
}

Result<void> add_file_seals(FdRef fd, uint32_t seals)
{
    if (::fcntl(fd.get(), F_ADD_SEALS, static_cast<int>(seals)) < 0)
        return Error::from_errno(fmt::format("fcntl F_ADD_SEALS {:#x}", seals));
    return {};
}

Result<uint32_t> status_flags(FdRef fd)
{
    int r = ::fcntl(fd.get(), F_GETFL);
    if (r < 0)
        return Error::from_errno("fcntl F_GETFL");
    return static_cast<uint32_t>(r);
}

Result<void> set_status_flags(FdRef fd, uint32_t flags)
{
    if (::fcntl(fd.get(), F_SETFL, static_cast<int>(flags)) < 0)
        return Error::from_errno(fmt::format("fcntl F_SETFL {:#o}", flags));
    return {};
}

Result<void> seek(FdRef fd, uint64_t position)
{
    if (::lseek(fd.get(), static_cast<off_t>(position), SEEK_SET) < 0)
        return Error::from_errno(fmt::format("lseek to {}", position));
    return {};
}

Result<void> ftruncate(FdRef fd, uint64_t size)
{
    if (::ftruncate(fd.get(), static_cast<off_t>(size)) < 0)
        return Error::from_errno(fmt::format("ftruncate to {}", size));
    return {};
}

Result<void> fchmod(FdRef fd, mode_t mode)
{
    if (::fchmod(fd.get(), mode) < 0)
        return Error::from_errno(fmt::format("fchmod {:o}", mode));
    return {};
}

Result<void> fchown(FdRef fd, uid_t uid, gid_t gid)
{
    if (::fchown(fd.get(), uid, gid) < 0)
        return Error::from_errno(fmt::format("fchown {}:{}", uid, gid));
    return {};
}

Result<void> chmod_path(std::string const& path, mode_t mode)
{
    if (::chmod(path.c_str(), mode) < 0)
        return Error::from_errno(fmt::format("chmod {:o} {}", mode, path));
    return {};
}

Result<void> chown_path(std::string const& path, uid_t uid, gid_t gid)
{
    if (::lchown(path.c_str(), uid, gid) < 0)
        return Error::from_errno(fmt::format("chown {}:{} {}", uid, gid, path));
    return {};
}

Result<size_t> pread(FdRef fd, void* buffer, size_t size, uint64_t offset)
{
    for (;;) {
        ssize_t r = ::pread(fd.get(), buffer, size, static_cast<off_t>(offset));
        if (r >= 0)
            return static_cast<size_t>(r);
        if (errno != EINTR)
            return Error::from_errno(fmt::format("pread at {}", offset));
    }
}

Result<void> pwrite_all(FdRef fd, void const* buffer, size_t size, uint64_t offset)
{
    auto const* p = static_cast<char const*>(buffer);
    while (size > 0) {
        ssize_t r = ::pwrite(fd.get(), p, size, static_cast<off_t>(offset));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return Error::from_errno(fmt::format("pwrite at {}", offset));
        }
        p += r;
        size -= static_cast<size_t>(r);
        offset += static_cast<uint64_t>(r);
    }
    return {};
}

Result<Fd> socket(int domain, int type)
{
    int fd = ::socket(domain, type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return Error::from_errno(fmt::format("socket {} {}", domain, type));
    return Fd(fd);
}

Result<std::pair<Fd, Fd>> socketpair(int domain, int type)
{
    int fds[2];
    if (::socketpair(domain, type | SOCK_CLOEXEC, 0, fds) < 0)
        return Error::from_errno(fmt::format("socketpair {} {}", domain, type));
    return std::pair<Fd, Fd>(Fd(fds[0]), Fd(fds[1]));
}

Result<int> socket_option(FdRef socket, int level, int name)
{
    int value = 0;
    socklen_t size = sizeof value;
    if (::getsockopt(socket.get(), level, name, &value, &size) < 0)
        return Error::from_errno(fmt::format("getsockopt {}/{}", level, name));
    return value;
}

Result<void> set_socket_option(FdRef socket, int level, int name, int value)
{
    if (::setsockopt(socket.get(), level, name, &value, sizeof value) < 0)
        return Error::from_errno(fmt::format("setsockopt {}/{} to {}", level, name, value));
    return {};
}

Result<void> shutdown(FdRef socket, int how)
{
    if (::shutdown(socket.get(), how) < 0)
        return Error::from_errno(fmt::format("shutdown {}", how));
    return {};
}

Result<UnixAddress> unix_address(std::string const& name)
{
    UnixAddress a {};
    a.address.sun_family = AF_UNIX;
    if (name.empty() || name.size() > sizeof a.address.sun_path)
        return Error::format("unix socket name \"{}\" is empty or too long", name);
    std::memcpy(a.address.sun_path, name.data(), name.size());
    if (name[0] == '@')
        a.address.sun_path[0] = '\0'; // abstract: no trailing NUL, the length says where it ends
    // A path gets its NUL unless it fills sun_path (Linux takes such a path unterminated).
    bool nul = name[0] != '@' && name.size() < sizeof a.address.sun_path;
    a.length = static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + name.size() + (nul ? 1 : 0));
    return a;
}

Result<void> bind_unix(FdRef socket, std::string const& name)
{
    auto [address, length] = TRY(unix_address(name));
    // SAFETY: sockaddr_un is a sockaddr for the sockets API.
    if (::bind(socket.get(), reinterpret_cast<struct sockaddr*>(&address), length) < 0)
        return Error::from_errno(fmt::format("bind to {}", name));
    return {};
}

Result<void> listen(FdRef socket, int backlog)
{
    if (::listen(socket.get(), backlog) < 0)
        return Error::from_errno(fmt::format("listen with backlog {}", backlog));
    return {};
}

Result<Peeked> peek(FdRef socket, void* buffer, size_t size, bool datagram)
{
    // No room for ancillary data on purpose: a peeked SCM_RIGHTS would install fds in cryo.
    // The kernel then reports MSG_CTRUNC, and nothing is consumed (MSG_PEEK).
    struct iovec iov {
        buffer, size
    };
    struct msghdr msg { };
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    int flags = MSG_PEEK | MSG_DONTWAIT | (datagram ? MSG_TRUNC : 0);
    for (;;) {
        ssize_t r = ::recvmsg(socket.get(), &msg, flags);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno == EAGAIN)
            return Peeked { .empty = true };
        if (r < 0)
            return Error::from_errno("recvmsg MSG_PEEK");
        Peeked out;
        out.length = static_cast<size_t>(r);
        out.size = std::min(out.length, size);
        out.control = (msg.msg_flags & MSG_CTRUNC) != 0;
        // A stream at end of file, or a zero-length datagram, both read as 0 here; the
        // caller tells them apart by the socket type.
        out.empty = r == 0 && !datagram;
        return out;
    }
}

Result<void> send_all(FdRef socket, void const* buffer, size_t size)
{
    auto const* p = static_cast<char const*>(buffer);
    do {
        ssize_t r = ::send(socket.get(), p, size, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return Error::from_errno(fmt::format("send {} bytes", size));
        }
        p += r;
        size -= static_cast<size_t>(r);
    } while (size > 0);
    return {};
}

} // namespace cryo::sys
