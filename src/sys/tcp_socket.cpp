#include "sys/tcp_socket.h"

#include <arpa/inet.h>
#include <cstring>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

namespace cryo::sys {

Result<InetAddress> from_sockaddr(sockaddr_storage const& storage)
{
    InetAddress out;
    char text[INET6_ADDRSTRLEN] = {};
    out.family = storage.ss_family;
    if (storage.ss_family == AF_INET) {
        // SAFETY: ss_family says the storage holds a sockaddr_in.
        auto const* in = reinterpret_cast<sockaddr_in const*>(&storage);
        ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
        out.port = ntohs(in->sin_port);
    } else if (storage.ss_family == AF_INET6) {
        // SAFETY: ss_family says the storage holds a sockaddr_in6.
        auto const* in6 = reinterpret_cast<sockaddr_in6 const*>(&storage);
        ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
        out.port = ntohs(in6->sin6_port);
    } else {
        return Error::format("address of family {} is not an internet address", storage.ss_family);
    }
    out.address = text;
    return out;
}

Result<socklen_t> to_sockaddr(InetAddress const& a, sockaddr_storage& storage)
{
    std::memset(&storage, 0, sizeof storage);
    if (a.family == AF_INET) {
        // SAFETY: sockaddr_storage is large and aligned enough for any sockaddr.
        auto* in = reinterpret_cast<sockaddr_in*>(&storage);
        in->sin_family = AF_INET;
        in->sin_port = htons(a.port);
        if (::inet_pton(AF_INET, a.address.c_str(), &in->sin_addr) != 1)
            return Error::format("bad IPv4 address {}", a.address);
        return static_cast<socklen_t>(sizeof *in);
    }
    if (a.family == AF_INET6) {
        // SAFETY: as above.
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(a.port);
        if (::inet_pton(AF_INET6, a.address.c_str(), &in6->sin6_addr) != 1)
            return Error::format("bad IPv6 address {}", a.address);
        return static_cast<socklen_t>(sizeof *in6);
    }
    return Error::format("address family {} is not AF_INET or AF_INET6", a.family);
}

Result<InetAddress> socket_name(FdRef socket)
{
    sockaddr_storage storage {};
    socklen_t size = sizeof storage;
    // SAFETY: getsockname writes at most `size` bytes of a sockaddr into the storage.
    if (::getsockname(socket.get(), reinterpret_cast<sockaddr*>(&storage), &size) < 0)
        return Error::from_errno("getsockname");
    return from_sockaddr(storage);
}

Result<InetAddress> peer_name(FdRef socket)
{
    sockaddr_storage storage {};
    socklen_t size = sizeof storage;
    // SAFETY: as in socket_name.
    if (::getpeername(socket.get(), reinterpret_cast<sockaddr*>(&storage), &size) < 0)
        return Error::from_errno("getpeername");
    return from_sockaddr(storage);
}

Result<void> bind_inet(FdRef socket, InetAddress const& address)
{
    sockaddr_storage storage {};
    auto size = TRY(to_sockaddr(address, storage));
    // SAFETY: the storage holds a sockaddr of `size` bytes.
    if (::bind(socket.get(), reinterpret_cast<sockaddr const*>(&storage), size) < 0)
        return Error::from_errno(fmt::format("bind to {} port {}", address.address, address.port));
    return {};
}

Result<void> connect_inet(FdRef socket, InetAddress const& address)
{
    sockaddr_storage storage {};
    auto size = TRY(to_sockaddr(address, storage));
    // SAFETY: as in bind_inet.
    if (::connect(socket.get(), reinterpret_cast<sockaddr const*>(&storage), size) < 0)
        return Error::from_errno(fmt::format("connect to {} port {}", address.address, address.port));
    return {};
}

Result<size_t> get_raw_option(FdRef socket, int level, int name, void* value, size_t size)
{
    auto length = static_cast<socklen_t>(size);
    if (::getsockopt(socket.get(), level, name, value, &length) < 0)
        return Error::from_errno(fmt::format("getsockopt {}/{}", level, name));
    return static_cast<size_t>(length);
}

Result<void> set_raw_option(FdRef socket, int level, int name, void const* value, size_t size)
{
    if (::setsockopt(socket.get(), level, name, value, static_cast<socklen_t>(size)) < 0)
        return Error::from_errno(fmt::format("setsockopt {}/{}", level, name));
    return {};
}

Result<uint32_t> input_queue_bytes(FdRef socket)
{
    int n = 0;
    if (::ioctl(socket.get(), SIOCINQ, &n) < 0)
        return Error::from_errno("ioctl SIOCINQ");
    return static_cast<uint32_t>(n);
}

Result<uint32_t> output_queue_bytes(FdRef socket)
{
    int n = 0;
    if (::ioctl(socket.get(), SIOCOUTQ, &n) < 0)
        return Error::from_errno("ioctl SIOCOUTQ");
    return static_cast<uint32_t>(n);
}

Result<std::string> peek_stream(FdRef socket, size_t size)
{
    std::string data(size, '\0');
    if (size == 0)
        return data;
    // One MSG_PEEK copies across every queued segment (tcp_recvmsg walks the queue).
    ssize_t n = ::recv(socket.get(), data.data(), size, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0)
        return Error::from_errno("recv MSG_PEEK");
    data.resize(static_cast<size_t>(n));
    return data;
}

Result<void> send_stream(FdRef socket, std::string const& data)
{
    size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::send(socket.get(), data.data() + done, data.size() - done, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return Error::from_errno(fmt::format("send {} bytes", data.size() - done));
        }
        done += static_cast<size_t>(n);
    }
    return {};
}

bool is_loopback(InetAddress const& a)
{
    if (a.family == AF_INET)
        return a.address.starts_with("127.");
    return a.address == "::1" || a.address.starts_with("::ffff:127.");
}

} // namespace cryo::sys
