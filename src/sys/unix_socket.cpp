#include "sys/unix_socket.h"

#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>

namespace cryo::sys {

Result<std::pair<Fd, Fd>> seqpacket_pair()
{
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
        return Error::from_errno("socketpair");
    return std::pair { Fd(fds[0]), Fd(fds[1]) };
}

Result<Fd> connect_unix(std::string const& path, int type)
{
    sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path)
        return Error::format("socket path {} is too long", path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    Fd fd(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
    if (!fd)
        return Error::from_errno("socket");
    for (;;) {
        // SAFETY: sockaddr_un is a sockaddr by the sockets API's definition.
        if (::connect(fd.get(), reinterpret_cast<sockaddr const*>(&addr), sizeof addr) == 0)
            return fd;
        if (errno != EINTR)
            return Error::from_errno(fmt::format("connect to {}", path));
    }
}

Result<void> send_with_fds(FdRef socket, std::span<char const> data, std::span<FdRef const> fds)
{
    char dummy = 0;
    iovec iov {};
    iov.iov_base = const_cast<char*>(data.empty() ? &dummy : data.data());
    iov.iov_len = data.empty() ? 1 : data.size();
    msghdr msg {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 16)] {};
    if (!fds.empty()) {
        if (fds.size() > 16)
            return Error::make("send_with_fds: too many fds");
        msg.msg_control = control;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
        cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
        for (size_t i = 0; i < fds.size(); ++i) {
            int raw = fds[i].get();
            std::memcpy(CMSG_DATA(cmsg) + i * sizeof(int), &raw, sizeof raw);
        }
    }
    for (;;) {
        if (::sendmsg(socket.get(), &msg, MSG_NOSIGNAL) >= 0)
            return {};
        if (errno != EINTR)
            return Error::from_errno("sendmsg");
    }
}

Result<size_t> recv_with_fds(FdRef socket, std::span<char> buffer, std::vector<Fd>* fds)
{
    iovec iov {};
    iov.iov_base = buffer.data();
    iov.iov_len = buffer.size();
    msghdr msg {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 16)] {};
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n;
    for (;;) {
        n = ::recvmsg(socket.get(), &msg, MSG_CMSG_CLOEXEC);
        if (n >= 0)
            break;
        if (errno != EINTR)
            return Error::from_errno("recvmsg");
    }
    for (cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
        if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
            continue;
        size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
            int raw;
            std::memcpy(&raw, CMSG_DATA(cmsg) + i * sizeof(int), sizeof raw);
            if (fds)
                fds->emplace_back(raw);
            else
                ::close(raw);
        }
    }
    if (msg.msg_flags & MSG_CTRUNC)
        return Error::make("recvmsg: control data truncated");
    return static_cast<size_t>(n);
}

} // namespace cryo::sys
