#include "runtime/network_plan.h"

#include <algorithm>
#include <arpa/inet.h>
#include <charconv>
#include <nlohmann/json.hpp>

namespace cryo::runtime::net {

namespace {

std::string_view trim(std::string_view text)
{
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t' || text.front() == '\r'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r'))
        text.remove_suffix(1);
    return text;
}

template<typename T>
std::optional<T> parse_number(std::string_view text)
{
    T value {};
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || text.empty())
        return std::nullopt;
    return value;
}

} // namespace

std::optional<Ipv4> Ipv4::parse(std::string_view text)
{
    uint32_t value = 0;
    for (int part_index = 0; part_index < 4; ++part_index) {
        auto dot = text.find('.');
        // Three dots exactly: the last part runs to the end, the others end at a dot.
        if ((part_index < 3) != (dot != std::string_view::npos))
            return std::nullopt;
        auto part = text.substr(0, dot);
        // No leading zeros: "010" means octal to inet_aton and decimal to people.
        if (part.size() > 1 && part.front() == '0')
            return std::nullopt;
        auto number = parse_number<unsigned>(part);
        if (!number || *number > 255)
            return std::nullopt;
        value = (value << 8) | *number;
        if (dot != std::string_view::npos)
            text.remove_prefix(dot + 1);
    }
    return Ipv4 { value };
}

std::string Ipv4::str() const
{
    return fmt::format("{}.{}.{}.{}", value >> 24, (value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff);
}

uint32_t Ipv4::network_order() const
{
    return htonl(value);
}

Result<Subnet> Subnet::parse(std::string_view text)
{
    auto slash = text.find('/');
    if (slash == std::string_view::npos)
        return Error::format("subnet {:?}: not ADDRESS/PREFIX", text);
    auto base = Ipv4::parse(text.substr(0, slash));
    if (!base)
        return Error::format("subnet {:?}: {:?} is not an IPv4 address", text, text.substr(0, slash));
    auto prefix = parse_number<int>(text.substr(slash + 1));
    if (!prefix || *prefix < 8 || *prefix > 30)
        return Error::format("subnet {:?}: the prefix must be 8 to 30", text);
    Subnet subnet { .base = *base, .prefix = *prefix };
    if ((base->value & ~subnet.mask()) != 0)
        return Error::format("subnet {:?}: host bits set (the network is {}/{})", text,
                             Ipv4 { base->value & subnet.mask() }.str(), *prefix);
    return subnet;
}

std::string Subnet::str() const
{
    return fmt::format("{}/{}", base.str(), prefix);
}

uint32_t Subnet::mask() const
{
    return prefix == 0 ? 0 : ~uint32_t(0) << (32 - prefix);
}

bool Subnet::contains(Ipv4 address) const
{
    return (address.value & mask()) == base.value;
}

bool Subnet::overlaps(Subnet const& other) const
{
    // Two prefixes overlap exactly when the shorter one contains the other's base.
    return prefix <= other.prefix ? contains(other.base) : other.contains(base);
}

Ipv4 Subnet::gateway() const
{
    return Ipv4 { base.value + 1 };
}

Ipv4 Subnet::broadcast() const
{
    return Ipv4 { base.value | ~mask() };
}

std::string_view mode_name(Mode mode)
{
    switch (mode) {
    case Mode::Spec:
        return "spec";
    case Mode::None:
        return "none";
    case Mode::Host:
        return "host";
    case Mode::Bridge:
        return "bridge";
    }
    return "?";
}

bool valid_link_name(std::string_view name)
{
    if (name.empty() || name.size() > 15 || name == "." || name == "..")
        return false;
    for (char c : name)
        if (c == '/' || c == ':' || c == ' ' || c == '\t' || c == '\n' || c == '\0' || c == ',' || c == '=')
            return false;
    return true;
}

Result<NetworkRequest> parse_network_option(std::string_view value)
{
    NetworkRequest request;
    auto colon = value.find(':');
    auto mode = value.substr(0, colon);
    if (mode == "none")
        request.mode = Mode::None;
    else if (mode == "host")
        request.mode = Mode::Host;
    else if (mode == "bridge")
        request.mode = Mode::Bridge;
    else
        return Error::format("--network {:?}: not none, host or bridge", value);
    if (colon == std::string_view::npos)
        return request;
    if (request.mode != Mode::Bridge)
        return Error::format("--network {:?}: only bridge takes options", value);
    auto options = value.substr(colon + 1);
    while (!options.empty()) {
        auto comma = options.find(',');
        auto option = options.substr(0, comma);
        options = comma == std::string_view::npos ? std::string_view() : options.substr(comma + 1);
        auto equals = option.find('=');
        if (equals == std::string_view::npos)
            return Error::format("--network {:?}: option {:?} is not KEY=VALUE", value, option);
        auto key = option.substr(0, equals);
        auto text = option.substr(equals + 1);
        if (key == "bridge") {
            if (!valid_link_name(text))
                return Error::format("--network {:?}: {:?} is not a valid interface name", value, text);
            request.bridge = std::string(text);
        } else if (key == "subnet") {
            request.subnet = TRY(Subnet::parse(text).context("--network {:?}", value));
        } else if (key == "ip") {
            auto address = Ipv4::parse(text);
            if (!address)
                return Error::format("--network {:?}: {:?} is not an IPv4 address", value, text);
            request.address = address;
        } else if (key == "dns") {
            auto address = Ipv4::parse(text);
            if (!address)
                return Error::format("--network {:?}: dns {:?} is not an IPv4 address", value, text);
            if (std::find(request.dns.begin(), request.dns.end(), *address) == request.dns.end())
                request.dns.push_back(*address);
        } else {
            return Error::format("--network {:?}: unknown option {:?} (bridge, subnet, ip, dns)", value, key);
        }
    }
    return request;
}

Result<NetworkConfig> resolve_config(ConfigSources const& sources, NetworkRequest const& request)
{
    NetworkConfig config;
    auto text = sources.file_text;
    int line_number = 0;
    while (!text.empty()) {
        auto newline = text.find('\n');
        auto line = trim(text.substr(0, newline));
        text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
        ++line_number;
        if (line.empty() || line.front() == '#')
            continue;
        auto equals = line.find('=');
        if (equals == std::string_view::npos)
            return Error::format("{}:{}: not KEY = VALUE", sources.file_name, line_number);
        auto key = trim(line.substr(0, equals));
        auto value = trim(line.substr(equals + 1));
        if (key == "bridge") {
            if (!valid_link_name(value))
                return Error::format("{}:{}: {:?} is not a valid interface name", sources.file_name, line_number,
                                     value);
            config.bridge = std::string(value);
        } else if (key == "subnet") {
            config.subnet = TRY(Subnet::parse(value).context("{}:{}", sources.file_name, line_number));
        } else {
            return Error::format("{}:{}: unknown key {:?} (bridge, subnet)", sources.file_name, line_number, key);
        }
    }
    if (sources.env_bridge) {
        if (!valid_link_name(*sources.env_bridge))
            return Error::format("CRYO_NETWORK_BRIDGE {:?}: not a valid interface name", *sources.env_bridge);
        config.bridge = *sources.env_bridge;
    }
    if (sources.env_subnet)
        config.subnet = TRY(Subnet::parse(*sources.env_subnet).context("CRYO_NETWORK_SUBNET"));
    if (request.bridge)
        config.bridge = *request.bridge;
    if (request.subnet)
        config.subnet = *request.subnet;
    return config;
}

std::string_view protocol_name(Protocol protocol)
{
    return protocol == Protocol::Udp ? "udp" : "tcp";
}

Result<PortMapping> parse_publish(std::string_view value)
{
    PortMapping mapping;
    auto ports = value;
    if (auto slash = value.find('/'); slash != std::string_view::npos) {
        auto protocol = value.substr(slash + 1);
        if (protocol == "tcp")
            mapping.protocol = Protocol::Tcp;
        else if (protocol == "udp")
            mapping.protocol = Protocol::Udp;
        else
            return Error::format("--publish {:?}: protocol {:?} is not tcp or udp", value, protocol);
        ports = value.substr(0, slash);
    }
    auto colon = ports.find(':');
    if (colon == std::string_view::npos || ports.find(':', colon + 1) != std::string_view::npos)
        return Error::format("--publish {:?}: not HOSTPORT:PORT[/tcp|udp]", value);
    auto host = parse_number<unsigned>(ports.substr(0, colon));
    auto container = parse_number<unsigned>(ports.substr(colon + 1));
    if (!host || *host == 0 || *host > 65535)
        return Error::format("--publish {:?}: host port {:?} is not 1 to 65535", value, ports.substr(0, colon));
    if (!container || *container == 0 || *container > 65535)
        return Error::format("--publish {:?}: port {:?} is not 1 to 65535", value, ports.substr(colon + 1));
    mapping.host_port = static_cast<uint16_t>(*host);
    mapping.container_port = static_cast<uint16_t>(*container);
    return mapping;
}

Result<std::vector<PortMapping>> parse_publish_list(std::vector<std::string> const& values)
{
    std::vector<PortMapping> mappings;
    for (auto const& value : values) {
        auto mapping = TRY(parse_publish(value));
        for (auto const& other : mappings)
            if (other.host_port == mapping.host_port && other.protocol == mapping.protocol)
                return Error::format("--publish {:?}: host port {}/{} is published twice", value, mapping.host_port,
                                     protocol_name(mapping.protocol));
        mappings.push_back(mapping);
    }
    return mappings;
}

Result<Ipv4> allocate_address(Subnet const& subnet, std::set<Ipv4> const& taken, std::optional<Ipv4> wanted)
{
    auto first = subnet.gateway().value + 1;
    auto last = subnet.broadcast().value - 1;
    if (wanted) {
        if (!subnet.contains(*wanted))
            return Error::format("address {} is not in subnet {}", wanted->str(), subnet.str());
        if (wanted->value < first || wanted->value > last)
            return Error::format("address {} is the network, gateway or broadcast address of {}", wanted->str(),
                                 subnet.str());
        if (taken.contains(*wanted))
            return Error::format("address {} is already in use", wanted->str());
        return *wanted;
    }
    for (uint32_t value = first; value <= last; ++value)
        if (!taken.contains(Ipv4 { value }))
            return Ipv4 { value };
    return Error::format("subnet {}: no free address ({} in use)", subnet.str(), taken.size());
}

std::string veth_name(std::string_view state_dir)
{
    // FNV-1a, 64 bits: stable across builds and machines (std::hash is neither promised).
    uint64_t hash = 0xcbf29ce484222325ULL;
    for (unsigned char c : state_dir) {
        hash ^= c;
        hash *= 0x100000001b3ULL;
    }
    return fmt::format("vcr{:010x}", hash & 0xffffffffffULL);
}

std::array<uint8_t, 6> mac_for(Ipv4 address)
{
    return { 0x0a,
             0x58,
             static_cast<uint8_t>(address.value >> 24),
             static_cast<uint8_t>(address.value >> 16),
             static_cast<uint8_t>(address.value >> 8),
             static_cast<uint8_t>(address.value) };
}

std::string mac_string(std::array<uint8_t, 6> const& mac)
{
    return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

std::vector<Rule> publish_rules(PortMapping const& mapping, Ipv4 address, std::string const& tag)
{
    auto protocol = std::string(protocol_name(mapping.protocol));
    auto host_port = std::to_string(mapping.host_port);
    auto container_port = std::to_string(mapping.container_port);
    auto destination = fmt::format("{}:{}", address.str(), mapping.container_port);
    auto comment = fmt::format("cryo:{}", tag);
    auto dnat = [&](std::string chain) {
        return Rule { "-t",
                      "nat",
                      "-A",
                      std::move(chain),
                      "-p",
                      protocol,
                      "--dport",
                      host_port,
                      "-m",
                      "addrtype",
                      "--dst-type",
                      "LOCAL",
                      "-m",
                      "comment",
                      "--comment",
                      comment,
                      "-j",
                      "DNAT",
                      "--to-destination",
                      destination };
    };
    return {
        dnat("PREROUTING"),
        dnat("OUTPUT"),
        // After DNAT a packet from 127.0.0.1 leaves through the bridge (route_localnet is on
        // there); the container must answer the host's bridge address, not its own loopback.
        Rule { "-t", "nat", "-A", "POSTROUTING", "-p", protocol, "-s", "127.0.0.0/8", "-d", address.str(), "--dport",
               container_port, "-m", "comment", "--comment", comment, "-j", "MASQUERADE" },
    };
}

std::vector<Rule> bridge_rules(NetworkConfig const& config)
{
    auto comment = fmt::format("cryo:{}", config.bridge);
    auto subnet = config.subnet.str();
    return {
        Rule { "-t", "nat", "-A", "POSTROUTING", "-s", subnet, "!", "-o", config.bridge, "-m", "comment", "--comment",
               comment, "-j", "MASQUERADE" },
        Rule { "-t", "filter", "-A", "FORWARD", "-i", config.bridge, "-m", "comment", "--comment", comment, "-j",
               "ACCEPT" },
        Rule { "-t", "filter", "-A", "FORWARD", "-o", config.bridge, "-m", "comment", "--comment", comment, "-j",
               "ACCEPT" },
    };
}

Rule rule_with_action(Rule rule, std::string_view action)
{
    for (auto& arg : rule)
        if (arg == "-A") {
            arg = std::string(action);
            break;
        }
    return rule;
}

ResolvConf container_resolv_conf(std::string_view host_text, std::vector<Ipv4> const& servers)
{
    ResolvConf out;
    std::string kept;
    auto add_server = [&](std::string_view address) {
        out.text += fmt::format("nameserver {}\n", address);
        ++out.nameservers;
    };
    for (auto const& server : servers)
        add_server(server.str());
    while (!host_text.empty()) {
        auto newline = host_text.find('\n');
        auto line = trim(host_text.substr(0, newline));
        host_text = newline == std::string_view::npos ? std::string_view() : host_text.substr(newline + 1);
        if (line.empty() || line.front() == '#' || line.front() == ';')
            continue;
        auto space = line.find_first_of(" \t");
        auto key = line.substr(0, space);
        auto rest = space == std::string_view::npos ? std::string_view() : trim(line.substr(space + 1));
        if (key == "nameserver") {
            if (!servers.empty() || rest.empty())
                continue;
            auto address = rest.substr(0, rest.find_first_of(" \t"));
            auto ipv4 = Ipv4::parse(address);
            bool loopback = (ipv4 && (ipv4->value >> 24) == 127) || address == "::1" || address == "0:0:0:0:0:0:0:1";
            if (!loopback)
                add_server(address);
        } else if (key == "search" || key == "domain" || key == "options" || key == "sortlist") {
            kept += fmt::format("{}\n", line);
        }
    }
    out.text += kept;
    return out;
}

NetworkFlags flags_to_recreate(NetworkRecord const& record)
{
    NetworkFlags flags;
    switch (record.mode) {
    case Mode::Spec:
        break;
    case Mode::None:
    case Mode::Host:
        flags.network = std::string(mode_name(record.mode));
        break;
    case Mode::Bridge:
        flags.network = fmt::format("bridge:bridge={}", record.bridge);
        if (record.subnet)
            flags.network += ",subnet=" + record.subnet->str();
        flags.network += ",ip=" + record.address.str();
        for (auto const& server : record.dns)
            flags.network += ",dns=" + server.str();
        break;
    }
    for (auto const& port : record.published)
        flags.publish.push_back(fmt::format("{}:{}/{}", port.mapping.host_port, port.mapping.container_port,
                                            protocol_name(port.mapping.protocol)));
    return flags;
}

namespace {

using Json = nlohmann::json;

Json rules_to_json(std::vector<Rule> const& rules)
{
    auto array = Json::array();
    for (auto const& rule : rules)
        array.push_back(rule);
    return array;
}

std::vector<Rule> rules_from_json(Json const& array)
{
    std::vector<Rule> rules;
    for (auto const& rule : array)
        rules.push_back(rule.get<Rule>());
    return rules;
}

Mode mode_from_name(std::string const& name)
{
    if (name == "none")
        return Mode::None;
    if (name == "host")
        return Mode::Host;
    if (name == "bridge")
        return Mode::Bridge;
    return Mode::Spec;
}

} // namespace

std::string record_to_json(NetworkRecord const& record)
{
    Json json = {
        { "version", 1 },
        { "mode", std::string(mode_name(record.mode)) },
        { "netns", record.netns },
    };
    if (record.mode == Mode::Bridge) {
        json["bridge"] = record.bridge;
        json["subnet"] = record.subnet ? record.subnet->str() : "";
        json["gateway"] = record.subnet ? record.subnet->gateway().str() : "";
        json["address"] = record.address.str();
        json["mac"] = record.mac;
        json["veth"] = record.veth;
        json["lease"] = record.lease;
        auto published = Json::array();
        for (auto const& port : record.published)
            published.push_back({
                { "host_port", port.mapping.host_port },
                { "container_port", port.mapping.container_port },
                { "protocol", std::string(protocol_name(port.mapping.protocol)) },
                { "reservation", port.reservation },
                { "rules", rules_to_json(port.rules) },
            });
        json["published"] = published;
        if (!record.dns.empty()) {
            auto dns = Json::array();
            for (auto const& server : record.dns)
                dns.push_back(server.str());
            json["dns"] = dns;
        }
    }
    return json.dump(2) + "\n";
}

Result<NetworkRecord> record_from_json(std::string_view text)
{
    try {
        auto json = Json::parse(text);
        if (json.value("version", 0) != 1)
            return Error::format("network.json: version {} is not 1", json.value("version", 0));
        NetworkRecord record;
        record.mode = mode_from_name(json.at("mode").get<std::string>());
        record.netns = json.value("netns", "");
        if (record.mode != Mode::Bridge)
            return record;
        record.bridge = json.at("bridge").get<std::string>();
        auto subnet = json.value("subnet", "");
        if (!subnet.empty())
            record.subnet = TRY(Subnet::parse(subnet).context("network.json"));
        auto address = Ipv4::parse(json.at("address").get<std::string>());
        if (!address)
            return Error::make("network.json: address is not an IPv4 address");
        record.address = *address;
        record.mac = json.value("mac", "");
        record.veth = json.value("veth", "");
        record.lease = json.value("lease", "");
        for (auto const& port : json.value("published", Json::array())) {
            PublishedPort published;
            published.mapping.host_port = port.at("host_port").get<uint16_t>();
            published.mapping.container_port = port.at("container_port").get<uint16_t>();
            published.mapping.protocol
                = port.at("protocol").get<std::string>() == "udp" ? Protocol::Udp : Protocol::Tcp;
            published.reservation = port.value("reservation", "");
            published.rules = rules_from_json(port.value("rules", Json::array()));
            record.published.push_back(std::move(published));
        }
        for (auto const& server : json.value("dns", Json::array())) {
            auto server_address = Ipv4::parse(server.get<std::string>());
            if (!server_address)
                return Error::make("network.json: dns: not an IPv4 address");
            record.dns.push_back(*server_address);
        }
        return record;
    } catch (Json::exception const& error) {
        return Error::format("network.json: {}", error.what());
    }
}

std::string bridge_record_to_json(BridgeRecord const& record)
{
    Json json = {
        { "version", 1 },
        { "name", record.name },
        { "subnet", record.subnet.str() },
        { "created", record.created },
        { "rules", rules_to_json(record.rules) },
    };
    return json.dump(2) + "\n";
}

Result<BridgeRecord> bridge_record_from_json(std::string_view text)
{
    try {
        auto json = Json::parse(text);
        BridgeRecord record;
        record.name = json.at("name").get<std::string>();
        record.subnet = TRY(Subnet::parse(json.at("subnet").get<std::string>()).context("bridge.json"));
        record.created = json.value("created", false);
        record.rules = rules_from_json(json.value("rules", Json::array()));
        return record;
    } catch (Json::exception const& error) {
        return Error::format("bridge.json: {}", error.what());
    }
}

} // namespace cryo::runtime::net
