// NETLINK_SOCK_DIAG queries of unix sockets (unix_diag, see sock_diag(7)): what a socket is
// bound to, its peer, its state, shutdown bits and queue lengths, asked by inode number.
// The answer comes from the network namespace the query socket was opened in.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/error.h"
#include "base/fd.h"

namespace cryo::sys {

struct UnixSocketDiag {
    uint64_t inode { 0 };
    int type { 0 }; // SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET
    int state { 0 }; // TCP_ESTABLISHED (connected), TCP_LISTEN, TCP_CLOSE ...
    std::string name; // bound address: "" unbound, "@..." abstract, or a path
    uint64_t peer_inode { 0 }; // 0: no peer
    uint32_t shutdown { 0 }; // RCV_SHUTDOWN (1) | SEND_SHUTDOWN (2)
    uint32_t receive_queue { 0 }; // listening: pending connections; else queued bytes
    uint32_t write_queue { 0 }; // listening: the backlog; else bytes sent and not yet read
};

// Parses one unix_diag_msg netlink message with its attributes (pure; unit-tested).
Result<UnixSocketDiag> parse_unix_diag(void const* message, size_t size);

// A NETLINK_SOCK_DIAG socket that answers for the network namespace `netns` (an open
// /proc/PID/ns/net): opened by a short-lived thread that joins it, so the caller never moves
// (directly when it is the caller's own namespace).
Result<Fd> sock_diag_socket_in(FdRef netns);

// Asks the kernel about the unix socket with this inode; nullopt if it does not know it
// (not a unix socket, or in another network namespace). The first form asks in the caller's
// namespace, the second through a socket from sock_diag_socket_in.
Result<std::optional<UnixSocketDiag>> unix_socket_diag(uint64_t inode);
Result<std::optional<UnixSocketDiag>> unix_socket_diag(FdRef diag_socket, uint64_t inode);

} // namespace cryo::sys
