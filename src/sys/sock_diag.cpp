#include "sys/sock_diag.h"
#include "sys/ns.h"

#include <cerrno>
#include <cstring>
#include <functional>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <optional>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "base/fd.h"

namespace cryo::sys {

namespace {

template<typename T>
T read_value(unsigned char const* p)
{
    T value;
    std::memcpy(&value, p, sizeof value);
    return value;
}

} // namespace

Result<UnixSocketDiag> parse_unix_diag(void const* message, size_t size)
{
    auto const* bytes = static_cast<unsigned char const*>(message);
    if (size < sizeof(struct unix_diag_msg))
        return Error::format("unix_diag: message of {} bytes is too short", size);
    auto msg = read_value<struct unix_diag_msg>(bytes);
    UnixSocketDiag out;
    out.inode = msg.udiag_ino;
    out.type = msg.udiag_type;
    out.state = msg.udiag_state;
    size_t offset = NLMSG_ALIGN(sizeof(struct unix_diag_msg));
    while (offset + sizeof(struct nlattr) <= size) {
        auto attr = read_value<struct nlattr>(bytes + offset);
        if (attr.nla_len < sizeof(struct nlattr) || offset + attr.nla_len > size)
            return Error::format("unix_diag: bad attribute length {} at {}", attr.nla_len, offset);
        unsigned char const* payload = bytes + offset + NLA_HDRLEN;
        size_t length = attr.nla_len - NLA_HDRLEN;
        switch (attr.nla_type & NLA_TYPE_MASK) {
        case UNIX_DIAG_NAME:
            if (length > 0 && payload[0] == '\0')
                out.name = "@"
                    + std::string(reinterpret_cast<char const*>(payload) + 1, length - 1); // SAFETY: bytes as chars
            else
                out.name
                    = std::string(reinterpret_cast<char const*>(payload),
                                  strnlen(reinterpret_cast<char const*>(payload), length)); // SAFETY: bytes as chars
            break;
        case UNIX_DIAG_PEER:
            if (length >= 4)
                out.peer_inode = read_value<uint32_t>(payload);
            break;
        case UNIX_DIAG_SHUTDOWN:
            if (length >= 1)
                out.shutdown = payload[0];
            break;
        case UNIX_DIAG_ICONS:
            // An array of u32 inodes, one per queued connection, oldest first.
            for (size_t at = 0; at + sizeof(uint32_t) <= length; at += sizeof(uint32_t))
                out.pending_connections.push_back(read_value<uint32_t>(payload + at));
            break;
        case UNIX_DIAG_RQLEN:
            if (length >= sizeof(struct unix_diag_rqlen)) {
                auto rq = read_value<struct unix_diag_rqlen>(payload);
                out.receive_queue = rq.udiag_rqueue;
                out.write_queue = rq.udiag_wqueue;
            }
            break;
        default:
            break;
        }
        offset += NLA_ALIGN(attr.nla_len);
    }
    return out;
}

namespace {

Result<Fd> open_here()
{
    int raw = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (raw < 0)
        return Error::from_errno("socket NETLINK_SOCK_DIAG");
    return Fd(raw);
}

} // namespace

Result<Fd> sock_diag_socket_in(FdRef netns)
{
    return open_in_netns(netns, [] { return open_here(); });
}

Result<std::optional<UnixSocketDiag>> unix_socket_diag(uint64_t inode)
{
    auto sock = TRY(open_here());
    return unix_socket_diag(sock, inode);
}

namespace {

// Room for one datagram of answers: a listener's UNIX_DIAG_ICONS holds 4 bytes per pending
// connection (somaxconn is 4096 by default), and a dump packs many answers into one datagram.
constexpr size_t kAnswerRoom = 256 * 1024;

} // namespace

Result<void> sock_diag_exchange(FdRef sock, void const* request, size_t request_size, bool dump,
                                std::function<Result<void>(void const*, size_t)> const& each)
{
    std::vector<unsigned char> query(NLMSG_HDRLEN + request_size);
    struct nlmsghdr header { };
    header.nlmsg_len = static_cast<uint32_t>(query.size());
    header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    header.nlmsg_flags = NLM_F_REQUEST | (dump ? NLM_F_DUMP : 0);
    header.nlmsg_seq = 1;
    std::memcpy(query.data(), &header, sizeof header);
    std::memcpy(query.data() + NLMSG_HDRLEN, request, request_size);
    struct sockaddr_nl kernel { };
    kernel.nl_family = AF_NETLINK;
    // SAFETY: sockaddr_nl is a sockaddr for the sockets API.
    if (::sendto(sock.get(), query.data(), query.size(), 0, reinterpret_cast<struct sockaddr*>(&kernel), sizeof kernel)
        < 0)
        return Error::from_errno("send sock_diag request");
    std::vector<unsigned char> buffer(kAnswerRoom);
    for (;;) {
        ssize_t got;
        do
            got = ::recv(sock.get(), buffer.data(), buffer.size(), 0);
        while (got < 0 && errno == EINTR);
        if (got < 0)
            return Error::from_errno("receive sock_diag answer");
        size_t offset = 0, size = static_cast<size_t>(got);
        if (size < sizeof(struct nlmsghdr))
            return Error::make("sock_diag: short answer");
        while (offset + sizeof(struct nlmsghdr) <= size) {
            auto answer = read_value<struct nlmsghdr>(buffer.data() + offset);
            if (answer.nlmsg_len < NLMSG_HDRLEN || offset + answer.nlmsg_len > size)
                return Error::make("sock_diag: truncated answer");
            if (answer.nlmsg_type == NLMSG_DONE)
                return {};
            if (answer.nlmsg_type == NLMSG_ERROR) {
                auto error = read_value<struct nlmsgerr>(buffer.data() + offset + NLMSG_HDRLEN);
                return Error::from_errno(-error.error, "sock_diag");
            }
            if (answer.nlmsg_type != SOCK_DIAG_BY_FAMILY)
                return Error::format("sock_diag: unexpected answer type {}", answer.nlmsg_type);
            TRY(each(buffer.data() + offset + NLMSG_HDRLEN, answer.nlmsg_len - NLMSG_HDRLEN));
            if (!dump)
                return {};
            offset += NLMSG_ALIGN(answer.nlmsg_len);
        }
    }
}

Result<std::optional<UnixSocketDiag>> unix_socket_diag(FdRef sock, uint64_t inode)
{
    struct unix_diag_req request { };
    request.sdiag_family = AF_UNIX;
    request.udiag_states = ~0U;
    request.udiag_ino = static_cast<uint32_t>(inode);
    request.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN | UDIAG_SHOW_ICONS;
    request.udiag_cookie[0] = INET_DIAG_NOCOOKIE;
    request.udiag_cookie[1] = INET_DIAG_NOCOOKIE;
    std::optional<UnixSocketDiag> out;
    auto keep = [&](void const* message, size_t size) -> Result<void> {
        out = TRY(parse_unix_diag(message, size));
        return {};
    };
    auto asked = sock_diag_exchange(sock, &request, sizeof request, false, keep);
    if (!asked && asked.error().is_errno(ENOENT))
        return std::optional<UnixSocketDiag> {}; // not a unix socket of this namespace
    TRY(std::move(asked).context("unix_diag of socket {}", inode));
    return out;
}

Result<std::vector<UnixSocketDiag>> unix_listeners(FdRef sock)
{
    struct unix_diag_req request { };
    request.sdiag_family = AF_UNIX;
    request.udiag_states = 1U << 10; // TCP_LISTEN (net/tcp_states.h)
    request.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_ICONS | UDIAG_SHOW_RQLEN;
    std::vector<UnixSocketDiag> out;
    auto keep = [&](void const* message, size_t size) -> Result<void> {
        out.push_back(TRY(parse_unix_diag(message, size)));
        return {};
    };
    TRY(sock_diag_exchange(sock, &request, sizeof request, true, keep).context("unix_diag dump of listening sockets"));
    return out;
}

} // namespace cryo::sys
