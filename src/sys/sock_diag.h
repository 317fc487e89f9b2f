// NETLINK_SOCK_DIAG queries of unix sockets (unix_diag, see sock_diag(7)): what a socket is
// bound to, its peer, its state, shutdown bits, queue lengths and, for a listener, the
// connections waiting in its accept queue, asked by inode number (or all listeners at once).
// The answer comes from the network namespace the query socket was opened in. The socket,
// the request's nlmsghdr, the receive loop and the attribute walk are netlink.h's; this file
// only fills the family's request and reads its answers.
#pragma once

#include <cstdint>
#include <linux/sock_diag.h>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/fd.h"
#include "sys/netlink.h"

namespace cryo::sys {

struct UnixSocketDiag {
    uint64_t inode { 0 };
    int type { 0 }; // SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET
    int state { 0 }; // TCP_ESTABLISHED (connected), TCP_LISTEN, TCP_CLOSE ...
    std::string name; // bound address: "" unbound, "@..." abstract, or a path
    uint64_t peer_inode { 0 }; // 0: no peer
    uint32_t shutdown { 0 }; // RCV_SHUTDOWN (1) | SEND_SHUTDOWN (2)
    uint32_t receive_queue { 0 }; // listening: pending connections; else queued bytes
    uint32_t write_queue { 0 }; // listening: the backlog; else memory (skb truesize) of what it
                                // sent that its peer has not read yet: not a byte count
    // Listening: one entry per connection waiting in its accept queue, oldest first (the order
    // accept(2) takes them): the inode of the CLIENT socket that connected (UNIX_DIAG_ICONS
    // reports the peer of each queued server-side socket, see net/unix/diag.c
    // sk_diag_dump_icons); 0 when that client socket is closed. The queued server-side sockets
    // themselves have no inode until accepted, and their client shows peer inode 0.
    std::vector<uint64_t> pending_connections {};
};

// Parses one unix_diag_msg netlink message with its attributes: the payload after the
// nlmsghdr (pure; unit-tested).
Result<UnixSocketDiag> parse_unix_diag(void const* message, size_t size);

// A NETLINK_SOCK_DIAG socket that answers for the network namespace `netns` (an open
// /proc/PID/ns/net): opened by a short-lived thread that joins it, so the caller never moves
// (directly when it is the caller's own namespace).
Result<NetlinkSocket> sock_diag_socket_in(FdRef netns);

// A SOCK_DIAG_BY_FAMILY request carrying `request`, the family's request structure
// (unix_diag_req, inet_diag_req_v2); the socket sends it as a query or a dump.
template<typename Request>
NetlinkMessage sock_diag_request(Request const& request)
{
    NetlinkMessage message(SOCK_DIAG_BY_FAMILY, 0);
    message.put_header(request);
    return message;
}
// One answer to it (nlmsghdr included), split into its family header (`header_size` bytes:
// unix_diag_msg, inet_diag_msg) and attributes; another message type is an error.
Result<ParsedNetlinkMessage> parse_sock_diag_answer(std::span<uint8_t const> message, size_t header_size);

// Asks the kernel about the unix socket with this inode; nullopt if it does not know it
// (not a unix socket, or in another network namespace). The first form asks in the caller's
// namespace, the second through a socket from sock_diag_socket_in.
Result<std::optional<UnixSocketDiag>> unix_socket_diag(uint64_t inode);
Result<std::optional<UnixSocketDiag>> unix_socket_diag(NetlinkSocket& diag_socket, uint64_t inode);

// Every listening unix socket of the namespace of `diag_socket`, with its name and its
// pending connections (a dump: one netlink round trip, however many sockets there are).
Result<std::vector<UnixSocketDiag>> unix_listeners(NetlinkSocket& diag_socket);

} // namespace cryo::sys
