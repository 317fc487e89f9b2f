// Container networks on the host: the apply half of network_plan.h. setup() writes the
// container's network.json before it changes anything, so release() can undo a setup that
// failed half way from that record alone. Host-wide state (bridge records, address leases,
// port reservations, the saved ip_forward value) lives under network_state_dir() and is only
// read or changed under its flock, so concurrent creates and deletes never hand out one
// address twice or delete a bridge a container is joining.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "runtime/network_plan.h"

namespace cryo::runtime::net {

// /run/cryo/network, or $CRYO_NETWORK_STATE_DIR.
std::string network_state_dir();
// /etc/cryo/network.conf, or $CRYO_NETWORK_CONFIG.
std::string network_config_path();

struct SetupInput {
    Mode mode { Mode::None }; // None or Bridge
    std::string state_dir; // the container's
    NetworkConfig config;
    std::optional<Ipv4> address; // --network bridge:ip=
    std::vector<PortMapping> publish;
    std::vector<Ipv4> dns; // --network bridge:dns= (recorded; the resolv.conf is the caller's)
};

// Creates the container's network namespace file (with lo up) and, in bridge mode, the
// bridge if missing, a veth pair into it, an address, a default route and the published
// ports. Returns the path of the namespace file for the spec to join.
Result<std::string> setup(SetupInput const& input);

// The flags that re-create the network <state_dir>/network.json records (see
// flags_to_recreate); an empty NetworkFlags when the container has no network.json.
Result<NetworkFlags> recorded_flags(std::string const& state_dir);

// Undoes what <state_dir>/network.json records, then removes every bridge no container
// holds an address on. Never fails: what cannot be undone is logged.
void release(std::string const& state_dir);

} // namespace cryo::runtime::net
