// netlink.h's pure parts byte for byte: the builder's lengths and 4-byte padding, nested
// attributes, the attribute parser's limits (flags masked, short or overlong lengths refused,
// typed getters checking sizes) and the splitting of a datagram into messages.
#include <gtest/gtest.h>

#include <cstring>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

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
