#include "sys/inet_diag.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "sys/sock_diag.h"

namespace cryo::sys {

namespace {

InetAddress address_of(int family, uint32_t const* words, uint16_t port_be)
{
    char text[INET6_ADDRSTRLEN] {};
    ::inet_ntop(family, words, text, sizeof text);
    return { family, text, ntohs(port_be) };
}

} // namespace

Result<InetSocketDiag> parse_inet_diag(void const* message, size_t size)
{
    if (size < sizeof(struct inet_diag_msg))
        return Error::format("inet_diag: message of {} bytes, expected {}", size, sizeof(struct inet_diag_msg));
    struct inet_diag_msg m;
    std::memcpy(&m, message, sizeof m);
    int family = m.idiag_family;
    if (family != AF_INET && family != AF_INET6)
        return Error::format("inet_diag: family {}", family);
    InetSocketDiag out;
    out.state = m.idiag_state;
    out.local = address_of(family, m.id.idiag_src, m.id.idiag_sport);
    out.peer = address_of(family, m.id.idiag_dst, m.id.idiag_dport);
    out.receive_queue = m.idiag_rqueue;
    out.write_queue = m.idiag_wqueue;
    out.inode = m.idiag_inode;
    return out;
}

Result<std::vector<InetSocketDiag>> tcp_sockets_on_port(FdRef netns, int family, uint16_t local_port,
                                                        uint32_t states)
{
    auto sock = TRY(sock_diag_socket_in(netns));
    struct {
        struct nlmsghdr header;
        struct inet_diag_req_v2 request;
    } query {};
    query.header.nlmsg_len = sizeof query;
    query.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    query.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    query.header.nlmsg_seq = 1;
    query.request.sdiag_family = static_cast<uint8_t>(family);
    query.request.sdiag_protocol = IPPROTO_TCP;
    query.request.idiag_states = states;
    struct sockaddr_nl kernel { };
    kernel.nl_family = AF_NETLINK;
    // SAFETY: sockaddr_nl is a sockaddr for the sockets API.
    if (::sendto(sock.get(), &query, sizeof query, 0, reinterpret_cast<struct sockaddr*>(&kernel), sizeof kernel) < 0)
        return Error::from_errno("send inet_diag request");
    std::vector<InetSocketDiag> out;
    alignas(struct nlmsghdr) unsigned char buffer[32768];
    for (;;) {
        ssize_t got;
        do
            got = ::recv(sock.get(), buffer, sizeof buffer, 0);
        while (got < 0 && errno == EINTR);
        if (got < 0)
            return Error::from_errno("receive inet_diag answer");
        size_t offset = 0, size = static_cast<size_t>(got);
        while (offset + sizeof(struct nlmsghdr) <= size) {
            struct nlmsghdr header;
            std::memcpy(&header, buffer + offset, sizeof header);
            if (header.nlmsg_len < NLMSG_HDRLEN || offset + header.nlmsg_len > size)
                return Error::make("inet_diag: truncated answer");
            if (header.nlmsg_type == NLMSG_DONE)
                return out;
            if (header.nlmsg_type == NLMSG_ERROR) {
                struct nlmsgerr error;
                std::memcpy(&error, buffer + offset + NLMSG_HDRLEN, sizeof error);
                return Error::from_errno(-error.error, "inet_diag dump");
            }
            auto diag = TRY(parse_inet_diag(buffer + offset + NLMSG_HDRLEN, header.nlmsg_len - NLMSG_HDRLEN));
            if (diag.local.port == local_port)
                out.push_back(std::move(diag));
            offset += NLMSG_ALIGN(header.nlmsg_len);
        }
    }
}

} // namespace cryo::sys
