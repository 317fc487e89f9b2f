// NETLINK_SOCK_DIAG dumps of TCP sockets (inet_diag, see sock_diag(7)): state, both
// endpoints, queue lengths and inode of every TCP socket of a network namespace.
// A socket still waiting in a listener's accept queue has no file yet: inode 0.
#pragma once

#include <cstdint>
#include <vector>

#include "base/error.h"
#include "sys/tcp_socket.h"

namespace cryo::sys {

struct InetSocketDiag {
    int state { 0 }; // TCP_ESTABLISHED, TCP_CLOSE_WAIT, ... (netinet/tcp.h)
    InetAddress local;
    InetAddress peer;
    uint32_t receive_queue { 0 }; // bytes not read yet (listeners: pending connections)
    uint32_t write_queue { 0 };
    uint64_t inode { 0 }; // 0: no file (in an accept queue, or orphaned)
};

// Parses one inet_diag_msg (pure; tests/unit/sys/inet_diag_test.cpp).
Result<InetSocketDiag> parse_inet_diag(void const* message, size_t size);

// Every TCP socket of `family` (AF_INET, AF_INET6) in the network namespace `netns` whose
// state is in `states` (a mask of 1 << TCP_*) and whose local port is `local_port`. The
// query socket is opened by a thread that joins the namespace: the caller never moves.
Result<std::vector<InetSocketDiag>> tcp_sockets_on_port(FdRef netns, int family, uint16_t local_port, uint32_t states);

} // namespace cryo::sys
