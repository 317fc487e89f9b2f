#include "sys/inet_diag.h"

#include <arpa/inet.h>
#include <cstring>
#include <linux/inet_diag.h>
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

namespace {

// One answer to an inet_diag request (nlmsghdr included), as InetSocketDiag.
Result<InetSocketDiag> inet_diag_answer(std::span<uint8_t const> message)
{
    auto parsed = TRY(parse_sock_diag_answer(message, sizeof(struct inet_diag_msg)));
    return parse_inet_diag(parsed.header.data(), parsed.header.size());
}

} // namespace

Result<std::vector<InetSocketDiag>> tcp_sockets_on_port(FdRef netns, int family, uint16_t local_port, uint32_t states)
{
    auto sock = TRY(sock_diag_socket_in(netns));
    struct inet_diag_req_v2 request { };
    request.sdiag_family = static_cast<uint8_t>(family);
    request.sdiag_protocol = IPPROTO_TCP;
    request.idiag_states = states;
    auto message = sock_diag_request(request);
    std::vector<InetSocketDiag> out;
    for (auto const& answer : TRY(sock.dump(message).context("inet_diag dump"))) {
        auto diag = TRY(inet_diag_answer(answer).context("inet_diag dump"));
        if (diag.local.port == local_port)
            out.push_back(std::move(diag));
    }
    return out;
}

} // namespace cryo::sys
