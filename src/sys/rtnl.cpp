#include "sys/rtnl.h"

#include <cstring>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sys/socket.h>

namespace cryo::sys::rtnl {

namespace {

// The nlmsghdr's type, or 0 for a message too short to have one.
uint16_t type_of(std::span<uint8_t const> message)
{
    nlmsghdr header {};
    if (message.size() < sizeof header)
        return 0;
    std::memcpy(&header, message.data(), sizeof header);
    return header.nlmsg_type;
}

template<typename T>
T family_header(ParsedNetlinkMessage const& parsed)
{
    T value;
    std::memcpy(&value, parsed.header.data(), sizeof value);
    return value;
}

NetlinkMessage link_change(int index, unsigned flags = 0, unsigned change = 0)
{
    NetlinkMessage request(RTM_NEWLINK, 0);
    ifinfomsg info {};
    info.ifi_index = index;
    info.ifi_flags = flags;
    info.ifi_change = change;
    request.put_header(info);
    return request;
}

} // namespace

NetlinkMessage links_request()
{
    NetlinkMessage request(RTM_GETLINK, 0);
    request.put_header(ifinfomsg {});
    return request;
}

NetlinkMessage ipv4_addresses_request()
{
    NetlinkMessage request(RTM_GETADDR, 0);
    ifaddrmsg filter {};
    filter.ifa_family = AF_INET;
    request.put_header(filter);
    return request;
}

NetlinkMessage add_bridge_request(std::string const& name)
{
    NetlinkMessage request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    request.put_header(ifinfomsg {});
    request.put_string(IFLA_IFNAME, name);
    auto info = request.begin_nested(IFLA_LINKINFO);
    request.put_string(IFLA_INFO_KIND, "bridge");
    request.end_nested(info);
    return request;
}

NetlinkMessage add_veth_request(std::string const& name, std::string const& peer_name, FdRef peer_netns,
                                MacAddress const& peer_mac)
{
    NetlinkMessage request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    request.put_header(ifinfomsg {});
    request.put_string(IFLA_IFNAME, name);
    auto info = request.begin_nested(IFLA_LINKINFO);
    request.put_string(IFLA_INFO_KIND, "veth");
    auto data = request.begin_nested(IFLA_INFO_DATA);
    // VETH_INFO_PEER carries a whole ifinfomsg and the peer's own attributes (veth(4)).
    auto peer = request.begin_nested(VETH_INFO_PEER);
    request.put_header(ifinfomsg {});
    request.put_string(IFLA_IFNAME, peer_name);
    request.put(IFLA_ADDRESS, peer_mac.data(), peer_mac.size());
    request.put_u32(IFLA_NET_NS_FD, static_cast<uint32_t>(peer_netns.get()));
    request.end_nested(peer);
    request.end_nested(data);
    request.end_nested(info);
    return request;
}

NetlinkMessage set_master_request(int index, int master_index)
{
    auto request = link_change(index);
    request.put_u32(IFLA_MASTER, static_cast<uint32_t>(master_index));
    return request;
}

NetlinkMessage set_up_request(int index)
{
    return link_change(index, IFF_UP, IFF_UP);
}

NetlinkMessage delete_link_request(int index)
{
    NetlinkMessage request(RTM_DELLINK, 0);
    ifinfomsg info {};
    info.ifi_index = index;
    request.put_header(info);
    return request;
}

NetlinkMessage add_ipv4_address_request(int index, in_addr_t address, int prefix)
{
    NetlinkMessage request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
    ifaddrmsg info {};
    info.ifa_family = AF_INET;
    info.ifa_prefixlen = static_cast<unsigned char>(prefix);
    info.ifa_index = static_cast<unsigned>(index);
    request.put_header(info);
    request.put(IFA_LOCAL, &address, sizeof address);
    request.put(IFA_ADDRESS, &address, sizeof address);
    if (prefix < 31) {
        uint32_t host_mask = prefix == 0 ? 0xffffffffu : (1u << (32 - prefix)) - 1;
        in_addr_t broadcast = address | htonl(host_mask);
        request.put(IFA_BROADCAST, &broadcast, sizeof broadcast);
    }
    return request;
}

NetlinkMessage add_ipv4_default_route_request(in_addr_t gateway)
{
    NetlinkMessage request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
    rtmsg route {};
    route.rtm_family = AF_INET;
    route.rtm_dst_len = 0;
    route.rtm_table = RT_TABLE_MAIN;
    route.rtm_protocol = RTPROT_BOOT;
    route.rtm_scope = RT_SCOPE_UNIVERSE;
    route.rtm_type = RTN_UNICAST;
    request.put_header(route);
    request.put(RTA_GATEWAY, &gateway, sizeof gateway);
    return request;
}

Result<std::optional<LinkInfo>> parse_link(std::span<uint8_t const> message)
{
    if (type_of(message) != RTM_NEWLINK)
        return std::optional<LinkInfo> {};
    auto parsed = TRY(parse_netlink_message(message, sizeof(ifinfomsg)));
    auto info = family_header<ifinfomsg>(parsed);
    auto const& a = parsed.attributes;
    LinkInfo link;
    link.index = info.ifi_index;
    link.up = (info.ifi_flags & IFF_UP) != 0;
    link.name = a.string(IFLA_IFNAME);
    if (a.has(IFLA_MASTER))
        link.master = static_cast<int>(TRY(a.u32(IFLA_MASTER).context("link {}: IFLA_MASTER", link.name)));
    if (a.has(IFLA_LINKINFO)) {
        auto linkinfo = TRY(parse_netlink_attributes(a.get(IFLA_LINKINFO)).context("link {}", link.name));
        link.kind = linkinfo.string(IFLA_INFO_KIND);
    }
    return std::optional<LinkInfo>(std::move(link));
}

Result<std::optional<Ipv4Address>> parse_ipv4_address(std::span<uint8_t const> message)
{
    if (type_of(message) != RTM_NEWADDR)
        return std::optional<Ipv4Address> {};
    auto parsed = TRY(parse_netlink_message(message, sizeof(ifaddrmsg)));
    auto info = family_header<ifaddrmsg>(parsed);
    if (info.ifa_family != AF_INET)
        return std::optional<Ipv4Address> {};
    Ipv4Address address;
    address.index = static_cast<int>(info.ifa_index);
    address.prefix = info.ifa_prefixlen;
    // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer's on point-to-point
    // links, and the same as IFA_LOCAL elsewhere.
    auto value = parsed.attributes.get(IFA_LOCAL);
    if (value.size() < sizeof address.address)
        value = parsed.attributes.get(IFA_ADDRESS);
    if (value.size() >= sizeof address.address)
        std::memcpy(&address.address, value.data(), sizeof address.address);
    return std::optional<Ipv4Address>(address);
}

Result<std::vector<LinkInfo>> links(RtNetlink& netlink)
{
    auto request = links_request();
    std::vector<LinkInfo> out;
    for (auto const& message : TRY(netlink.dump(request)))
        if (auto link = TRY(parse_link(message)))
            out.push_back(std::move(*link));
    return out;
}

Result<std::optional<LinkInfo>> link(RtNetlink& netlink, std::string const& name)
{
    // A dump and a filter: the few dozen links of a host are cheaper than a second code path.
    for (auto& link : TRY(links(netlink)))
        if (link.name == name)
            return std::optional<LinkInfo>(std::move(link));
    return std::optional<LinkInfo>();
}

Result<std::vector<Ipv4Address>> ipv4_addresses(RtNetlink& netlink)
{
    auto request = ipv4_addresses_request();
    std::vector<Ipv4Address> out;
    for (auto const& message : TRY(netlink.dump(request)))
        if (auto address = TRY(parse_ipv4_address(message)))
            out.push_back(*address);
    return out;
}

Result<void> add_bridge(RtNetlink& netlink, std::string const& name)
{
    auto request = add_bridge_request(name);
    return netlink.request(request).context("create bridge {}", name);
}

Result<void> add_veth(RtNetlink& netlink, std::string const& name, std::string const& peer_name, FdRef peer_netns,
                      MacAddress const& peer_mac)
{
    auto request = add_veth_request(name, peer_name, peer_netns, peer_mac);
    return netlink.request(request).context("create veth {}", name);
}

Result<void> set_master(RtNetlink& netlink, int index, int master_index)
{
    auto request = set_master_request(index, master_index);
    return netlink.request(request).context("attach link {} to {}", index, master_index);
}

Result<void> set_up(RtNetlink& netlink, int index)
{
    auto request = set_up_request(index);
    return netlink.request(request).context("set link {} up", index);
}

Result<void> delete_link(RtNetlink& netlink, int index)
{
    auto request = delete_link_request(index);
    return netlink.request(request).context("delete link {}", index);
}

Result<void> add_ipv4_address(RtNetlink& netlink, int index, in_addr_t address, int prefix)
{
    auto request = add_ipv4_address_request(index, address, prefix);
    return netlink.request(request).context("add address to link {}", index);
}

Result<void> add_ipv4_default_route(RtNetlink& netlink, in_addr_t gateway)
{
    auto request = add_ipv4_default_route_request(gateway);
    return netlink.request(request).context("add default route");
}

} // namespace cryo::sys::rtnl
