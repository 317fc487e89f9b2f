// sys::rtnl (link, address and route operations over sys::RtNetlink). Pure: the requests it
// builds, read back with netlink.h's parser, and kernel-shaped answers parsed into LinkInfo
// and Ipv4Address. Against the kernel, without root: a forked child unshares a user and a
// network namespace (it is root there, with CAP_NET_ADMIN over that namespace only), builds a
// bridge, a veth pair whose peer goes into a second namespace, addresses and a route, reads
// them back, and checks the errors name the request and the kernel's reason. Nothing is
// visible outside the child's namespaces, and they die with it.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <cstring>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sys/file.h"
#include "sys/ns.h"
#include "sys/rtnl.h"

using namespace cryo;

namespace {

in_addr_t address(char const* text)
{
    in_addr value {};
    inet_pton(AF_INET, text, &value);
    return value.s_addr;
}

// Runs `body` in a child inside new user + network namespaces; its failures are printed by
// the child and turn into a non-zero exit. Returns -1 when namespaces are not available.
template<typename F>
int in_private_netns(F body)
{
    pid_t pid = ::fork();
    if (pid == 0) {
        if (::unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0)
            ::_exit(77);
        std::string failure = body();
        if (!failure.empty()) {
            fprintf(stderr, "child: %s\n", failure.c_str());
            ::_exit(1);
        }
        ::_exit(0);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status))
        return 128;
    return WEXITSTATUS(status);
}

#define CHILD_TRY(expr, what)                                                                                          \
    ({                                                                                                                 \
        auto&& _child_result = (expr);                                                                                 \
        if (_child_result.is_error())                                                                                  \
            return std::string(what) + ": " + _child_result.error().message();                                         \
        _child_result.release_value();                                                                                 \
    })

} // namespace

TEST(Rtnl, ListsLoopbackOfAFreshNamespace)
{
    int code = in_private_netns([]() -> std::string {
        auto netlink = CHILD_TRY(sys::RtNetlink::open(), "open");
        auto links = CHILD_TRY(sys::rtnl::links(netlink), "links");
        if (links.size() != 1 || links[0].name != "lo" || links[0].index != 1 || links[0].up)
            return "expected only lo (index 1, down)";
        auto lo = CHILD_TRY(sys::rtnl::link(netlink, "lo"), "link lo");
        if (!lo)
            return "link(\"lo\") found nothing";
        CHILD_TRY(sys::rtnl::set_up(netlink, lo->index), "set lo up");
        if (!CHILD_TRY(sys::rtnl::link(netlink, "lo"), "link lo")->up)
            return "lo is not up after set_up";
        auto addresses = CHILD_TRY(sys::rtnl::ipv4_addresses(netlink), "addresses");
        if (addresses.size() != 1 || addresses[0].address != address("127.0.0.1") || addresses[0].prefix != 8)
            return "expected 127.0.0.1/8 once lo is up";
        if (CHILD_TRY(sys::rtnl::link(netlink, "nosuchlink0"), "link nosuchlink0"))
            return "found a link that does not exist";
        return "";
    });
    if (code == 77)
        GTEST_SKIP() << "no unprivileged user namespaces";
    EXPECT_EQ(code, 0);
}

TEST(Rtnl, BridgeVethAddressRoute)
{
    int code = in_private_netns([]() -> std::string {
        auto host = CHILD_TRY(sys::RtNetlink::open(), "open");
        CHILD_TRY(sys::rtnl::add_bridge(host, "tbr0"), "add bridge");
        auto bridge = CHILD_TRY(sys::rtnl::link(host, "tbr0"), "link tbr0");
        if (!bridge || bridge->kind != "bridge")
            return "tbr0 missing or not a bridge";
        if (auto again = sys::rtnl::add_bridge(host, "tbr0"); again.has_value() || !again.error().is_errno(EEXIST))
            return "adding tbr0 twice did not fail with EEXIST";
        else if (auto text = again.error().message();
                 !text.starts_with("create bridge tbr0: RTM_NEWLINK") || !text.ends_with(": File exists"))
            return "unexpected error text: " + text;
        // The kernel's extended ack is part of the one-line error.
        sys::NetlinkMessage unknown(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
        unknown.put_header(ifinfomsg {});
        unknown.put_string(IFLA_IFNAME, "tbogus0");
        auto info = unknown.begin_nested(IFLA_LINKINFO);
        unknown.put_string(IFLA_INFO_KIND, "no-such-kind");
        unknown.end_nested(info);
        if (auto refused = host.request(unknown); refused.has_value())
            return "a link of an unknown kind was created";
        else if (refused.error().message() != "RTM_NEWLINK (Unknown device type): Operation not supported")
            return "unexpected error text: " + refused.error().message();
        CHILD_TRY(sys::rtnl::add_ipv4_address(host, bridge->index, address("10.77.0.1"), 24), "bridge address");
        CHILD_TRY(sys::rtnl::set_up(host, bridge->index), "bridge up");

        // The peer's namespace: the original one of a second child would do, but a file
        // from /proc/self/ns/net of this process, taken before a second unshare, is simpler.
        auto outer = CHILD_TRY(sys::open("/proc/self/ns/net", O_RDONLY), "open outer netns");
        if (::unshare(CLONE_NEWNET) < 0)
            return std::string("unshare inner netns: ") + strerror(errno);
        auto inner = CHILD_TRY(sys::open("/proc/self/ns/net", O_RDONLY), "open inner netns");
        CHILD_TRY(sys::setns(outer, CLONE_NEWNET), "back to outer");

        sys::MacAddress mac { 0x0a, 0x58, 10, 77, 0, 2 };
        CHILD_TRY(sys::rtnl::add_veth(host, "tveth0", "eth0", inner, mac), "add veth");
        auto veth = CHILD_TRY(sys::rtnl::link(host, "tveth0"), "link tveth0");
        if (!veth || veth->kind != "veth")
            return "tveth0 missing or not a veth";
        CHILD_TRY(sys::rtnl::set_master(host, veth->index, bridge->index), "set master");
        CHILD_TRY(sys::rtnl::set_up(host, veth->index), "veth up");
        if (CHILD_TRY(sys::rtnl::link(host, "tveth0"), "link tveth0")->master != bridge->index)
            return "tveth0 is not a port of tbr0";
        if (CHILD_TRY(sys::rtnl::link(host, "eth0"), "link eth0"))
            return "the peer stayed on this side";

        auto inside = CHILD_TRY(sys::RtNetlink::open_in(inner), "open_in");
        // open_in left this thread in the outer namespace.
        if (!CHILD_TRY(sys::rtnl::link(host, "tbr0"), "link tbr0 after open_in"))
            return "open_in did not come back";
        auto eth0 = CHILD_TRY(sys::rtnl::link(inside, "eth0"), "inner eth0");
        if (!eth0)
            return "eth0 missing inside";
        CHILD_TRY(sys::rtnl::add_ipv4_address(inside, eth0->index, address("10.77.0.2"), 24), "eth0 address");
        CHILD_TRY(sys::rtnl::set_up(inside, eth0->index), "eth0 up");
        CHILD_TRY(sys::rtnl::add_ipv4_default_route(inside, address("10.77.0.1")), "default route");
        auto addresses = CHILD_TRY(sys::rtnl::ipv4_addresses(inside), "inner addresses");
        if (addresses.size() != 1 || addresses[0].address != address("10.77.0.2") || addresses[0].prefix != 24
            || addresses[0].index != eth0->index)
            return "inner addresses are not [10.77.0.2/24 on eth0]";
        if (auto twice = sys::rtnl::add_ipv4_default_route(inside, address("10.77.0.1"));
            twice.has_value() || !twice.error().is_errno(EEXIST))
            return "a second default route did not fail with EEXIST";

        CHILD_TRY(sys::rtnl::delete_link(host, veth->index), "delete veth");
        if (CHILD_TRY(sys::rtnl::link(host, "tveth0"), "link tveth0 after delete"))
            return "tveth0 survived delete";
        if (CHILD_TRY(sys::rtnl::link(inside, "eth0"), "inner eth0 after delete"))
            return "deleting one end left the peer";
        if (auto gone = sys::rtnl::delete_link(host, veth->index); gone.has_value() || !gone.error().is_errno(ENODEV))
            return "deleting a deleted link did not fail with ENODEV";
        return "";
    });
    if (code == 77)
        GTEST_SKIP() << "no unprivileged user namespaces";
    EXPECT_EQ(code, 0);
}

namespace {

sys::ParsedNetlinkMessage parse(sys::NetlinkMessage const& m, size_t header_size)
{
    return MUST(sys::parse_netlink_message(m.bytes(), header_size));
}

template<typename T>
T header_of(sys::ParsedNetlinkMessage const& parsed)
{
    T value;
    EXPECT_EQ(parsed.header.size(), sizeof value);
    std::memcpy(&value, parsed.header.data(), sizeof value);
    return value;
}

uint32_t u32_of(std::span<uint8_t const> data)
{
    uint32_t value = 0;
    EXPECT_EQ(data.size(), 4u);
    std::memcpy(&value, data.data(), std::min(data.size(), sizeof value));
    return value;
}

uint16_t flags_of(sys::NetlinkMessage const& m)
{
    nlmsghdr header;
    std::memcpy(&header, m.bytes().data(), sizeof header);
    return header.nlmsg_flags;
}

} // namespace

TEST(Rtnl, VethRequestNestsThePeer)
{
    sys::MacAddress mac { 0x0a, 0x58, 10, 77, 0, 2 };
    auto request = sys::rtnl::add_veth_request("veth1234", "eth0", FdRef(42), mac);
    EXPECT_EQ(flags_of(request), NLM_F_CREATE | NLM_F_EXCL);
    auto parsed = parse(request, sizeof(ifinfomsg));
    EXPECT_EQ(parsed.type, RTM_NEWLINK);
    EXPECT_EQ(header_of<ifinfomsg>(parsed).ifi_index, 0);
    EXPECT_EQ(parsed.attributes.string(IFLA_IFNAME), "veth1234");
    auto linkinfo = MUST(sys::parse_netlink_attributes(parsed.attributes.get(IFLA_LINKINFO)));
    EXPECT_EQ(linkinfo.string(IFLA_INFO_KIND), "veth");
    auto data = MUST(sys::parse_netlink_attributes(linkinfo.get(IFLA_INFO_DATA)));
    // VETH_INFO_PEER: a whole ifinfomsg, then the peer's attributes.
    auto peer = data.get(VETH_INFO_PEER);
    ASSERT_GT(peer.size(), sizeof(ifinfomsg));
    auto peer_attributes = MUST(sys::parse_netlink_attributes(peer.subspan(NLMSG_ALIGN(sizeof(ifinfomsg)))));
    EXPECT_EQ(peer_attributes.string(IFLA_IFNAME), "eth0");
    auto address = peer_attributes.get(IFLA_ADDRESS);
    EXPECT_TRUE(std::equal(address.begin(), address.end(), mac.begin(), mac.end()));
    EXPECT_EQ(u32_of(peer_attributes.get(IFLA_NET_NS_FD)), 42u);
}

TEST(Rtnl, LinkChangeRequests)
{
    auto bridge = parse(sys::rtnl::add_bridge_request("cryo0"), sizeof(ifinfomsg));
    EXPECT_EQ(bridge.attributes.string(IFLA_IFNAME), "cryo0");
    EXPECT_EQ(MUST(sys::parse_netlink_attributes(bridge.attributes.get(IFLA_LINKINFO))).string(IFLA_INFO_KIND),
              "bridge");

    auto up_request = sys::rtnl::set_up_request(7);
    EXPECT_EQ(flags_of(up_request), 0);
    auto up = header_of<ifinfomsg>(parse(up_request, sizeof(ifinfomsg)));
    EXPECT_EQ(up.ifi_index, 7);
    EXPECT_EQ(up.ifi_flags & IFF_UP, unsigned(IFF_UP));
    EXPECT_EQ(up.ifi_change, unsigned(IFF_UP));

    auto master = parse(sys::rtnl::set_master_request(7, 3), sizeof(ifinfomsg));
    EXPECT_EQ(master.type, RTM_NEWLINK);
    EXPECT_EQ(header_of<ifinfomsg>(master).ifi_index, 7);
    EXPECT_EQ(header_of<ifinfomsg>(master).ifi_change, 0u) << "attaching must not change flags";
    EXPECT_EQ(u32_of(master.attributes.get(IFLA_MASTER)), 3u);

    auto deleted = parse(sys::rtnl::delete_link_request(9), sizeof(ifinfomsg));
    EXPECT_EQ(deleted.type, RTM_DELLINK);
    EXPECT_EQ(header_of<ifinfomsg>(deleted).ifi_index, 9);

    auto links = parse(sys::rtnl::links_request(), sizeof(ifinfomsg));
    EXPECT_EQ(links.type, RTM_GETLINK);
    EXPECT_TRUE(links.attributes.all().empty());
}

TEST(Rtnl, AddressAndRouteRequests)
{
    auto with_broadcast = parse(sys::rtnl::add_ipv4_address_request(5, address("10.88.0.1"), 16), sizeof(ifaddrmsg));
    auto info = header_of<ifaddrmsg>(with_broadcast);
    EXPECT_EQ(with_broadcast.type, RTM_NEWADDR);
    EXPECT_EQ(info.ifa_family, AF_INET);
    EXPECT_EQ(info.ifa_prefixlen, 16);
    EXPECT_EQ(info.ifa_index, 5u);
    EXPECT_EQ(u32_of(with_broadcast.attributes.get(IFA_LOCAL)), address("10.88.0.1"));
    EXPECT_EQ(u32_of(with_broadcast.attributes.get(IFA_ADDRESS)), address("10.88.0.1"));
    EXPECT_EQ(u32_of(with_broadcast.attributes.get(IFA_BROADCAST)), address("10.88.255.255"));
    // /31 and /32 have no broadcast address (RFC 3021).
    auto point_to_point = parse(sys::rtnl::add_ipv4_address_request(5, address("10.88.0.1"), 31), sizeof(ifaddrmsg));
    EXPECT_FALSE(point_to_point.attributes.has(IFA_BROADCAST));

    auto route = parse(sys::rtnl::add_ipv4_default_route_request(address("10.88.0.1")), sizeof(rtmsg));
    auto rt = header_of<rtmsg>(route);
    EXPECT_EQ(route.type, RTM_NEWROUTE);
    EXPECT_EQ(rt.rtm_family, AF_INET);
    EXPECT_EQ(rt.rtm_dst_len, 0);
    EXPECT_EQ(rt.rtm_table, RT_TABLE_MAIN);
    EXPECT_EQ(rt.rtm_type, RTN_UNICAST);
    EXPECT_EQ(u32_of(route.attributes.get(RTA_GATEWAY)), address("10.88.0.1"));

    auto dump = parse(sys::rtnl::ipv4_addresses_request(), sizeof(ifaddrmsg));
    EXPECT_EQ(header_of<ifaddrmsg>(dump).ifa_family, AF_INET);
}

TEST(Rtnl, ParsesLinkAnswers)
{
    // As the kernel answers a dump: RTM_NEWLINK with nested IFLA_LINKINFO.
    sys::NetlinkMessage answer(RTM_NEWLINK, NLM_F_MULTI);
    ifinfomsg info {};
    info.ifi_index = 4;
    info.ifi_flags = IFF_UP | IFF_BROADCAST;
    answer.put_header(info);
    answer.put_string(IFLA_IFNAME, "veth0");
    answer.put_u32(IFLA_MTU, 1500);
    answer.put_u32(IFLA_MASTER, 2);
    auto nested = answer.begin_nested(IFLA_LINKINFO);
    answer.put_string(IFLA_INFO_KIND, "veth");
    answer.end_nested(nested);
    auto link = MUST(sys::rtnl::parse_link(answer.bytes()));
    ASSERT_TRUE(link);
    EXPECT_EQ(link->index, 4);
    EXPECT_EQ(link->name, "veth0");
    EXPECT_EQ(link->kind, "veth");
    EXPECT_EQ(link->master, 2);
    EXPECT_TRUE(link->up);

    sys::NetlinkMessage lo(RTM_NEWLINK, NLM_F_MULTI);
    ifinfomsg lo_info {};
    lo_info.ifi_index = 1;
    lo.put_header(lo_info);
    lo.put_string(IFLA_IFNAME, "lo");
    auto plain = MUST(sys::rtnl::parse_link(lo.bytes()));
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->kind, "");
    EXPECT_EQ(plain->master, 0);
    EXPECT_FALSE(plain->up);

    // Another type is not a link; a truncated link is an error, never a read past the end.
    EXPECT_FALSE(MUST(sys::rtnl::parse_link(sys::rtnl::delete_link_request(1).bytes())));
    auto cut = answer.bytes();
    cut.resize(cut.size() - 6);
    EXPECT_FALSE(sys::rtnl::parse_link(cut));
    // An IFLA_MASTER of the wrong size names the link.
    sys::NetlinkMessage odd(RTM_NEWLINK, 0);
    odd.put_header(info);
    odd.put_string(IFLA_IFNAME, "odd0");
    odd.put_u8(IFLA_MASTER, 1);
    auto refused = sys::rtnl::parse_link(odd.bytes());
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message().find("link odd0: IFLA_MASTER"), std::string::npos) << refused.error().message();
}

TEST(Rtnl, ParsesAddressAnswers)
{
    auto answer = [](uint8_t family, std::optional<in_addr_t> local, std::optional<in_addr_t> peer) {
        sys::NetlinkMessage m(RTM_NEWADDR, NLM_F_MULTI);
        ifaddrmsg info {};
        info.ifa_family = family;
        info.ifa_prefixlen = 24;
        info.ifa_index = 3;
        m.put_header(info);
        if (peer)
            m.put(IFA_ADDRESS, &*peer, sizeof *peer);
        if (local)
            m.put(IFA_LOCAL, &*local, sizeof *local);
        return m;
    };
    // Point-to-point: IFA_LOCAL is ours, IFA_ADDRESS the peer's.
    auto ptp = MUST(sys::rtnl::parse_ipv4_address(answer(AF_INET, address("10.0.0.1"), address("10.0.0.2")).bytes()));
    ASSERT_TRUE(ptp);
    EXPECT_EQ(ptp->address, address("10.0.0.1"));
    EXPECT_EQ(ptp->prefix, 24);
    EXPECT_EQ(ptp->index, 3);
    auto only_address = MUST(sys::rtnl::parse_ipv4_address(answer(AF_INET, {}, address("10.0.0.9")).bytes()));
    ASSERT_TRUE(only_address);
    EXPECT_EQ(only_address->address, address("10.0.0.9"));
    // Other families and message types are skipped.
    EXPECT_FALSE(MUST(sys::rtnl::parse_ipv4_address(answer(AF_INET6, {}, {}).bytes())));
    EXPECT_FALSE(MUST(sys::rtnl::parse_ipv4_address(sys::rtnl::links_request().bytes())));
}

TEST(Rtnl, MessageNamesForErrors)
{
    EXPECT_EQ(sys::netlink_message_name(RTM_NEWLINK), "RTM_NEWLINK");
    EXPECT_EQ(sys::netlink_message_name(RTM_GETNSID), "RTM_GETNSID");
    EXPECT_EQ(sys::netlink_message_name(999), "rtnetlink message 999");
}
