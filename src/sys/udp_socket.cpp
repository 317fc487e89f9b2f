#include "sys/udp_socket.h"

#include <cerrno>
#include <linux/sock_diag.h>
#include <sys/socket.h>

#include "base/scope_guard.h"
#include "sys/file_kinds.h"

namespace cryo::sys {

Result<std::vector<PeekedDatagram>> peek_datagrams(FdRef socket)
{
    int original = TRY(socket_option(socket, SOL_SOCKET, SO_PEEK_OFF).context("SO_PEEK_OFF"));
    TRY(set_socket_option(socket, SOL_SOCKET, SO_PEEK_OFF, 0).context("set SO_PEEK_OFF"));
    ScopeGuard put_back([&] { (void)set_socket_option(socket, SOL_SOCKET, SO_PEEK_OFF, original); });
    std::vector<PeekedDatagram> out;
    std::string buffer(65536, '\0');
    for (;;) {
        sockaddr_storage source {};
        iovec vector { buffer.data(), buffer.size() };
        msghdr message {};
        message.msg_name = &source;
        message.msg_namelen = sizeof source;
        message.msg_iov = &vector;
        message.msg_iovlen = 1;
        ssize_t got = ::recvmsg(socket.get(), &message, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return out;
        if (got < 0)
            return Error::from_errno("recvmsg MSG_PEEK");
        if (static_cast<size_t>(got) > buffer.size())
            return Error::format("datagram of {} bytes is larger than a UDP datagram can be", got);
        PeekedDatagram d;
        d.source = TRY(from_sockaddr(source).context("source of a queued datagram"));
        d.data = buffer.substr(0, static_cast<size_t>(got));
        out.push_back(std::move(d));
        if (out.size() > (1U << 20))
            return Error::make("more than a million queued datagrams");
    }
}

Result<void> send_datagram(FdRef socket, std::string const& data, InetAddress const& to)
{
    sockaddr_storage storage {};
    auto size = TRY(to_sockaddr(to, storage));
    ssize_t sent;
    do
        // SAFETY: the storage holds a sockaddr of `size` bytes.
        sent = ::sendto(socket.get(), data.data(), data.size(), 0, reinterpret_cast<sockaddr const*>(&storage), size);
    while (sent < 0 && errno == EINTR);
    if (sent < 0)
        return Error::from_errno("sendto");
    if (static_cast<size_t>(sent) != data.size())
        return Error::format("sendto: {} of {} bytes sent", sent, data.size());
    return {};
}

Result<uint32_t> receive_memory(FdRef socket)
{
    uint32_t info[SK_MEMINFO_VARS] {};
    socklen_t size = sizeof info;
    if (::getsockopt(socket.get(), SOL_SOCKET, SO_MEMINFO, info, &size) < 0)
        return Error::from_errno("getsockopt SO_MEMINFO");
    return info[SK_MEMINFO_RMEM_ALLOC];
}

} // namespace cryo::sys
