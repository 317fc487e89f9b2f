#include "sys/sock_diag.h"

#include <cerrno>
#include <cstring>
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
    // Our own namespace (bare trees): no thread needed.
    struct stat theirs { }, ours { };
    if (::fstat(netns.get(), &theirs) == 0 && ::stat("/proc/thread-self/ns/net", &ours) == 0
        && theirs.st_ino == ours.st_ino && theirs.st_dev == ours.st_dev)
        return open_here();
    // setns moves only the calling thread: a short-lived one joins, opens and leaves.
    std::optional<Result<Fd>> result;
    std::thread worker([&] {
        if (::setns(netns.get(), CLONE_NEWNET) < 0)
            result.emplace(Error::from_errno("setns net"));
        else
            result.emplace(open_here());
    });
    worker.join();
    return std::move(*result);
}

Result<std::optional<UnixSocketDiag>> unix_socket_diag(uint64_t inode)
{
    auto sock = TRY(open_here());
    return unix_socket_diag(sock, inode);
}

Result<std::optional<UnixSocketDiag>> unix_socket_diag(FdRef sock, uint64_t inode)
{
    struct {
        struct nlmsghdr header;
        struct unix_diag_req request;
    } query {};
    query.header.nlmsg_len = sizeof query;
    query.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    query.header.nlmsg_flags = NLM_F_REQUEST;
    query.header.nlmsg_seq = 1;
    query.request.sdiag_family = AF_UNIX;
    query.request.udiag_states = ~0U;
    query.request.udiag_ino = static_cast<uint32_t>(inode);
    query.request.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN;
    query.request.udiag_cookie[0] = INET_DIAG_NOCOOKIE;
    query.request.udiag_cookie[1] = INET_DIAG_NOCOOKIE;
    struct sockaddr_nl kernel { };
    kernel.nl_family = AF_NETLINK;
    // SAFETY: sockaddr_nl is a sockaddr for the sockets API.
    if (::sendto(sock.get(), &query, sizeof query, 0, reinterpret_cast<struct sockaddr*>(&kernel), sizeof kernel) < 0)
        return Error::from_errno("send unix_diag request");
    alignas(struct nlmsghdr) unsigned char buffer[8192];
    ssize_t got;
    do
        got = ::recv(sock.get(), buffer, sizeof buffer, 0);
    while (got < 0 && errno == EINTR);
    if (got < 0)
        return Error::from_errno("receive unix_diag answer");
    size_t size = static_cast<size_t>(got);
    if (size < sizeof(struct nlmsghdr))
        return Error::make("unix_diag: short answer");
    auto header = read_value<struct nlmsghdr>(buffer);
    if (header.nlmsg_len > size || header.nlmsg_len < NLMSG_HDRLEN)
        return Error::make("unix_diag: truncated answer");
    if (header.nlmsg_type == NLMSG_ERROR) {
        auto error = read_value<struct nlmsgerr>(buffer + NLMSG_HDRLEN);
        if (error.error == -ENOENT)
            return std::optional<UnixSocketDiag> {};
        return Error::from_errno(-error.error, fmt::format("unix_diag of socket {}", inode));
    }
    if (header.nlmsg_type != SOCK_DIAG_BY_FAMILY)
        return Error::format("unix_diag: unexpected answer type {}", header.nlmsg_type);
    auto diag = TRY(parse_unix_diag(buffer + NLMSG_HDRLEN, header.nlmsg_len - NLMSG_HDRLEN));
    return std::optional<UnixSocketDiag>(std::move(diag));
}

} // namespace cryo::sys
