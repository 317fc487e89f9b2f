// Thin wrappers for TCP sockets and their repair mode (TCP_REPAIR, see tcp(7) and
// linux/tcp.h): addresses as text, bind/connect by text address, raw socket options of
// struct type, queue peeks and writes. Every fd created here is O_CLOEXEC.
#pragma once

#include <cstdint>
#include <string>
#include <sys/socket.h>

#include "base/error.h"
#include "base/fd.h"

namespace cryo::sys {

struct InetAddress {
    int family { 0 }; // AF_INET or AF_INET6
    std::string address; // numeric text ("127.0.0.1", "::1")
    uint16_t port { 0 };
};

// Conversions to and from the sockets API's address structures (also used by udp_socket.h).
Result<InetAddress> from_sockaddr(sockaddr_storage const& storage);
Result<socklen_t> to_sockaddr(InetAddress const& address, sockaddr_storage& storage);

Result<InetAddress> socket_name(FdRef socket);
Result<InetAddress> peer_name(FdRef socket);
Result<void> bind_inet(FdRef socket, InetAddress const& address);
Result<void> connect_inet(FdRef socket, InetAddress const& address);
// getsockopt/setsockopt of an option of any size; returns the size the kernel wrote.
Result<size_t> get_raw_option(FdRef socket, int level, int name, void* value, size_t size);
Result<void> set_raw_option(FdRef socket, int level, int name, void const* value, size_t size);
// Bytes queued for reading (SIOCINQ) and sent but not acknowledged plus unsent (SIOCOUTQ).
Result<uint32_t> input_queue_bytes(FdRef socket);
Result<uint32_t> output_queue_bytes(FdRef socket);
// recv(MSG_PEEK | MSG_DONTWAIT) until `size` bytes are copied or the queue ends.
Result<std::string> peek_stream(FdRef socket, size_t size);
// send() of every byte, retrying short writes.
Result<void> send_stream(FdRef socket, std::string const& data);
// Whether an address is a loopback one (127.0.0.0/8, ::1, ::ffff:127.x.y.z).
bool is_loopback(InetAddress const& address);

} // namespace cryo::sys
