// The host-side steps of container networking, each one small and idempotent where it can
// be: network namespace files, sysctls, iptables rules (iptables is exec'd, as podman's
// netavark once did; its nft backend is fine), links by name, network.json.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"
#include "base/fd.h"
#include "runtime/network_plan.h"

namespace cryo::sys {
class RtNetlink;
}

namespace cryo::runtime::net {

// A fresh network namespace bind-mounted on `path` (created empty first); returns an fd of
// it. The calling thread's own namespace is unchanged.
Result<Fd> create_netns_file(std::string const& path);
// Unmounts and removes it; nothing to do when it is absent. Logs what fails.
void remove_netns_file(std::string const& path);

Result<void> bring_up_loopback(sys::RtNetlink& netlink);

// /proc/sys/<name>.
Result<std::string> read_sysctl(std::string const& name);
Result<void> write_sysctl(std::string const& name, std::string_view value);

// Adds the rule (its -A form) unless `iptables -C` finds it already there.
Result<void> ensure_rule(Rule const& rule);
// Deletes every copy of the rule; logs (debug) when there is none.
void remove_rule(Rule const& rule);

// Deletes the host link `name` if it exists. Logs what fails.
void delete_link_named(std::string const& name);

// Writes <state_dir>/network.json atomically.
Result<void> write_record(std::string const& state_dir, NetworkRecord const& record);

} // namespace cryo::runtime::net
