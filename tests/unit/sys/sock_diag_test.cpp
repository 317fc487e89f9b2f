// sys/sock_diag.h and sys/inet_diag.h over netlink.h's socket: the SOCK_DIAG_BY_FAMILY
// request as bytes, answers split and type-checked, a unix_diag answer read through the
// shared attribute parser. Against the kernel, without root, in the caller's own network
// namespace: a unix listener with a long accept queue (its UNIX_DIAG_ICONS outgrows a small
// datagram), an inode the kernel does not know (ENOENT: nullopt), a TCP listener found by
// an inet_diag dump on its port.
#include <gtest/gtest.h>

#include <algorithm>
#include <arpa/inet.h>
#include <cstddef>
#include <cstring>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sys/file.h"
#include "sys/inet_diag.h"
#include "sys/sock_diag.h"

using namespace cryo;

namespace {

// A unix_diag answer as the kernel sends one: nlmsghdr, unix_diag_msg, attributes.
sys::NetlinkMessage unix_answer(uint16_t type, uint32_t inode)
{
    sys::NetlinkMessage m(type, 0);
    unix_diag_msg msg {};
    msg.udiag_family = AF_UNIX;
    msg.udiag_type = SOCK_STREAM;
    msg.udiag_state = TCP_LISTEN;
    msg.udiag_ino = inode;
    m.put_header(msg);
    char const name[] = { '\0', 'a', '\0', 'b' }; // abstract names may hold NULs
    m.put(UNIX_DIAG_NAME, name, sizeof name);
    uint32_t icons[] = { 11, 0, 13 };
    m.put(UNIX_DIAG_ICONS, icons, sizeof icons);
    unix_diag_rqlen rq { 3, 128 };
    m.put(UNIX_DIAG_RQLEN, &rq, sizeof rq);
    m.put_u8(UNIX_DIAG_SHUTDOWN, 2);
    return m;
}

} // namespace

TEST(SockDiag, RequestIsOneMessageCarryingTheFamilyRequest)
{
    unix_diag_req request {};
    request.sdiag_family = AF_UNIX;
    request.udiag_ino = 77;
    auto m = sys::sock_diag_request(request);
    nlmsghdr header;
    std::memcpy(&header, m.bytes().data(), sizeof header);
    EXPECT_EQ(header.nlmsg_type, SOCK_DIAG_BY_FAMILY);
    EXPECT_EQ(header.nlmsg_len, NLMSG_LENGTH(sizeof request));
    EXPECT_EQ(header.nlmsg_flags, 0) << "the socket adds NLM_F_REQUEST and NLM_F_ACK or NLM_F_DUMP";
    unix_diag_req back;
    std::memcpy(&back, m.bytes().data() + NLMSG_HDRLEN, sizeof back);
    EXPECT_EQ(back.udiag_ino, 77u);
    EXPECT_EQ(back.sdiag_family, AF_UNIX);
}

TEST(SockDiag, AnswerIsTypeCheckedAndSplit)
{
    auto m = unix_answer(SOCK_DIAG_BY_FAMILY, 4242);
    auto parsed = MUST(sys::parse_sock_diag_answer(m.bytes(), sizeof(unix_diag_msg)));
    EXPECT_EQ(parsed.header.size(), sizeof(unix_diag_msg));
    EXPECT_TRUE(parsed.attributes.has(UNIX_DIAG_ICONS));

    // Its payload read by parse_unix_diag, through netlink.h's attribute parser.
    auto d = MUST(sys::parse_unix_diag(parsed.header.data(), m.bytes().size() - NLMSG_HDRLEN));
    EXPECT_EQ(d.inode, 4242u);
    EXPECT_EQ(d.state, TCP_LISTEN);
    EXPECT_EQ(d.name, std::string("@a\0b", 4));
    EXPECT_EQ(d.pending_connections, (std::vector<uint64_t> { 11, 0, 13 }));
    EXPECT_EQ(d.receive_queue, 3u);
    EXPECT_EQ(d.write_queue, 128u);
    EXPECT_EQ(d.shutdown, 2u);
    EXPECT_EQ(d.peer_inode, 0u);

    // Another message type, or an answer shorter than the family header, is refused.
    auto wrong = sys::parse_sock_diag_answer(unix_answer(SOCK_DESTROY, 1).bytes(), sizeof(unix_diag_msg));
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().message(), "sock_diag: unexpected answer type 21");
    EXPECT_FALSE(sys::parse_sock_diag_answer(m.bytes(), sizeof(inet_diag_msg) + 64));
    // A payload shorter than unix_diag_msg, or an attribute cut short, is refused.
    EXPECT_FALSE(sys::parse_unix_diag(parsed.header.data(), sizeof(unix_diag_msg) - 1));
    // (The last attribute, UNIX_DIAG_SHUTDOWN, is 5 bytes padded to 8: cut into its header.)
    EXPECT_FALSE(sys::parse_unix_diag(parsed.header.data(), m.bytes().size() - NLMSG_HDRLEN - 4));
}

TEST(SockDiag, KernelListsALongAcceptQueue)
{
    Fd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(listener.valid());
    sockaddr_un address {};
    address.sun_family = AF_UNIX;
    std::string name = "cryo-unit-sock-diag-" + std::to_string(::getpid());
    std::memcpy(address.sun_path + 1, name.data(), name.size());
    auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    // SAFETY: sockaddr_un is a sockaddr for the sockets API.
    auto* as_sockaddr = reinterpret_cast<sockaddr*>(&address);
    ASSERT_EQ(::bind(listener.get(), as_sockaddr, length), 0);
    // UNIX_DIAG_ICONS of 2400 bytes (the kernel sizes a single answer in steps of 256), and
    // fewer fds than a default limit of 1024.
    constexpr int kQueue = 600;
    ASSERT_EQ(::listen(listener.get(), kQueue), 0);
    std::vector<Fd> clients;
    std::vector<uint64_t> inodes;
    for (int i = 0; i < kQueue; ++i) {
        clients.emplace_back(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        ASSERT_TRUE(clients.back().valid());
        ASSERT_EQ(::connect(clients.back().get(), as_sockaddr, length), 0) << "client " << i;
        inodes.push_back(MUST(sys::fstat(clients.back())).st_ino);
    }
    auto inode = MUST(sys::fstat(listener)).st_ino;

    auto one = sys::unix_socket_diag(inode);
    ASSERT_TRUE(one) << one.error().message();
    ASSERT_TRUE(one->has_value());
    EXPECT_EQ((*one)->name, "@" + name);
    EXPECT_EQ((*one)->pending_connections, inodes);

    auto netns = MUST(sys::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
    auto diag_socket = MUST(sys::sock_diag_socket_in(netns));
    EXPECT_EQ(diag_socket.protocol(), NETLINK_SOCK_DIAG);
    auto all = sys::unix_listeners(diag_socket);
    ASSERT_TRUE(all) << all.error().message();
    auto it = std::find_if(all->begin(), all->end(), [&](auto const& l) { return l.inode == inode; });
    ASSERT_NE(it, all->end());
    EXPECT_EQ(it->pending_connections, inodes);
    // The same socket serves a second request (its own seq).
    auto again = sys::unix_socket_diag(diag_socket, inode);
    ASSERT_TRUE(again && again->has_value());
    EXPECT_EQ((*again)->pending_connections.size(), static_cast<size_t>(kQueue));
}

TEST(SockDiag, UnknownInodeIsNoSocket)
{
    // A regular file's inode is no socket: the kernel answers ENOENT, which is nullopt.
    auto netns = MUST(sys::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
    auto inode = MUST(sys::fstat(netns)).st_ino;
    auto d = sys::unix_socket_diag(inode);
    ASSERT_TRUE(d) << d.error().message();
    EXPECT_FALSE(d->has_value());
}

TEST(InetDiag, KernelDumpFindsAListenerOnItsPort)
{
    Fd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(listener.valid());
    sockaddr_in address {};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // SAFETY: sockaddr_in is a sockaddr for the sockets API.
    ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ASSERT_EQ(::listen(listener.get(), 4), 0);
    socklen_t size = sizeof address;
    // SAFETY: as above.
    ASSERT_EQ(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &size), 0);
    uint16_t port = ntohs(address.sin_port);

    auto netns = MUST(sys::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
    auto found = sys::tcp_sockets_on_port(netns, AF_INET, port, 1U << TCP_LISTEN);
    ASSERT_TRUE(found) << found.error().message();
    ASSERT_EQ(found->size(), 1u);
    EXPECT_EQ((*found)[0].state, TCP_LISTEN);
    EXPECT_EQ((*found)[0].local.address, "127.0.0.1");
    EXPECT_EQ((*found)[0].local.port, port);
    EXPECT_EQ((*found)[0].inode, MUST(sys::fstat(listener)).st_ino);
    // Only the states asked for: no established socket on that port.
    auto none = sys::tcp_sockets_on_port(netns, AF_INET, port, 1U << TCP_ESTABLISHED);
    ASSERT_TRUE(none) << none.error().message();
    EXPECT_TRUE(none->empty());
}
