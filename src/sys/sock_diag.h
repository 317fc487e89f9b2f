// NETLINK_SOCK_DIAG queries of unix sockets (unix_diag, see sock_diag(7)): what a socket is
// bound to, its peer, its state, shutdown bits and queue lengths, asked by inode number.
// The answer comes from the network namespace of the calling thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/error.h"

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

// Asks the kernel about the unix socket with this inode; nullopt if it does not know it
// (not a unix socket, or in another network namespace).
Result<std::optional<UnixSocketDiag>> unix_socket_diag(uint64_t inode);

} // namespace cryo::sys
