#include "sys/sock_diag.h"

#include <cerrno>
#include <cstring>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <optional>
#include <sys/socket.h>
#include <vector>

namespace cryo::sys {

namespace {

// The unix_diag_msg and attributes of one answer, as UnixSocketDiag.
Result<UnixSocketDiag> unix_diag_of(ParsedNetlinkMessage const& parsed)
{
    struct unix_diag_msg msg;
    std::memcpy(&msg, parsed.header.data(), sizeof msg);
    UnixSocketDiag out;
    out.inode = msg.udiag_ino;
    out.type = msg.udiag_type;
    out.state = msg.udiag_state;
    auto const& attributes = parsed.attributes;
    if (attributes.has(UNIX_DIAG_NAME)) {
        auto name = attributes.get(UNIX_DIAG_NAME);
        // An abstract name starts with a NUL and may hold more; "@" spells it as ss(8) does.
        if (!name.empty() && name[0] == '\0') {
            // SAFETY: the attribute's bytes viewed as chars.
            auto const* text = reinterpret_cast<char const*>(name.data());
            out.name = "@" + std::string(text + 1, name.size() - 1);
        } else {
            out.name = attributes.string(UNIX_DIAG_NAME);
        }
    }
    if (attributes.has(UNIX_DIAG_PEER))
        out.peer_inode = TRY(attributes.u32(UNIX_DIAG_PEER).context("unix_diag peer"));
    if (attributes.has(UNIX_DIAG_SHUTDOWN))
        out.shutdown = TRY(attributes.u8(UNIX_DIAG_SHUTDOWN).context("unix_diag shutdown"));
    // An array of u32 inodes, one per queued connection, oldest first.
    auto icons = attributes.get(UNIX_DIAG_ICONS);
    for (size_t at = 0; at + sizeof(uint32_t) <= icons.size(); at += sizeof(uint32_t)) {
        uint32_t inode;
        std::memcpy(&inode, icons.data() + at, sizeof inode);
        out.pending_connections.push_back(inode);
    }
    auto rqlen = attributes.get(UNIX_DIAG_RQLEN);
    if (rqlen.size() >= sizeof(struct unix_diag_rqlen)) {
        struct unix_diag_rqlen rq;
        std::memcpy(&rq, rqlen.data(), sizeof rq);
        out.receive_queue = rq.udiag_rqueue;
        out.write_queue = rq.udiag_wqueue;
    }
    return out;
}

// One answer to a unix_diag request (nlmsghdr included), as UnixSocketDiag.
Result<UnixSocketDiag> unix_diag_answer(std::span<uint8_t const> message)
{
    return unix_diag_of(TRY(parse_sock_diag_answer(message, sizeof(struct unix_diag_msg))));
}

} // namespace

Result<UnixSocketDiag> parse_unix_diag(void const* message, size_t size)
{
    std::span<uint8_t const> payload(static_cast<uint8_t const*>(message), size);
    auto parsed = TRY(parse_netlink_payload(payload, sizeof(struct unix_diag_msg)).context("unix_diag"));
    return unix_diag_of(parsed);
}

Result<ParsedNetlinkMessage> parse_sock_diag_answer(std::span<uint8_t const> message, size_t header_size)
{
    auto parsed = TRY(parse_netlink_message(message, header_size));
    if (parsed.type != SOCK_DIAG_BY_FAMILY)
        return Error::format("sock_diag: unexpected answer type {}", parsed.type);
    return parsed;
}

Result<NetlinkSocket> sock_diag_socket_in(FdRef netns)
{
    return NetlinkSocket::open_in(netns, NETLINK_SOCK_DIAG);
}

Result<std::optional<UnixSocketDiag>> unix_socket_diag(uint64_t inode)
{
    auto sock = TRY(NetlinkSocket::open(NETLINK_SOCK_DIAG));
    return unix_socket_diag(sock, inode);
}

Result<std::optional<UnixSocketDiag>> unix_socket_diag(NetlinkSocket& sock, uint64_t inode)
{
    struct unix_diag_req request { };
    request.sdiag_family = AF_UNIX;
    request.udiag_states = ~0U;
    request.udiag_ino = static_cast<uint32_t>(inode);
    request.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN | UDIAG_SHOW_ICONS;
    request.udiag_cookie[0] = INET_DIAG_NOCOOKIE;
    request.udiag_cookie[1] = INET_DIAG_NOCOOKIE;
    auto message = sock_diag_request(request);
    auto answer = sock.query(message);
    if (!answer && answer.error().is_errno(ENOENT))
        return std::optional<UnixSocketDiag> {}; // not a unix socket of this namespace
    auto bytes = TRY(std::move(answer).context("unix_diag of socket {}", inode));
    return TRY(unix_diag_answer(bytes).context("unix_diag of socket {}", inode));
}

Result<std::vector<UnixSocketDiag>> unix_listeners(NetlinkSocket& sock)
{
    struct unix_diag_req request { };
    request.sdiag_family = AF_UNIX;
    request.udiag_states = 1U << 10; // TCP_LISTEN (net/tcp_states.h)
    request.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_ICONS | UDIAG_SHOW_RQLEN;
    auto message = sock_diag_request(request);
    std::vector<UnixSocketDiag> out;
    for (auto const& answer : TRY(sock.dump(message).context("unix_diag dump of listening sockets")))
        out.push_back(TRY(unix_diag_answer(answer).context("unix_diag dump of listening sockets")));
    return out;
}

} // namespace cryo::sys
