// parse_inet_diag (sys/inet_diag.h): one inet_diag_msg as the kernel sends it, IPv4 and
// IPv6, with ports in network order; a short message or a foreign family is an error.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "sys/inet_diag.h"

using namespace cryo;

TEST(InetDiag, ParsesIpv4AcceptQueueEntry)
{
    inet_diag_msg m {};
    m.idiag_family = AF_INET;
    m.idiag_state = TCP_ESTABLISHED;
    m.id.idiag_sport = htons(8080);
    m.id.idiag_dport = htons(51000);
    inet_pton(AF_INET, "127.0.0.1", &m.id.idiag_src[0]);
    inet_pton(AF_INET, "127.0.0.2", &m.id.idiag_dst[0]);
    m.idiag_rqueue = 5;
    m.idiag_inode = 0;
    auto d = sys::parse_inet_diag(&m, sizeof m);
    ASSERT_TRUE(d) << d.error().message();
    EXPECT_EQ(d->state, TCP_ESTABLISHED);
    EXPECT_EQ(d->local.address, "127.0.0.1");
    EXPECT_EQ(d->local.port, 8080);
    EXPECT_EQ(d->peer.address, "127.0.0.2");
    EXPECT_EQ(d->peer.port, 51000);
    EXPECT_EQ(d->receive_queue, 5u);
    EXPECT_EQ(d->inode, 0u);
}

TEST(InetDiag, ParsesIpv6)
{
    inet_diag_msg m {};
    m.idiag_family = AF_INET6;
    m.idiag_state = TCP_CLOSE_WAIT;
    m.id.idiag_sport = htons(443);
    m.id.idiag_dport = htons(40000);
    inet_pton(AF_INET6, "::1", m.id.idiag_src);
    inet_pton(AF_INET6, "::ffff:127.0.0.1", m.id.idiag_dst);
    m.idiag_inode = 1234;
    auto d = sys::parse_inet_diag(&m, sizeof m);
    ASSERT_TRUE(d) << d.error().message();
    EXPECT_EQ(d->local.address, "::1");
    EXPECT_EQ(d->peer.address, "::ffff:127.0.0.1");
    EXPECT_EQ(d->peer.port, 40000);
    EXPECT_EQ(d->inode, 1234u);
}

TEST(InetDiag, RejectsShortOrForeignMessages)
{
    inet_diag_msg m {};
    m.idiag_family = AF_INET;
    EXPECT_FALSE(sys::parse_inet_diag(&m, sizeof m - 1));
    m.idiag_family = AF_UNIX;
    EXPECT_FALSE(sys::parse_inet_diag(&m, sizeof m));
}
