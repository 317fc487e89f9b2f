// netlink.h's pure parts byte for byte: the builder's lengths and 4-byte padding, nested
// attributes, the attribute parser's limits (flags masked, short or overlong lengths refused,
// typed getters checking sizes), the splitting of a datagram into messages and of a payload
// into family header and attributes, message names per protocol, and NetlinkAnswers (the
// receive loop's decisions: seq filtering, ack, NLMSG_DONE, errors, interrupted dumps) on
// constructed datagrams.
#include <gtest/gtest.h>

#include <cstring>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>

#include "sys/netlink.h"

using namespace cryo;

namespace {

nlmsghdr header_of(std::vector<uint8_t> const& bytes)
{
    nlmsghdr header;
    std::memcpy(&header, bytes.data(), sizeof header);
    return header;
}

rtattr attribute_at(std::vector<uint8_t> const& bytes, size_t offset)
{
    rtattr attribute;
    std::memcpy(&attribute, bytes.data() + offset, sizeof attribute);
    return attribute;
}

} // namespace

TEST(Netlink, BuilderPadsAndKeepsTheLength)
{
    sys::NetlinkMessage m(RTM_NEWLINK, NLM_F_CREATE);
    EXPECT_EQ(m.bytes().size(), sizeof(nlmsghdr));
    EXPECT_EQ(header_of(m.bytes()).nlmsg_len, sizeof(nlmsghdr));
    m.put_header(ifinfomsg {});
    size_t first = m.bytes().size();
    EXPECT_EQ(first, NLMSG_LENGTH(sizeof(ifinfomsg)));
    m.put_string(IFLA_IFNAME, "eth0"); // 5 bytes with the NUL: padded to 8
    auto name = attribute_at(m.bytes(), first);
    EXPECT_EQ(name.rta_type, IFLA_IFNAME);
    EXPECT_EQ(name.rta_len, RTA_LENGTH(5));
    EXPECT_EQ(m.bytes().size(), first + RTA_SPACE(5));
    EXPECT_EQ(m.bytes()[first + sizeof(rtattr) + 5], 0) << "padding is zeroed";
    m.put_u8(IFLA_OPERSTATE, 6);
    EXPECT_EQ(m.bytes().size() % 4, 0u);
    EXPECT_EQ(header_of(m.bytes()).nlmsg_len, m.bytes().size());
    EXPECT_EQ(header_of(m.bytes()).nlmsg_type, RTM_NEWLINK);
    EXPECT_EQ(header_of(m.bytes()).nlmsg_flags, NLM_F_CREATE);
}

TEST(Netlink, NestedAttributesSpanTheirContents)
{
    sys::NetlinkMessage m(RTM_NEWLINK, 0);
    m.put_header(ifinfomsg {});
    size_t outer_at = m.bytes().size();
    auto outer = m.begin_nested(IFLA_LINKINFO);
    m.put_string(IFLA_INFO_KIND, "veth");
    auto inner = m.begin_nested(IFLA_INFO_DATA);
    m.put_u32(1, 7);
    m.end_nested(inner);
    m.end_nested(outer);
    m.put_u32(IFLA_MTU, 1500); // after the nested one: found only if its length is right
    EXPECT_EQ(attribute_at(m.bytes(), outer_at).rta_len, RTA_LENGTH(RTA_SPACE(5) + RTA_SPACE(RTA_SPACE(4))));

    auto parsed = MUST(sys::parse_netlink_message(m.bytes(), sizeof(ifinfomsg)));
    EXPECT_EQ(MUST(parsed.attributes.u32(IFLA_MTU)), 1500u);
    auto linkinfo = MUST(sys::parse_netlink_attributes(parsed.attributes.get(IFLA_LINKINFO)));
    EXPECT_EQ(linkinfo.string(IFLA_INFO_KIND), "veth");
    auto data = MUST(sys::parse_netlink_attributes(linkinfo.get(IFLA_INFO_DATA)));
    EXPECT_EQ(MUST(data.u32(1)), 7u);
    EXPECT_EQ(data.all().size(), 1u);
}

TEST(Netlink, AttributeParserLimits)
{
    // Type flags (NLA_F_NESTED, NLA_F_NET_BYTEORDER) are not part of the type.
    uint8_t flagged[8] = { 8, 0, 3, 0x80, 1, 2, 3, 4 };
    auto parsed = MUST(sys::parse_netlink_attributes(flagged));
    EXPECT_TRUE(parsed.has(3));
    // A length below the attribute header, or past the end, is refused.
    uint8_t too_short[4] = { 2, 0, 3, 0 };
    EXPECT_FALSE(sys::parse_netlink_attributes(too_short));
    uint8_t too_long[8] = { 12, 0, 3, 0, 1, 2, 3, 4 };
    EXPECT_FALSE(sys::parse_netlink_attributes(too_long));
    // A zero-length payload is fine; trailing bytes shorter than a header are ignored.
    uint8_t empty_then_tail[6] = { 4, 0, 9, 0, 0xff, 0xff };
    auto empty = MUST(sys::parse_netlink_attributes(empty_then_tail));
    EXPECT_TRUE(empty.has(9));
    EXPECT_TRUE(empty.get(9).empty());
    // Typed getters check sizes; strings stop at their NUL or their end.
    uint8_t values[16] = { 8, 0, 1, 0, 0xfe, 0xff, 0xff, 0xff, 7, 0, 2, 0, 'a', 'b', 'c', 0 };
    auto typed = MUST(sys::parse_netlink_attributes(values));
    EXPECT_EQ(MUST(typed.s32(1)), -2);
    EXPECT_FALSE(typed.u32(2));
    EXPECT_EQ(typed.string(2), "abc");
    EXPECT_EQ(MUST(typed.u8(2)), 'a');
    EXPECT_FALSE(typed.u8(5)) << "a missing attribute has no value";
    EXPECT_EQ(typed.string(5), "");
}

TEST(Netlink, MessagesAndDatagrams)
{
    sys::NetlinkMessage a(RTM_NEWADDR, NLM_F_MULTI);
    a.put_header(ifaddrmsg {});
    a.put_string(IFA_LABEL, "eth0:1");
    sys::NetlinkMessage b(NLMSG_DONE, NLM_F_MULTI);
    b.put_header(int(0));
    auto datagram = a.bytes();
    datagram.insert(datagram.end(), b.bytes().begin(), b.bytes().end());
    auto messages = MUST(sys::split_netlink_messages(datagram));
    ASSERT_EQ(messages.size(), 2u);
    EXPECT_EQ(messages[0].size(), a.bytes().size());
    EXPECT_EQ(MUST(sys::parse_netlink_message(messages[0], sizeof(ifaddrmsg))).attributes.string(IFA_LABEL), "eth0:1");
    EXPECT_EQ(MUST(sys::parse_netlink_message(messages[1], sizeof(int))).type, NLMSG_DONE);

    // A family header larger than the message is an error naming the type.
    auto short_header = sys::parse_netlink_message(messages[1], sizeof(ifinfomsg));
    ASSERT_FALSE(short_header);
    EXPECT_NE(short_header.error().message().find("netlink message type 3"), std::string::npos)
        << short_header.error().message();
    // A datagram cut inside its second message is refused, not half-read.
    auto cut = datagram;
    cut.resize(cut.size() - 2);
    EXPECT_FALSE(sys::split_netlink_messages(cut));
}

TEST(Netlink, PayloadSplitsFamilyHeaderAndAttributes)
{
    // A payload as sock_diag's parsers get it: family header (6 bytes here: the attributes
    // start at the next 4-byte boundary), then attributes.
    sys::NetlinkMessage m(20, 0);
    uint8_t family[6] = { 1, 2, 3, 4, 5, 6 };
    m.put_header(family);
    m.put_u32(7, 42);
    std::span<uint8_t const> payload(m.bytes().data() + NLMSG_HDRLEN, m.bytes().size() - NLMSG_HDRLEN);
    auto parsed = MUST(sys::parse_netlink_payload(payload, sizeof family));
    EXPECT_EQ(parsed.type, 0) << "a payload carries no type";
    ASSERT_EQ(parsed.header.size(), sizeof family);
    EXPECT_EQ(parsed.header[5], 6);
    EXPECT_EQ(MUST(parsed.attributes.u32(7)), 42u);
    // The whole message splits the same way, with its type.
    auto whole = MUST(sys::parse_netlink_message(m.bytes(), sizeof family));
    EXPECT_EQ(whole.type, 20);
    EXPECT_EQ(MUST(whole.attributes.u32(7)), 42u);
    // A payload of just the header has no attributes; a shorter one is refused.
    auto bare = MUST(sys::parse_netlink_payload(payload.subspan(0, sizeof family), sizeof family));
    EXPECT_TRUE(bare.attributes.all().empty());
    auto too_short = sys::parse_netlink_payload(payload.subspan(0, 4), sizeof family);
    ASSERT_FALSE(too_short);
    EXPECT_NE(too_short.error().message().find("4 bytes"), std::string::npos) << too_short.error().message();
    // An attribute cut short inside the payload is refused, not read past.
    EXPECT_FALSE(sys::parse_netlink_payload(payload.subspan(0, payload.size() - 1), sizeof family));
}

TEST(Netlink, MessageNamesDependOnTheProtocol)
{
    EXPECT_EQ(sys::netlink_message_name(NETLINK_ROUTE, RTM_NEWADDR), "RTM_NEWADDR");
    EXPECT_EQ(sys::netlink_message_name(NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY), "SOCK_DIAG_BY_FAMILY")
        << "20 is RTM_NEWADDR only in rtnetlink";
    EXPECT_EQ(sys::netlink_message_name(NETLINK_SOCK_DIAG, SOCK_DESTROY), "SOCK_DESTROY");
    EXPECT_EQ(sys::netlink_message_name(NETLINK_SOCK_DIAG, 99), "NETLINK_SOCK_DIAG message 99");
    EXPECT_EQ(sys::netlink_message_name(NETLINK_GENERIC, 99), "netlink protocol 16 message 99");
}

namespace {

// Kernel-shaped answers to request `seq`: a data message, NLMSG_DONE with its int,
// NLMSG_ERROR with its nlmsgerr and, optionally, an extended ack message.
std::vector<uint8_t> with_seq(sys::NetlinkMessage const& m, uint32_t seq)
{
    auto bytes = m.bytes();
    nlmsghdr header = header_of(bytes);
    header.nlmsg_seq = seq;
    std::memcpy(bytes.data(), &header, sizeof header);
    return bytes;
}

std::vector<uint8_t> data_message(uint16_t type, uint32_t seq, uint32_t value, uint16_t flags = NLM_F_MULTI)
{
    sys::NetlinkMessage m(type, flags);
    m.put_header(value);
    return with_seq(m, seq);
}

std::vector<uint8_t> done_message(uint32_t seq, int status)
{
    sys::NetlinkMessage m(NLMSG_DONE, NLM_F_MULTI);
    m.put_header(status);
    return with_seq(m, seq);
}

std::vector<uint8_t> error_message(uint32_t seq, int error, std::string const& reason = "")
{
    sys::NetlinkMessage m(NLMSG_ERROR, reason.empty() ? 0 : NLM_F_ACK_TLVS);
    nlmsgerr e {};
    e.error = error;
    m.put_header(e);
    if (!reason.empty())
        m.put_string(NLMSGERR_ATTR_MSG, reason);
    return with_seq(m, seq);
}

std::vector<uint8_t> datagram(std::initializer_list<std::vector<uint8_t>> messages)
{
    std::vector<uint8_t> out;
    for (auto const& m : messages)
        out.insert(out.end(), m.begin(), m.end());
    return out;
}

uint32_t value_of(std::vector<uint8_t> const& message)
{
    uint32_t value;
    std::memcpy(&value, message.data() + NLMSG_HDRLEN, sizeof value);
    return value;
}

} // namespace

TEST(NetlinkAnswers, DumpCollectsAcrossDatagramsUntilDone)
{
    sys::NetlinkAnswers answers(NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY, 5, true);
    // An answer to an earlier request (seq 4) is skipped, even its NLMSG_DONE.
    EXPECT_FALSE(MUST(answers.take(datagram({ data_message(20, 4, 99), done_message(4, 0) }))));
    EXPECT_FALSE(MUST(answers.take(datagram({ data_message(20, 5, 1), data_message(20, 5, 2) }))));
    EXPECT_TRUE(MUST(answers.take(datagram({ data_message(20, 5, 3), done_message(5, 0) }))));
    auto& messages = answers.messages();
    ASSERT_EQ(messages.size(), 3u);
    EXPECT_EQ(value_of(messages[0]), 1u);
    EXPECT_EQ(value_of(messages[2]), 3u);
    EXPECT_EQ(header_of(messages[1]).nlmsg_type, 20);
}

TEST(NetlinkAnswers, RequestEndsAtItsAckAndKeepsTheAnswer)
{
    sys::NetlinkAnswers answers(NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY, 1, false);
    EXPECT_TRUE(MUST(answers.take(datagram({ data_message(20, 1, 7, 0), error_message(1, 0) }))));
    ASSERT_EQ(answers.messages().size(), 1u);
    EXPECT_EQ(value_of(answers.messages()[0]), 7u);
    // In a dump, an ack is not the end: NLMSG_DONE is.
    sys::NetlinkAnswers dump(NETLINK_ROUTE, RTM_GETLINK, 2, true);
    EXPECT_FALSE(MUST(dump.take(error_message(2, 0))));
    EXPECT_TRUE(MUST(dump.take(done_message(2, 0))));
}

TEST(NetlinkAnswers, ErrorsNameTheRequestAndTheKernelsReason)
{
    sys::NetlinkAnswers query(NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY, 3, false);
    auto missing = query.take(error_message(3, -ENOENT));
    ASSERT_FALSE(missing);
    EXPECT_TRUE(missing.error().is_errno(ENOENT));
    EXPECT_EQ(missing.error().frames().front(), "SOCK_DIAG_BY_FAMILY");

    sys::NetlinkAnswers create(NETLINK_ROUTE, RTM_NEWLINK, 3, false);
    auto refused = create.take(error_message(3, -EOPNOTSUPP, "Unknown device type"));
    ASSERT_FALSE(refused);
    EXPECT_TRUE(refused.error().is_errno(EOPNOTSUPP));
    EXPECT_EQ(refused.error().frames().front(), "RTM_NEWLINK (Unknown device type)");

    sys::NetlinkAnswers dump(NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY, 3, true);
    auto failed = dump.take(done_message(3, -ENOBUFS));
    ASSERT_FALSE(failed);
    EXPECT_TRUE(failed.error().is_errno(ENOBUFS));
    EXPECT_EQ(failed.error().frames().front(), "SOCK_DIAG_BY_FAMILY dump");
}

TEST(NetlinkAnswers, InterruptedDumpIsEagainAtItsEnd)
{
    sys::NetlinkAnswers answers(NETLINK_ROUTE, RTM_GETADDR, 8, true);
    EXPECT_FALSE(MUST(answers.take(data_message(RTM_NEWADDR, 8, 1, NLM_F_MULTI | NLM_F_DUMP_INTR))));
    EXPECT_FALSE(MUST(answers.take(data_message(RTM_NEWADDR, 8, 2))));
    auto done = answers.take(done_message(8, 0));
    ASSERT_FALSE(done);
    EXPECT_TRUE(done.error().is_errno(EAGAIN)) << "NetlinkSocket::dump asks again on EAGAIN";
    EXPECT_EQ(done.error().frames().front(), "RTM_GETADDR dump interrupted by a change");
}

TEST(NetlinkAnswers, RefusesTruncatedAnswers)
{
    // An NLMSG_ERROR too short for its nlmsgerr.
    sys::NetlinkMessage short_error(NLMSG_ERROR, 0);
    short_error.put_header(int(-1));
    sys::NetlinkAnswers answers(NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY, 1, false);
    auto truncated = answers.take(with_seq(short_error, 1));
    ASSERT_FALSE(truncated);
    EXPECT_NE(truncated.error().message().find("truncated"), std::string::npos) << truncated.error().message();
    // A datagram cut inside a message.
    auto cut = datagram({ data_message(20, 1, 1), done_message(1, 0) });
    cut.resize(cut.size() - 3);
    sys::NetlinkAnswers dump(NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY, 1, true);
    EXPECT_FALSE(dump.take(cut));
}
