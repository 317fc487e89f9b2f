// Helpers shared by the TCP and UDP socket code (files_tcp.cpp, files_udp.cpp): endpoint
// text as inspect and errors show it, boolean socket options, and buffer sizes that are
// saved only when a program set them (they differ from a fresh socket's).
#pragma once

#include <cstdint>
#include <string>

#include "base/error.h"
#include "base/fd.h"

namespace cryo::checkpoint {

// "127.0.0.1:80", "[::1]:80".
std::string endpoint(std::string const& address, uint16_t port, int family);

Result<bool> flag_option(FdRef socket, int level, int name);
Result<void> set_flag(FdRef socket, int level, int name, bool on);

struct BufferSizes {
    uint32_t send { 0 }; // SO_SNDBUF as getsockopt shows it; 0: a fresh socket's
    uint32_t receive { 0 };
};
// Those of `socket` that differ from a fresh socket's of the same kind in its network
// namespace (`fresh`: SocketDefaults::Values of socket_options.h; tcp_wmem and tcp_rmem are
// per-namespace sysctls, so cryo's own namespace is no reference).
Result<BufferSizes> read_buffer_sizes(FdRef socket, BufferSizes fresh);
// Forces them back (SO_SNDBUFFORCE/SO_RCVBUFFORCE); zero sizes are left alone.
Result<void> apply_buffer_sizes(FdRef socket, BufferSizes sizes);

} // namespace cryo::checkpoint
