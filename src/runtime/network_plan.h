// The network of a container as plain data (no syscalls; unit-tested): parsing --network and
// --publish, the configuration (default < config file < environment < --network options),
// address allocation in a subnet, names (host veth, MAC), the iptables rules of a published
// port and of a bridge, and network.json, the record from which release undoes everything.
// Invariant: a NetworkRecord names everything set up for one container, and only that.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace cryo::runtime::net {

struct Ipv4 {
    uint32_t value { 0 }; // host byte order: 10.89.0.1 is 0x0a590001

    static std::optional<Ipv4> parse(std::string_view text);
    std::string str() const;
    uint32_t network_order() const; // for sockets and netlink
    auto operator<=>(Ipv4 const&) const = default;
};

struct Subnet {
    Ipv4 base; // the network address: no host bits set
    int prefix { 0 }; // 8..30, so there is a gateway and at least one container address

    // "10.89.0.0/24"; host bits set ("10.89.0.5/24") is an error, not silently masked.
    static Result<Subnet> parse(std::string_view text);
    std::string str() const;
    uint32_t mask() const;
    bool contains(Ipv4 address) const;
    bool overlaps(Subnet const& other) const;
    Ipv4 gateway() const; // the first host address, held by the bridge
    Ipv4 broadcast() const; // the last address, never handed out
    auto operator<=>(Subnet const&) const = default;
};

enum class Mode { Spec, None, Host, Bridge }; // Spec: as config.json says (no --network)

std::string_view mode_name(Mode mode);

// --network none|host|bridge[:key=value,...] with keys bridge (the host bridge name), subnet,
// ip (a fixed address inside the subnet, e.g. to keep one across a restore), dns (a name
// server for the container's /etc/resolv.conf instead of the host's; repeatable).
struct NetworkRequest {
    Mode mode { Mode::Spec };
    std::optional<std::string> bridge;
    std::optional<Subnet> subnet;
    std::optional<Ipv4> address;
    std::vector<Ipv4> dns;
};
Result<NetworkRequest> parse_network_option(std::string_view value);

struct NetworkConfig {
    std::string bridge { "cryo0" };
    Subnet subnet { .base = { 0x0a590000 }, .prefix = 24 }; // 10.89.0.0/24 (podman uses 10.88/16)
};

// The configuration of one container: the built-in default, overridden by the config file's
// "bridge = NAME" / "subnet = CIDR" lines (text, empty when there is no file), then by the
// environment (CRYO_NETWORK_BRIDGE, CRYO_NETWORK_SUBNET; nullopt when unset), then by
// --network bridge:... options.
struct ConfigSources {
    std::string_view file_text {};
    std::string_view file_name {}; // for error messages
    std::optional<std::string> env_bridge {};
    std::optional<std::string> env_subnet {};
};
Result<NetworkConfig> resolve_config(ConfigSources const& sources, NetworkRequest const& request);

// A network interface name the kernel accepts: 1..15 bytes, no '/', ':', space; not . or ..
bool valid_link_name(std::string_view name);

enum class Protocol { Tcp, Udp };
std::string_view protocol_name(Protocol protocol);

struct PortMapping {
    uint16_t host_port { 0 };
    uint16_t container_port { 0 };
    Protocol protocol { Protocol::Tcp };
    auto operator<=>(PortMapping const&) const = default;
};
// "18080:80", "18080:80/tcp", "5353:53/udp".
Result<PortMapping> parse_publish(std::string_view value);
// All of --publish; the same host port and protocol twice is an error.
Result<std::vector<PortMapping>> parse_publish_list(std::vector<std::string> const& values);

// The lowest free host address of `subnet` (not the network address, the gateway, the
// broadcast address or one in `taken`), or `wanted` if it is free and a host address.
Result<Ipv4> allocate_address(Subnet const& subnet, std::set<Ipv4> const& taken, std::optional<Ipv4> wanted);

// "vcr" + 10 hex digits of a hash of the state dir: unique per container, under 16 bytes.
std::string veth_name(std::string_view state_dir);
// A locally administered unicast MAC derived from the address (0a:58:a.b.c.d, as CNI does):
// the same address always has the same MAC, so neighbours' ARP caches stay right across a
// restore.
std::array<uint8_t, 6> mac_for(Ipv4 address);
std::string mac_string(std::array<uint8_t, 6> const& mac);

using Rule = std::vector<std::string>; // iptables arguments after "iptables", with -A
// The rules publishing `mapping` to `address`: DNAT of the host's local addresses (from
// other hosts: PREROUTING; from the host itself, 127.0.0.1 included: OUTPUT) and a
// MASQUERADE so that a connection from 127.0.0.1 gets answers. `tag` goes in a comment.
std::vector<Rule> publish_rules(PortMapping const& mapping, Ipv4 address, std::string const& tag);
// What a bridge needs once: outbound NAT of its subnet and FORWARD accepts for hosts whose
// FORWARD policy is DROP.
std::vector<Rule> bridge_rules(NetworkConfig const& config);
// The same rule with -A replaced by -D (to delete), or -C (to check).
Rule rule_with_action(Rule rule, std::string_view action);

struct PublishedPort {
    PortMapping mapping;
    std::string reservation; // the file that reserves the host port for this container
    std::vector<Rule> rules;
    bool operator==(PublishedPort const&) const = default;
};

// network.json in the container's state dir.
struct NetworkRecord {
    Mode mode { Mode::Spec };
    std::string netns {}; // the bind-mounted namespace file the spec joins
    // Bridge mode only:
    std::string bridge {};
    std::optional<Subnet> subnet {};
    Ipv4 address {};
    std::string mac {};
    std::string veth {}; // host end
    std::string lease {}; // the lease file of the address
    std::vector<PublishedPort> published {};
    std::vector<Ipv4> dns {}; // dns= servers asked for (empty: the host's, re-read at each setup)

    bool operator==(NetworkRecord const&) const = default;
};
std::string record_to_json(NetworkRecord const& record);
Result<NetworkRecord> record_from_json(std::string_view text);

// A bridged container's /etc/resolv.conf, written from the host's as podman does: the host's
// search/domain/options lines, and its name servers except loopback ones (127.0.0.0/8, ::1:
// inside the container they would be its own loopback), or `servers` instead when given.
struct ResolvConf {
    std::string text;
    int nameservers { 0 }; // how many the text names
};
ResolvConf container_resolv_conf(std::string_view host_text, std::vector<Ipv4> const& servers);

// The --network and --publish values that set the same network up again, with the bridge,
// subnet and address pinned (so also the MAC): what a restore, or a re-create of a
// checkpointed container, passes to keep the container reachable where it was.
struct NetworkFlags {
    std::string network; // "" for a container that kept its spec's namespaces
    std::vector<std::string> publish;
    bool operator==(NetworkFlags const&) const = default;
};
NetworkFlags flags_to_recreate(NetworkRecord const& record);

// The per-bridge record under the network state dir: what cryo set up for the bridge itself
// and must undo when the last container leaves it.
struct BridgeRecord {
    std::string name;
    Subnet subnet;
    bool created { false }; // false: the bridge existed before cryo; never deleted by cryo
    std::vector<Rule> rules;
    bool operator==(BridgeRecord const&) const = default;
};
std::string bridge_record_to_json(BridgeRecord const& record);
Result<BridgeRecord> bridge_record_from_json(std::string_view text);

} // namespace cryo::runtime::net
