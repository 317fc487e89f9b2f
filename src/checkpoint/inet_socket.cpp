#include "checkpoint/inet_socket.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include "sys/file_kinds.h"

namespace cryo::checkpoint {

std::string endpoint(std::string const& address, uint16_t port, int family)
{
    if (family == AF_INET6)
        return fmt::format("[{}]:{}", address, port);
    return fmt::format("{}:{}", address, port);
}

Result<bool> flag_option(FdRef s, int level, int name)
{
    return TRY(sys::socket_option(s, level, name)) != 0;
}

Result<void> set_flag(FdRef s, int level, int name, bool on)
{
    return sys::set_socket_option(s, level, name, on ? 1 : 0);
}

Result<BufferSizes> read_buffer_sizes(FdRef s, BufferSizes fresh)
{
    BufferSizes out;
    auto send = static_cast<uint32_t>(TRY(sys::socket_option(s, SOL_SOCKET, SO_SNDBUF)));
    auto receive = static_cast<uint32_t>(TRY(sys::socket_option(s, SOL_SOCKET, SO_RCVBUF)));
    if (send != fresh.send)
        out.send = send;
    if (receive != fresh.receive)
        out.receive = receive;
    return out;
}

Result<void> apply_buffer_sizes(FdRef s, BufferSizes sizes)
{
    // getsockopt showed the doubled value the kernel keeps; setsockopt doubles again.
    if (sizes.send)
        TRY(sys::set_socket_option(s, SOL_SOCKET, SO_SNDBUFFORCE, static_cast<int>(sizes.send / 2))
                .context("SO_SNDBUFFORCE"));
    if (sizes.receive)
        TRY(sys::set_socket_option(s, SOL_SOCKET, SO_RCVBUFFORCE, static_cast<int>(sizes.receive / 2))
                .context("SO_RCVBUFFORCE"));
    return {};
}

} // namespace cryo::checkpoint
