// Link, address and route operations of cryo's bridge networking, a thin layer over
// netlink.h's rtnetlink socket (RtNetlink: one socket, one ack and dump loop, one open_in).
// Requests are built and answers parsed by pure functions (unit-tested without a kernel);
// each operation sends one request on the caller's socket, in that socket's network
// namespace, and waits for the kernel's ack. Errors name what was asked and carry the
// kernel's reason: "create bridge cryo0: RTM_NEWLINK: File exists".
#pragma once

#include <array>
#include <cstdint>
#include <netinet/in.h>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/fd.h"
#include "sys/netlink.h"

namespace cryo::sys {

struct LinkInfo {
    int index { 0 };
    std::string name;
    std::string kind; // IFLA_INFO_KIND: "bridge", "veth", "" when the driver reports none
    int master { 0 }; // ifindex of the bridge it is a port of, 0 if none
    bool up { false };
};

struct Ipv4Address {
    int index { 0 }; // ifindex of the link holding it
    in_addr_t address { 0 }; // network byte order
    int prefix { 0 };
};

using MacAddress = std::array<uint8_t, 6>;

namespace rtnl {

// ---- requests, as data ----
NetlinkMessage links_request(); // RTM_GETLINK dump
NetlinkMessage ipv4_addresses_request(); // RTM_GETADDR dump of AF_INET
NetlinkMessage add_bridge_request(std::string const& name);
// A veth pair: `name` in the socket's namespace, `peer_name` created directly in
// `peer_netns` (IFLA_NET_NS_FD: the fd number travels in the message) with `peer_mac`.
NetlinkMessage add_veth_request(std::string const& name, std::string const& peer_name, FdRef peer_netns,
                                MacAddress const& peer_mac);
NetlinkMessage set_master_request(int index, int master_index);
NetlinkMessage set_up_request(int index);
NetlinkMessage delete_link_request(int index);
// With IFA_BROADCAST (the subnet's last address) below /31.
NetlinkMessage add_ipv4_address_request(int index, in_addr_t address, int prefix);
NetlinkMessage add_ipv4_default_route_request(in_addr_t gateway); // main table, RTPROT_BOOT

// ---- answers (a whole message, nlmsghdr included); nullopt: another type or family ----
Result<std::optional<LinkInfo>> parse_link(std::span<uint8_t const> message);
// IFA_LOCAL (the interface's own address), else IFA_ADDRESS.
Result<std::optional<Ipv4Address>> parse_ipv4_address(std::span<uint8_t const> message);

// ---- operations on a socket ----
Result<std::vector<LinkInfo>> links(RtNetlink& netlink);
// nullopt: no link of that name.
Result<std::optional<LinkInfo>> link(RtNetlink& netlink, std::string const& name);
Result<std::vector<Ipv4Address>> ipv4_addresses(RtNetlink& netlink);

Result<void> add_bridge(RtNetlink& netlink, std::string const& name);
Result<void> add_veth(RtNetlink& netlink, std::string const& name, std::string const& peer_name, FdRef peer_netns,
                      MacAddress const& peer_mac);
Result<void> set_master(RtNetlink& netlink, int index, int master_index);
Result<void> set_up(RtNetlink& netlink, int index);
Result<void> delete_link(RtNetlink& netlink, int index);
Result<void> add_ipv4_address(RtNetlink& netlink, int index, in_addr_t address, int prefix);
Result<void> add_ipv4_default_route(RtNetlink& netlink, in_addr_t gateway);

} // namespace rtnl

} // namespace cryo::sys
