// net namespace image: rtnetlink message building and parsing (sys/netlink.h), the parsers of
// links, addresses and routes, and the net.json codec (checkpoint/ns_state_model.h).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include "checkpoint/ns_state_model.h"
#include "sys/netlink.h"

using namespace cryo;
using namespace cryo::checkpoint;

namespace {

std::vector<uint8_t> v4(char const* text)
{
    return MUST(address_from_string(AF_INET, text));
}
std::vector<uint8_t> v6(char const* text)
{
    return MUST(address_from_string(AF_INET6, text));
}

std::map<int, std::string> const kNames { { 1, "lo" }, { 6, "eth0" } };

// An RTM_NEWLINK message as the kernel sends one for a veth whose peer is in another namespace.
std::vector<uint8_t> veth_message()
{
    sys::NetlinkMessage m(RTM_NEWLINK, NLM_F_MULTI);
    ifinfomsg info {};
    info.ifi_type = ARPHRD_ETHER;
    info.ifi_index = 6;
    info.ifi_flags = IFF_UP | IFF_BROADCAST | IFF_LOWER_UP | IFF_NOARP | IFF_MULTICAST;
    m.put_header(info);
    m.put_string(IFLA_IFNAME, "eth0");
    m.put_string(IFLA_IFALIAS, "uplink");
    m.put_u32(IFLA_MTU, 1400);
    uint8_t mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
    m.put(IFLA_ADDRESS, mac, sizeof mac);
    m.put_s32(IFLA_LINK, 7);
    m.put_s32(IFLA_LINK_NETNSID, 0);
    auto linkinfo = m.begin_nested(IFLA_LINKINFO);
    m.put_string(IFLA_INFO_KIND, "veth");
    m.end_nested(linkinfo);
    m.put_u32(IFLA_TXQLEN, 1000); // after the nested one: its length must be right
    return m.bytes();
}

std::vector<uint8_t> address_message(int family, uint32_t index, std::vector<uint8_t> const& local, uint8_t prefix,
                                     uint32_t flags, int protocol = -1)
{
    sys::NetlinkMessage m(RTM_NEWADDR, NLM_F_MULTI);
    ifaddrmsg info {};
    info.ifa_family = static_cast<uint8_t>(family);
    info.ifa_prefixlen = prefix;
    info.ifa_scope = family == AF_INET6 && local[0] == 0xfe ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
    info.ifa_index = index;
    info.ifa_flags = static_cast<uint8_t>(flags);
    m.put_header(info);
    m.put(IFA_ADDRESS, local);
    if (family == AF_INET) {
        m.put(IFA_LOCAL, local);
        m.put_string(IFA_LABEL, "eth0");
    }
    m.put_u32(IFA_FLAGS, flags);
    if (protocol >= 0)
        m.put_u8(IFA_PROTO, static_cast<uint8_t>(protocol));
    ifa_cacheinfo cache {};
    cache.ifa_prefered = 0xffffffff;
    cache.ifa_valid = 0xffffffff;
    m.put(IFA_CACHEINFO, &cache, sizeof cache);
    return m.bytes();
}

sys::NetlinkMessage route_message(uint8_t protocol, uint8_t table = RT_TABLE_MAIN)
{
    sys::NetlinkMessage m(RTM_NEWROUTE, NLM_F_MULTI);
    rtmsg info {};
    info.rtm_family = AF_INET;
    info.rtm_dst_len = 16;
    info.rtm_table = table;
    info.rtm_protocol = protocol;
    info.rtm_scope = RT_SCOPE_UNIVERSE;
    info.rtm_type = RTN_UNICAST;
    m.put_header(info);
    m.put_u32(RTA_TABLE, table);
    m.put(RTA_DST, v4("10.99.0.0"));
    return m;
}

} // namespace

TEST(NsNetlink, AttributesParseAndRejectOverruns)
{
    auto bytes = veth_message();
    auto parsed = sys::parse_netlink_message(bytes, sizeof(ifinfomsg));
    ASSERT_TRUE(parsed) << parsed.error().message();
    EXPECT_EQ(parsed->type, RTM_NEWLINK);
    EXPECT_EQ(parsed->attributes.string(IFLA_IFNAME), "eth0");
    EXPECT_EQ(MUST(parsed->attributes.u32(IFLA_TXQLEN)), 1000u);
    auto linkinfo = sys::parse_netlink_attributes(parsed->attributes.get(IFLA_LINKINFO));
    ASSERT_TRUE(linkinfo);
    EXPECT_EQ(linkinfo->string(IFLA_INFO_KIND), "veth");
    // A 4-byte getter on a string attribute is an error, not garbage.
    EXPECT_FALSE(parsed->attributes.u32(IFLA_IFNAME));

    // The message's length fits: two messages back to back split in two.
    auto twice = bytes;
    twice.insert(twice.end(), bytes.begin(), bytes.end());
    auto split = sys::split_netlink_messages(twice);
    ASSERT_TRUE(split);
    EXPECT_EQ(split->size(), 2u);

    // An attribute whose length runs past the end, and a cut message, are refused.
    auto cut = bytes;
    cut.resize(cut.size() - 6);
    EXPECT_FALSE(sys::split_netlink_messages(cut));
    EXPECT_FALSE(sys::parse_netlink_message(cut, sizeof(ifinfomsg)));
    uint8_t bad_attribute[8] = { 40, 0, 3, 0, 'a', 'b', 0, 0 };
    auto error = sys::parse_netlink_attributes(bad_attribute);
    ASSERT_FALSE(error);
    EXPECT_NE(error.error().message().find("runs past"), std::string::npos);
}

TEST(NsNet, Addresses)
{
    EXPECT_EQ(MUST(address_to_string(AF_INET, v4("10.231.7.2"))), "10.231.7.2");
    EXPECT_EQ(MUST(address_to_string(AF_INET6, v6("fd00:7::2"))), "fd00:7::2");
    EXPECT_FALSE(address_from_string(AF_INET, "fd00::1"));
    EXPECT_FALSE(address_from_string(AF_INET6, "10.0.0.1"));
    EXPECT_FALSE(address_to_string(AF_INET, v6("::1")));
    EXPECT_EQ(MUST(mac_from_string("02:11:22:33:44:ff")), (std::vector<uint8_t> { 2, 0x11, 0x22, 0x33, 0x44, 0xff }));
    EXPECT_EQ(mac_to_string(MUST(mac_from_string("02:11:22:33:44:ff"))), "02:11:22:33:44:ff");
    EXPECT_FALSE(mac_from_string("02:11:2"));
    EXPECT_FALSE(mac_from_string("02-11-22-33-44-55"));
    EXPECT_FALSE(mac_from_string(""));
}

TEST(NsNet, LinkMessage)
{
    auto link = parse_link_message(veth_message());
    ASSERT_TRUE(link) << link.error().message();
    EXPECT_EQ(link->state.index, 6);
    EXPECT_EQ(link->state.name, "eth0");
    EXPECT_EQ(link->state.mtu, 1400u);
    EXPECT_TRUE(link->state.up);
    EXPECT_EQ(link->state.mac, "02:11:22:33:44:55");
    EXPECT_EQ(link->state.flags, uint32_t(IFF_NOARP | IFF_MULTICAST)) << "only the settable flags, up apart";
    EXPECT_EQ(link->state.tx_queue_length, 1000u);
    EXPECT_EQ(link->state.alias, "uplink");
    EXPECT_EQ(link->kind, "veth");
    EXPECT_FALSE(link->loopback);
    EXPECT_EQ(link->link, 7);
    ASSERT_TRUE(link->link_netnsid);
    EXPECT_EQ(*link->link_netnsid, 0);
}

TEST(NsNet, AddressMessages)
{
    auto ipv4 = parse_address_message(address_message(AF_INET, 6, v4("10.231.7.2"), 24, IFA_F_PERMANENT), kNames);
    ASSERT_TRUE(ipv4) << ipv4.error().message();
    ASSERT_TRUE(*ipv4);
    EXPECT_EQ((*ipv4)->link, "eth0");
    EXPECT_EQ((*ipv4)->local, "10.231.7.2");
    EXPECT_EQ((*ipv4)->peer, "");
    EXPECT_EQ((*ipv4)->prefix_length, 24);
    EXPECT_EQ((*ipv4)->label, "eth0");
    EXPECT_EQ((*ipv4)->flags, 0u) << "permanent is the kernel's to say";
    EXPECT_EQ((*ipv4)->valid_lifetime, 0xffffffffu);

    // Flags a restore can ask for are kept; transient DAD state is not.
    auto ipv6 = parse_address_message(
        address_message(AF_INET6, 6, v6("fd00:7::2"), 64, IFA_F_NODAD | IFA_F_TENTATIVE | IFA_F_NOPREFIXROUTE), kNames);
    ASSERT_TRUE(ipv6 && *ipv6);
    EXPECT_EQ((*ipv6)->flags, uint32_t(IFA_F_NODAD | IFA_F_NOPREFIXROUTE));
    EXPECT_EQ((*ipv6)->local, "fd00:7::2");

    // Made by the kernel: link-local (IFA_PROTO 3), loopback's own, privacy addresses.
    EXPECT_FALSE(MUST(parse_address_message(address_message(AF_INET6, 6, v6("fe80::1"), 64, 0, 3), kNames)));
    EXPECT_FALSE(MUST(parse_address_message(address_message(AF_INET6, 6, v6("fd00::5"), 64, IFA_F_TEMPORARY), kNames)));
    auto loopback = address_message(AF_INET, 1, v4("127.0.0.1"), 8, 0);
    reinterpret_cast<ifaddrmsg*>(loopback.data() + NLMSG_HDRLEN)->ifa_scope = RT_SCOPE_HOST; // SAFETY: test buffer
    EXPECT_FALSE(MUST(parse_address_message(loopback, kNames)));
    // An address protocol set by a user (ip addr add ... proto 9) is kept.
    auto by_user = MUST(parse_address_message(address_message(AF_INET, 1, v4("10.1.1.1"), 32, 0, 9), kNames));
    ASSERT_TRUE(by_user);
    EXPECT_EQ(by_user->protocol, 9);

    auto unknown = parse_address_message(address_message(AF_INET, 42, v4("10.0.0.1"), 8, 0), kNames);
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().message(), "address: link index 42 is unknown");
}

TEST(NsNet, RouteMessages)
{
    auto m = route_message(RTPROT_BOOT);
    m.put(RTA_GATEWAY, v4("10.231.7.254"));
    m.put_u32(RTA_OIF, 6);
    m.put_u32(RTA_PRIORITY, 50);
    auto metrics = m.begin_nested(RTA_METRICS);
    m.put_u32(RTAX_MTU, 1300);
    m.end_nested(metrics);
    auto route = parse_route_message(m.bytes(), kNames);
    ASSERT_TRUE(route) << route.error().message();
    ASSERT_TRUE(*route);
    EXPECT_EQ((*route)->destination, "10.99.0.0");
    EXPECT_EQ((*route)->destination_length, 16);
    EXPECT_EQ((*route)->gateway, "10.231.7.254");
    EXPECT_EQ((*route)->link, "eth0");
    EXPECT_TRUE((*route)->has_priority);
    EXPECT_EQ((*route)->priority, 50u);
    EXPECT_EQ((*route)->table, uint32_t(RT_TABLE_MAIN));
    EXPECT_EQ((*route)->metrics, (std::vector<std::pair<uint16_t, uint32_t>> { { RTAX_MTU, 1300 } }));

    // Kernel-made and router-advertised routes come back by themselves.
    EXPECT_FALSE(MUST(parse_route_message(route_message(RTPROT_KERNEL).bytes(), kNames)));
    EXPECT_FALSE(MUST(parse_route_message(route_message(RTPROT_RA).bytes(), kNames)));

    // RTA_TABLE wins over the 8-bit rtm_table (tables above 255).
    auto big = route_message(RTPROT_STATIC, RT_TABLE_COMPAT);
    big.put_u32(RTA_TABLE, 1000);
    EXPECT_EQ(MUST(parse_route_message(big.bytes(), kNames))->table, 1000u);

    auto multipath = route_message(RTPROT_BOOT);
    multipath.put(RTA_MULTIPATH, nullptr, 0);
    auto refused = parse_route_message(multipath.bytes(), kNames);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().message().rfind("route 10.99.0.0/16 table 254: multipath", 0), 0u);

    auto unknown_link = route_message(RTPROT_BOOT);
    unknown_link.put_u32(RTA_OIF, 9);
    EXPECT_FALSE(parse_route_message(unknown_link.bytes(), kNames));
}

TEST(NsNet, StateRoundTripsAndValidates)
{
    NetState state;
    NetLinkState lo;
    lo.index = 1;
    lo.name = "lo";
    lo.kind = LinkKind::Loopback;
    lo.mtu = 65536;
    lo.up = true;
    lo.mac = "00:00:00:00:00:00";
    state.links.push_back(lo);
    NetLinkState eth0;
    eth0.index = 6;
    eth0.name = "eth0";
    eth0.kind = LinkKind::Veth;
    eth0.mtu = 1400;
    eth0.up = true;
    eth0.mac = "02:11:22:33:44:55";
    eth0.flags = IFF_NOARP | IFF_PROMISC;
    eth0.tx_queue_length = 500;
    eth0.alias = "uplink";
    eth0.peer_place = PeerPlace::Caller;
    eth0.peer_index = 7;
    eth0.peer_name = "veth1234";
    eth0.peer_master = "br0";
    eth0.peer_up = true;
    eth0.peer_mtu = 1500;
    state.links.push_back(eth0);
    NetAddress address;
    address.link = "eth0";
    address.family = AF_INET6;
    address.prefix_length = 64;
    address.flags = IFA_F_NODAD;
    address.local = "fd00:7::2";
    state.addresses.push_back(address);
    NetRoute route;
    route.family = AF_INET;
    route.table = 100;
    route.protocol = RTPROT_BOOT;
    route.destination = "10.50.0.0";
    route.destination_length = 16;
    route.gateway = "10.231.7.1";
    route.link = "eth0";
    route.metrics = { { RTAX_MTU, 1300 } };
    state.routes.push_back(route);

    auto decoded = decode_net_state(encode_net_state(state));
    ASSERT_TRUE(decoded) << decoded.error().message();
    ASSERT_EQ(decoded->links.size(), 2u);
    auto const& l = decoded->links[1];
    EXPECT_EQ(l.kind, LinkKind::Veth);
    EXPECT_EQ(l.peer_place, PeerPlace::Caller);
    EXPECT_EQ(l.peer_name, "veth1234");
    EXPECT_EQ(l.peer_master, "br0");
    EXPECT_EQ(l.peer_mtu, 1500u);
    EXPECT_EQ(l.mac, "02:11:22:33:44:55");
    EXPECT_EQ(l.flags, uint32_t(IFF_NOARP | IFF_PROMISC));
    EXPECT_EQ(l.tx_queue_length, 500u);
    EXPECT_EQ(l.alias, "uplink");
    ASSERT_EQ(decoded->addresses.size(), 1u);
    EXPECT_EQ(decoded->addresses[0].family, AF_INET6);
    EXPECT_EQ(decoded->addresses[0].flags, uint32_t(IFA_F_NODAD));
    ASSERT_EQ(decoded->routes.size(), 1u);
    EXPECT_EQ(decoded->routes[0].table, 100u);
    EXPECT_EQ(decoded->routes[0].gateway, "10.231.7.1");
    EXPECT_FALSE(decoded->routes[0].has_priority);
    EXPECT_EQ(decoded->routes[0].metrics, route.metrics);

    auto broken = state;
    broken.addresses[0].link = "eth9";
    EXPECT_EQ(validate_net_state(broken).error().message(), "address fd00:7::2/64: link eth9 is not recorded");
    broken = state;
    broken.links[1].name = "a-name-too-long-for-linux";
    EXPECT_FALSE(validate_net_state(broken));
    broken = state;
    broken.links[1].peer_place = PeerPlace::SameNamespace; // its "peer" veth1234 is not inside
    EXPECT_EQ(validate_net_state(broken).error().message(),
              "link eth0: its peer veth1234 inside the namespace is not recorded as its pair");
    broken = state;
    broken.routes[0].gateway = "fd00::1";
    EXPECT_FALSE(validate_net_state(broken));
}

TEST(NsNet, DecodeRefusesWhatItCannotRestore)
{
    auto message = [](std::string const& text) {
        auto r = decode_net_state(text);
        return r ? std::string("accepted") : r.error().message();
    };
    EXPECT_EQ(message(R"({"schema":1,"links":[{"name":"br0","kind":"bridge"}]})"),
              "net.json: link br0: kind \"bridge\" is not supported");
    EXPECT_EQ(message(R"({"schema":3})"), "net.json: schema 3 is not supported (this cryo reads 1 to 1)");
    EXPECT_EQ(message(R"({"schema":1,"links":[{"name":"eth0","kind":"veth","peer":{"place":"moon"}}]})"),
              "net.json: link eth0: unknown veth peer place \"moon\"");
    EXPECT_EQ(message(R"({"schema":1,"links":[{"name":"lo","kind":"loopback"},{"name":"lo","kind":"loopback"}]})"),
              "net.json: link lo: recorded twice");
    EXPECT_EQ(message(R"({"schema":1,"links":[{"name":5}]})").rfind("net.json: ", 0), 0u);
    EXPECT_EQ(message(R"({"schema":1})"), "accepted");
}
