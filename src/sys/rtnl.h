// A small rtnetlink (NETLINK_ROUTE) client for the link, address and route changes of cryo's
// bridge networking. A socket belongs to the network namespace it was opened in, for its whole
// life: open_in(netns) opens one there and returns the calling thread to where it was. Every
// change waits for the kernel's ack, so a failure comes back as the kernel's errno.
// (src/sys/netlink.h is the checkpoint engine's netlink code; this one only configures.)
#pragma once

#include <array>
#include <cstdint>
#include <netinet/in.h>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/fd.h"

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

class Rtnl {
public:
    // A socket in the calling thread's network namespace.
    static Result<Rtnl> open();
    // A socket in the network namespace `netns` (an fd of a /proc/PID/ns/net-like file).
    static Result<Rtnl> open_in(FdRef netns);

    Result<std::vector<LinkInfo>> links();
    Result<std::optional<LinkInfo>> link(std::string const& name);
    Result<std::vector<Ipv4Address>> ipv4_addresses();

    Result<void> add_bridge(std::string const& name);
    // A veth pair: `name` here, `peer_name` created directly in `peer_netns` with `peer_mac`.
    Result<void> add_veth(std::string const& name, std::string const& peer_name, FdRef peer_netns,
                          MacAddress const& peer_mac);
    Result<void> set_master(int index, int master_index);
    Result<void> set_up(int index);
    Result<void> delete_link(int index);
    Result<void> add_ipv4_address(int index, in_addr_t address, int prefix);
    Result<void> add_ipv4_default_route(in_addr_t gateway);

private:
    explicit Rtnl(Fd socket)
        : m_socket(std::move(socket))
    {
    }
    // Sends one request (NLM_F_ACK added) and waits for its ack.
    Result<void> transact(std::vector<uint8_t>& message);
    // Sends one NLM_F_DUMP request; returns each reply message (header included).
    Result<std::vector<std::vector<uint8_t>>> dump(std::vector<uint8_t>& message);
    Result<void> send(std::vector<uint8_t>& message);

    Fd m_socket;
    uint32_t m_sequence { 0 };
};

} // namespace cryo::sys
