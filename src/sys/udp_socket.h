// Thin wrappers for datagram (UDP) sockets: peeking every queued datagram with its source
// without consuming it (SO_PEEK_OFF), sending one datagram to an address, and the socket's
// memory use (SO_MEMINFO) to see a datagram arrive. Every fd created here is O_CLOEXEC.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/fd.h"
#include "sys/tcp_socket.h"

namespace cryo::sys {

struct PeekedDatagram {
    InetAddress source;
    std::string data;
};

// Every datagram of the receive queue, in order, left in place: SO_PEEK_OFF is set to 0,
// each MSG_PEEK moves it past one datagram, and the socket's own offset is put back on
// every path. Error (EOPNOTSUPP...) if the kernel cannot peek past the first datagram.
Result<std::vector<PeekedDatagram>> peek_datagrams(FdRef socket);

// sendto() of one datagram; a short send is an error.
Result<void> send_datagram(FdRef socket, std::string const& data, InetAddress const& to);

// Bytes of receive buffer in use (SO_MEMINFO SK_MEMINFO_RMEM_ALLOC).
Result<uint32_t> receive_memory(FdRef socket);

} // namespace cryo::sys
