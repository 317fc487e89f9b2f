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

Result<std::vector<InetSocketDiag>> tcp_sockets_on_port(FdRef netns, int family, uint16_t local_port, uint32_t states)
{
    auto sock = TRY(sock_diag_socket_in(netns));
    struct inet_diag_req_v2 request { };
    request.sdiag_family = static_cast<uint8_t>(family);
    request.sdiag_protocol = IPPROTO_TCP;
    request.idiag_states = states;
    std::vector<InetSocketDiag> out;
    auto keep = [&](void const* message, size_t size) -> Result<void> {
        auto diag = TRY(parse_inet_diag(message, size));
        if (diag.local.port == local_port)
            out.push_back(std::move(diag));
        return {};
    };
    TRY(sock_diag_exchange(sock, &request, sizeof request, true, keep).context("inet_diag dump"));
    return out;
}

} // namespace cryo::sys
