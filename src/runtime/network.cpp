// Setup and release of container networks (see network.h), and the host-wide bookkeeping:
// leases, port reservations, bridge records, under one flock.
#include "runtime/network.h"

#include <climits>
#include <cstdlib>
#include <sched.h>
#include <sys/mount.h>

#include "base/log.h"
#include "base/scope_guard.h"
#include "runtime/network_host.h"
#include "sys/file.h"
#include "sys/fsops.h"
#include "sys/rtnl.h"
#include "sys/run_tool.h"

namespace cryo::runtime::net {

namespace {

std::string env_or(char const* name, std::string fallback)
{
    char const* value = ::getenv(name);
    return value && *value ? std::string(value) : fallback;
}

// Lease owners and the namespace path outlive this process and its cwd, and --root may be
// relative or reach the dir by another way: compare and record the canonical path.
std::string canonical(std::string const& path)
{
    char buffer[PATH_MAX];
    if (::realpath(path.c_str(), buffer))
        return buffer;
    return path; // gone already: nothing of it can be found by another name either
}

// Host-wide network state; every method expects the lock to be held.
struct Registry {
    std::string root;

    std::string bridge_dir(std::string const& bridge) const { return root + "/bridges/" + bridge; }
    std::string bridge_record(std::string const& bridge) const { return bridge_dir(bridge) + "/bridge.json"; }
    std::string leases_dir(std::string const& bridge) const { return bridge_dir(bridge) + "/leases"; }
    std::string ports_dir() const { return root + "/ports"; }
    std::string saved_ip_forward() const { return root + "/ip_forward.saved"; }
};

Result<Fd> lock_registry(Registry const& registry)
{
    TRY(sys::mkdir_all(registry.root, 0700).context("create {}", registry.root));
    auto path = registry.root + "/lock";
    auto lock = TRY(sys::open(path, O_RDWR | O_CREAT, 0600).context("open {}", path));
    TRY(sys::flock(lock, sys::LockKind::Exclusive).context("lock {}", path));
    return lock;
}

// A lease or reservation file holds the state dir of its owner. It is live while that dir
// exists: a container killed without `delete` (its state dir gone) frees its address.
bool owner_alive(std::string const& owner)
{
    return !owner.empty() && sys::exists(owner);
}

std::string owner_of(std::string const& path)
{
    auto text = sys::read_file(path);
    return text ? *text : std::string();
}

// Leases of `bridge` held by live containers; stale ones are removed on the way.
std::set<Ipv4> live_leases(Registry const& registry, std::string const& bridge)
{
    std::set<Ipv4> taken;
    auto dir = registry.leases_dir(bridge);
    auto names = sys::list_dir(dir);
    if (!names)
        return taken;
    for (auto const& name : *names) {
        auto address = Ipv4::parse(name);
        if (!address)
            continue;
        auto path = dir + "/" + name;
        if (owner_alive(owner_of(path)))
            taken.insert(*address);
        else
            (void)sys::unlink(path);
    }
    return taken;
}

Result<void> claim(std::string const& path, std::string const& owner, std::string_view what)
{
    auto current = owner_of(path);
    if (owner_alive(current) && current != owner)
        return Error::format("{} is already taken by {}", what, current);
    TRY(sys::write_file_atomic(path, owner, 0600).context("write {}", path));
    return {};
}

void release_claim(std::string const& path, std::string const& owner)
{
    if (!path.empty() && owner_of(path) == owner)
        (void)sys::unlink(path);
}

void collect_bridges(Registry const& registry);

// Makes sure the bridge exists with its address, rules and sysctls. bridge.json is written
// before the first change and every step is idempotent, so a create killed half way is
// completed by the next one (and undone by the next release).
Result<void> ensure_bridge(Registry const& registry, NetworkConfig const& config, sys::RtNetlink& host)
{
    auto record_path = registry.bridge_record(config.bridge);
    std::optional<BridgeRecord> record;
    if (sys::exists(record_path)) {
        auto text = TRY(sys::read_file(record_path));
        record = TRY(bridge_record_from_json(text).context("{}", record_path));
    }
    if (record && record->subnet != config.subnet && live_leases(registry, config.bridge).empty()) {
        // A leftover no container holds (its containers went without delete): remove it
        // and make the bridge anew with the subnet asked for.
        collect_bridges(registry);
        record.reset();
    }
    auto existing = TRY(sys::rtnl::link(host, config.bridge).context("look up link {}", config.bridge));

    if (record) {
        if (record->subnet != config.subnet)
            return Error::format("bridge {} serves subnet {}, not {}", config.bridge, record->subnet.str(),
                                 config.subnet.str());
    } else {
        if (existing)
            return Error::format("bridge {}: a link of that name exists and cryo did not make it ({} is missing)",
                                 config.bridge, record_path);
        // A subnet that overlaps another cryo bridge or any host address would make
        // addresses ambiguous; refuse it here, under the lock, so two creates cannot race.
        auto bridges = sys::list_dir(registry.root + "/bridges");
        for (auto const& name : bridges ? *bridges : std::vector<std::string>()) {
            auto other = sys::read_file(registry.bridge_record(name));
            if (!other)
                continue;
            auto other_record = bridge_record_from_json(*other);
            if (other_record && other_record->subnet.overlaps(config.subnet))
                return Error::format("subnet {} overlaps {} of bridge {}", config.subnet.str(),
                                     other_record->subnet.str(), name);
        }
        for (auto const& address : TRY(sys::rtnl::ipv4_addresses(host).context("list host addresses"))) {
            auto held = Subnet { .base = {}, .prefix = address.prefix };
            held.base = Ipv4 { ntohl(address.address) & held.mask() };
            if (held.overlaps(config.subnet))
                return Error::format("subnet {} overlaps host address {}/{}", config.subnet.str(),
                                     Ipv4 { ntohl(address.address) }.str(), address.prefix);
        }
        record = BridgeRecord { .name = config.bridge, .subnet = config.subnet, .created = true, .rules = {} };
        if (!sys::find_tool("iptables").empty())
            record->rules = bridge_rules(config);
        TRY(sys::mkdir_all(registry.leases_dir(config.bridge), 0700).context("create bridge dir"));
        TRY(sys::write_file_atomic(record_path, bridge_record_to_json(*record), 0600).context("write {}", record_path));
    }

    if (!existing) {
        TRY(sys::rtnl::add_bridge(host, config.bridge));
        existing = TRY(sys::rtnl::link(host, config.bridge));
        if (!existing)
            return Error::format("bridge {} vanished after it was created", config.bridge);
    }
    auto addresses = TRY(sys::rtnl::ipv4_addresses(host).context("list host addresses"));
    bool has_gateway = false;
    for (auto const& address : addresses)
        if (address.index == existing->index && ntohl(address.address) == config.subnet.gateway().value)
            has_gateway = true;
    if (!has_gateway)
        TRY(sys::rtnl::add_ipv4_address(host, existing->index, config.subnet.gateway().network_order(),
                                        config.subnet.prefix)
                .context("bridge {}: add {}", config.bridge, config.subnet.gateway().str()));
    // route_localnet lets a connection to 127.0.0.1:HOSTPORT, DNATed to a container, leave
    // through the bridge (the kernel drops loopback sources on other links without it).
    TRY(write_sysctl(fmt::format("net/ipv4/conf/{}/route_localnet", config.bridge), "1"));
    if (!existing->up)
        TRY(sys::rtnl::set_up(host, existing->index).context("bridge {}", config.bridge));

    // Forwarding is global: the value before the first cryo bridge is saved and put back
    // when the last one goes.
    if (!sys::exists(registry.saved_ip_forward())) {
        auto old = TRY(read_sysctl("net/ipv4/ip_forward"));
        TRY(sys::write_file_atomic(registry.saved_ip_forward(), old, 0600));
    }
    TRY(write_sysctl("net/ipv4/ip_forward", "1"));
    for (auto const& rule : record->rules)
        TRY(ensure_rule(rule).context("bridge {}", config.bridge));
    return {};
}

// Removes every bridge on which no live container holds an address, and restores
// ip_forward when none is left.
void collect_bridges(Registry const& registry)
{
    auto names = sys::list_dir(registry.root + "/bridges");
    bool any_left = false;
    for (auto const& name : names ? *names : std::vector<std::string>()) {
        if (!live_leases(registry, name).empty()) {
            any_left = true;
            continue;
        }
        auto text = sys::read_file(registry.bridge_record(name));
        auto record = text ? bridge_record_from_json(*text) : Result<BridgeRecord>(Error::make("no bridge.json"));
        if (record) {
            for (auto const& rule : record->rules)
                remove_rule(rule);
            if (record->created)
                delete_link_named(record->name);
        } else {
            log::warn("network: bridge dir {}: {}", registry.bridge_dir(name), record.error().message());
        }
        if (auto removed = sys::remove_all(registry.bridge_dir(name)); !removed)
            log::warn("network: {}", removed.error().message());
    }
    if (!any_left && sys::exists(registry.saved_ip_forward())) {
        auto old = sys::read_file(registry.saved_ip_forward());
        if (old && (*old == "0\n" || *old == "1\n" || *old == "0" || *old == "1")) {
            if (auto written = write_sysctl("net/ipv4/ip_forward", *old); !written)
                log::warn("network: restore ip_forward: {}", written.error().message());
        }
        (void)sys::unlink(registry.saved_ip_forward());
    }
}

Result<std::string> setup_bridge(Registry const& registry, SetupInput const& input, NetworkRecord& record)
{
    auto const& config = input.config;
    if (input.address && !config.subnet.contains(*input.address))
        return Error::format("address {} is not in subnet {}", input.address->str(), config.subnet.str());
    if (!input.publish.empty() && sys::find_tool("iptables").empty())
        return Error::make("--publish: iptables not found (install the iptables package)");
    auto host = TRY(sys::RtNetlink::open().context("rtnetlink"));
    TRY(ensure_bridge(registry, config, host));

    if (input.address) {
        // A fixed address (ip=, or a restore keeping its address) held by a live container:
        // say which, the one thing the user needs to decide what to do.
        auto owner = owner_of(registry.leases_dir(config.bridge) + "/" + input.address->str());
        if (owner_alive(owner) && owner != input.state_dir)
            return Error::format("address {} is already in use by the container at {}", input.address->str(), owner);
    }
    auto address = TRY(allocate_address(config.subnet, live_leases(registry, config.bridge), input.address));
    record.bridge = config.bridge;
    record.subnet = config.subnet;
    record.address = address;
    record.mac = mac_string(mac_for(address));
    record.veth = veth_name(input.state_dir);
    record.lease = registry.leases_dir(config.bridge) + "/" + address.str();
    record.dns = input.dns;
    for (auto const& mapping : input.publish) {
        auto reservation
            = fmt::format("{}/{}-{}", registry.ports_dir(), protocol_name(mapping.protocol), mapping.host_port);
        record.published.push_back(
            { .mapping = mapping, .reservation = reservation, .rules = publish_rules(mapping, address, record.veth) });
    }
    // The record first: from here on, release() can undo whatever follows.
    TRY(write_record(input.state_dir, record));

    TRY(claim(record.lease, input.state_dir, fmt::format("address {}", address.str())));
    TRY(sys::mkdir_all(registry.ports_dir(), 0700));
    for (auto const& port : record.published)
        TRY(claim(port.reservation, input.state_dir,
                  fmt::format("host port {}/{}", port.mapping.host_port, protocol_name(port.mapping.protocol))));

    auto netns = TRY(create_netns_file(record.netns));
    auto bridge = TRY(sys::rtnl::link(host, config.bridge));
    if (!bridge)
        return Error::format("bridge {} vanished", config.bridge);
    TRY(sys::rtnl::add_veth(host, record.veth, "eth0", netns, mac_for(address)));
    auto veth = TRY(sys::rtnl::link(host, record.veth));
    if (!veth)
        return Error::format("veth {} vanished after it was created", record.veth);
    TRY(sys::rtnl::set_master(host, veth->index, bridge->index).context("veth {}", record.veth));
    TRY(sys::rtnl::set_up(host, veth->index).context("veth {}", record.veth));

    auto inside = TRY(sys::RtNetlink::open_in(netns).context("rtnetlink in {}", record.netns));
    TRY(bring_up_loopback(inside));
    auto eth0 = TRY(sys::rtnl::link(inside, "eth0"));
    if (!eth0)
        return Error::make("eth0 missing in the container's network namespace");
    TRY(sys::rtnl::add_ipv4_address(inside, eth0->index, address.network_order(), config.subnet.prefix)
            .context("eth0"));
    TRY(sys::rtnl::set_up(inside, eth0->index).context("eth0"));
    TRY(sys::rtnl::add_ipv4_default_route(inside, config.subnet.gateway().network_order())
            .context("via {}", config.subnet.gateway().str()));

    for (auto const& port : record.published)
        for (auto const& rule : port.rules)
            TRY(ensure_rule(rule).context("publish {}:{}/{}", port.mapping.host_port, port.mapping.container_port,
                                          protocol_name(port.mapping.protocol)));
    return record.netns;
}

} // namespace

std::string network_state_dir()
{
    return env_or("CRYO_NETWORK_STATE_DIR", "/run/cryo/network");
}

std::string network_config_path()
{
    return env_or("CRYO_NETWORK_CONFIG", "/etc/cryo/network.conf");
}

Result<std::string> setup(SetupInput const& given)
{
    auto input = given;
    input.state_dir = canonical(given.state_dir);
    NetworkRecord record;
    record.mode = input.mode;
    if (input.mode == Mode::Host || input.mode == Mode::Spec) {
        TRY(write_record(input.state_dir, record));
        return std::string();
    }
    record.netns = input.state_dir + "/netns";
    if (input.mode == Mode::None) {
        TRY(write_record(input.state_dir, record));
        auto netns = TRY(create_netns_file(record.netns));
        auto inside = TRY(sys::RtNetlink::open_in(netns).context("rtnetlink in {}", record.netns));
        TRY(bring_up_loopback(inside));
        return record.netns;
    }
    Registry registry { .root = network_state_dir() };
    auto lock = TRY(lock_registry(registry));
    auto result = setup_bridge(registry, input, record);
    if (result.is_error() && !sys::exists(input.state_dir + "/network.json")) {
        // Failed before anything was recorded for this container (the bridge may have
        // been made for it): drop a bridge that nobody holds.
        collect_bridges(registry);
    }
    return result;
}

Result<NetworkFlags> recorded_flags(std::string const& state_dir)
{
    auto path = state_dir + "/network.json";
    auto text = sys::read_file(path);
    if (!text) {
        if (text.error().is_errno(ENOENT))
            return NetworkFlags {};
        return text.release_error();
    }
    auto record = TRY(record_from_json(*text).context("{}", path));
    return flags_to_recreate(record);
}

void release(std::string const& given_state_dir)
{
    auto state_dir = canonical(given_state_dir);
    auto path = state_dir + "/network.json";
    auto text = sys::read_file(path);
    if (!text) {
        if (!text.error().is_errno(ENOENT))
            log::warn("network: {}", text.error().message());
        return;
    }
    auto record = record_from_json(*text);
    if (!record) {
        log::warn("network: {}: {}", path, record.error().message());
        return;
    }
    if (record->mode != Mode::Bridge) {
        remove_netns_file(record->netns);
        (void)sys::unlink(path);
        return;
    }
    Registry registry { .root = network_state_dir() };
    auto lock = lock_registry(registry);
    if (!lock)
        log::warn("network: {}", lock.error().message()); // go on: leaving things is worse
    for (auto const& port : record->published) {
        for (auto const& rule : port.rules)
            remove_rule(rule);
        release_claim(port.reservation, state_dir);
    }
    // Deleting one end of a veth pair deletes both; the namespace may already be gone too.
    if (!record->veth.empty())
        delete_link_named(record->veth);
    remove_netns_file(record->netns);
    release_claim(record->lease, state_dir);
    (void)sys::unlink(path);
    collect_bridges(registry);
}

} // namespace cryo::runtime::net
