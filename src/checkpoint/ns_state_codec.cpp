// JSON codec of ipc.json / net.json and the pure parsers of ns_state_model.h.
#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "checkpoint/codec.h"
#include "checkpoint/ns_state_model.h"
#include "sys/netlink.h"

namespace cryo::checkpoint {

using nlohmann::json;

static_assert(kLinkFlags == (IFF_NOARP | IFF_PROMISC | IFF_ALLMULTI | IFF_MULTICAST));

std::vector<std::string> const kIpcSysctls { "shmmax", "shmall", "shmmni", "shm_rmid_forced",
                                             "msgmax", "msgmnb", "msgmni", "sem" };

// ---- /proc/sysvipc ----

Result<std::vector<SysvIpcEntry>> parse_sysvipc(std::string_view text, std::string_view id_column)
{
    std::istringstream lines { std::string(text) };
    std::string line;
    if (!std::getline(lines, line))
        return Error::make("empty sysvipc table");
    std::vector<std::string> columns;
    {
        std::istringstream words(line);
        for (std::string word; words >> word;)
            columns.push_back(word);
    }
    auto index_of = [&](std::string_view name) -> std::optional<size_t> {
        for (size_t i = 0; i < columns.size(); ++i)
            if (columns[i] == name)
                return i;
        return std::nullopt;
    };
    auto key_column = index_of("key");
    auto id_index = index_of(id_column);
    if (!key_column || !id_index)
        return Error::format("sysvipc table has no '{}' or 'key' column", id_column);
    std::vector<SysvIpcEntry> out;
    for (int number = 2; std::getline(lines, line); ++number) {
        std::istringstream words(line);
        std::vector<std::string> fields;
        for (std::string word; words >> word;)
            fields.push_back(word);
        if (fields.empty())
            continue;
        if (fields.size() <= std::max(*key_column, *id_index))
            return Error::format("sysvipc line {}: {} fields, too few", number, fields.size());
        try {
            size_t used_key = 0, used_id = 0;
            long long key = std::stoll(fields[*key_column], &used_key);
            int id = std::stoi(fields[*id_index], &used_id);
            if (used_key != fields[*key_column].size() || used_id != fields[*id_index].size() || id < 0)
                throw std::invalid_argument("trailing");
            out.push_back({ .key = static_cast<int32_t>(key), .id = id });
        } catch (std::exception const&) {
            return Error::format("sysvipc line {}: bad key or id \"{}\" \"{}\"", number, fields[*key_column],
                                 fields[*id_index]);
        }
    }
    return out;
}

// ---- ipc.json ----

namespace {

json encode_owner(IpcOwner const& o)
{
    return { { "key", o.key },   { "uid", o.uid },   { "gid", o.gid },
             { "cuid", o.cuid }, { "cgid", o.cgid }, { "mode", o.mode } };
}

IpcOwner decode_owner(json const& j)
{
    return { .key = j.at("key").get<int32_t>(),
             .uid = j.value("uid", 0u),
             .gid = j.value("gid", 0u),
             .cuid = j.value("cuid", 0u),
             .cgid = j.value("cgid", 0u),
             .mode = j.value("mode", 0600u) & 0777 };
}

template<typename F>
auto catching(std::string_view what, F f) -> decltype(f())
{
    try {
        return f();
    } catch (json::exception const& e) {
        return Error::format("{}: {}", what, e.what());
    }
}

} // namespace

std::string encode_ipc_state(IpcState const& state)
{
    json j = { { "schema", kIpcSchema } };
    json sysctls = json::object();
    for (auto const& [name, value] : state.sysctls)
        sysctls[name] = value;
    j["sysctls"] = std::move(sysctls);
    json shm = json::array();
    for (auto const& s : state.shm)
        shm.push_back({ { "id", s.id },
                        { "owner", encode_owner(s.owner) },
                        { "size", s.size },
                        { "destroyed", s.destroyed },
                        { "locked", s.locked },
                        { "data", s.data_file },
                        { "crc32c", fmt::format("{:08x}", s.crc32c) } });
    j["shm"] = std::move(shm);
    json sems = json::array();
    for (auto const& s : state.semaphores)
        sems.push_back({ { "id", s.id }, { "owner", encode_owner(s.owner) }, { "values", s.values } });
    j["semaphores"] = std::move(sems);
    json queues = json::array();
    for (auto const& q : state.queues) {
        json messages = json::array();
        for (auto const& m : q.messages)
            messages.push_back({ { "type", m.type }, { "text", to_hex(m.text) } });
        queues.push_back({ { "id", q.id },
                           { "owner", encode_owner(q.owner) },
                           { "max_bytes", q.max_bytes },
                           { "messages", std::move(messages) } });
    }
    j["queues"] = std::move(queues);
    return j.dump(2) + "\n";
}

Result<IpcState> decode_ipc_state(std::string_view text)
{
    return catching("ipc.json", [&]() -> Result<IpcState> {
        auto j = json::parse(text, nullptr, false);
        if (j.is_discarded() || !j.is_object())
            return Error::make("ipc.json: not a JSON object");
        int schema = j.value("schema", 0);
        if (schema < 1 || schema > kIpcSchema)
            return Error::format("ipc.json: schema {} is not supported (this cryo reads 1 to {})", schema, kIpcSchema);
        IpcState state;
        // In kIpcSysctls order; one a newer cryo records and this one cannot restore is left out.
        auto sysctls = j.value("sysctls", json::object());
        for (auto const& name : kIpcSysctls)
            if (sysctls.contains(name))
                state.sysctls.emplace_back(name, sysctls[name].get<std::string>());
        std::set<int> ids;
        for (auto const& e : j.value("shm", json::array())) {
            ShmSegment s;
            s.id = e.at("id").get<int>();
            s.owner = decode_owner(e.at("owner"));
            s.size = e.at("size").get<uint64_t>();
            s.destroyed = e.value("destroyed", false);
            s.locked = e.value("locked", false);
            s.data_file = e.at("data").get<std::string>();
            if (s.data_file.empty() || s.data_file.find('/') != std::string::npos || s.data_file[0] == '.')
                return Error::format("ipc.json: shm {}: bad data file name \"{}\"", s.id, s.data_file);
            auto crc = e.value("crc32c", std::string("00000000"));
            s.crc32c = static_cast<uint32_t>(std::stoul(crc, nullptr, 16));
            if (s.id < 0 || !ids.insert(s.id).second)
                return Error::format("ipc.json: shm id {} is negative or repeated", s.id);
            state.shm.push_back(std::move(s));
        }
        ids.clear();
        for (auto const& e : j.value("semaphores", json::array())) {
            SemaphoreSet s;
            s.id = e.at("id").get<int>();
            s.owner = decode_owner(e.at("owner"));
            s.values = e.at("values").get<std::vector<uint16_t>>();
            if (s.values.empty())
                return Error::format("ipc.json: semaphore set {} has no semaphores", s.id);
            if (s.id < 0 || !ids.insert(s.id).second)
                return Error::format("ipc.json: semaphore id {} is negative or repeated", s.id);
            state.semaphores.push_back(std::move(s));
        }
        ids.clear();
        for (auto const& e : j.value("queues", json::array())) {
            MessageQueue q;
            q.id = e.at("id").get<int>();
            q.owner = decode_owner(e.at("owner"));
            q.max_bytes = e.at("max_bytes").get<uint64_t>();
            for (auto const& m : e.value("messages", json::array())) {
                QueuedMessage message;
                message.type = m.at("type").get<int64_t>();
                if (message.type <= 0)
                    return Error::format("ipc.json: queue {}: message type {} is not positive", q.id, message.type);
                message.text = TRY(from_hex(m.at("text").get<std::string>()).context("ipc.json: queue {}", q.id));
                q.messages.push_back(std::move(message));
            }
            if (q.id < 0 || !ids.insert(q.id).second)
                return Error::format("ipc.json: queue id {} is negative or repeated", q.id);
            state.queues.push_back(std::move(q));
        }
        return state;
    });
}

// ---- addresses ----

Result<std::string> address_to_string(int family, std::span<uint8_t const> bytes)
{
    size_t expected = family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
    if (expected == 0 || bytes.size() != expected)
        return Error::format("address of family {} with {} bytes", family, bytes.size());
    char text[INET6_ADDRSTRLEN] {};
    if (!::inet_ntop(family, bytes.data(), text, sizeof text))
        return Error::from_errno("inet_ntop");
    return std::string(text);
}

Result<std::vector<uint8_t>> address_from_string(int family, std::string const& text)
{
    std::vector<uint8_t> bytes(family == AF_INET6 ? 16 : 4);
    if ((family != AF_INET && family != AF_INET6) || ::inet_pton(family, text.c_str(), bytes.data()) != 1)
        return Error::format("\"{}\" is not an {} address", text, family == AF_INET6 ? "IPv6" : "IPv4");
    return bytes;
}

std::string mac_to_string(std::span<uint8_t const> bytes)
{
    std::string out;
    for (auto b : bytes)
        out += fmt::format("{}{:02x}", out.empty() ? "" : ":", b);
    return out;
}

Result<std::vector<uint8_t>> mac_from_string(std::string const& text)
{
    std::vector<uint8_t> out;
    size_t i = 0;
    while (i < text.size()) {
        if (i + 2 > text.size() || !std::isxdigit(static_cast<unsigned char>(text[i]))
            || !std::isxdigit(static_cast<unsigned char>(text[i + 1])))
            return Error::format("\"{}\" is not a MAC address", text);
        out.push_back(static_cast<uint8_t>(std::stoul(text.substr(i, 2), nullptr, 16)));
        i += 2;
        if (i < text.size() && text[i++] != ':')
            return Error::format("\"{}\" is not a MAC address", text);
    }
    if (out.empty() || out.size() > 32)
        return Error::format("\"{}\" is not a MAC address", text);
    return out;
}

// ---- rtnetlink messages ----

namespace {

template<typename T>
Result<T> family_header(sys::ParsedNetlinkMessage const& parsed)
{
    T header;
    std::memcpy(&header, parsed.header.data(), sizeof header);
    return header;
}

char const* family_name(int family)
{
    return family == AF_INET6 ? "inet6" : "inet";
}

Result<int> family_from_name(std::string const& name)
{
    if (name == "inet")
        return AF_INET;
    if (name == "inet6")
        return AF_INET6;
    return Error::format("unknown address family \"{}\"", name);
}

Result<std::string> link_name(std::map<int, std::string> const& names, int index)
{
    auto it = names.find(index);
    if (it == names.end())
        return Error::format("link index {} is unknown", index);
    return it->second;
}

} // namespace

Result<RawLink> parse_link_message(std::span<uint8_t const> message)
{
    auto parsed = TRY(sys::parse_netlink_message(message, sizeof(ifinfomsg)));
    auto info = TRY(family_header<ifinfomsg>(parsed));
    auto const& a = parsed.attributes;
    RawLink raw;
    raw.state.index = info.ifi_index;
    raw.state.name = a.string(IFLA_IFNAME);
    if (raw.state.name.empty())
        return Error::format("link {}: no name", info.ifi_index);
    raw.state.up = (info.ifi_flags & IFF_UP) != 0;
    raw.state.flags = info.ifi_flags & kLinkFlags;
    if (a.has(IFLA_TXQLEN))
        raw.state.tx_queue_length = TRY(a.u32(IFLA_TXQLEN).context("link {} txqlen", raw.state.name));
    raw.state.alias = a.string(IFLA_IFALIAS);
    raw.loopback = info.ifi_type == ARPHRD_LOOPBACK;
    if (a.has(IFLA_MTU))
        raw.state.mtu = TRY(a.u32(IFLA_MTU).context("link {} mtu", raw.state.name));
    if (a.has(IFLA_ADDRESS))
        raw.state.mac = mac_to_string(a.get(IFLA_ADDRESS));
    if (a.has(IFLA_LINK))
        raw.link = TRY(a.s32(IFLA_LINK).context("link {} peer", raw.state.name));
    if (a.has(IFLA_LINK_NETNSID))
        raw.link_netnsid = TRY(a.s32(IFLA_LINK_NETNSID).context("link {} peer namespace", raw.state.name));
    if (a.has(IFLA_MASTER))
        raw.master = TRY(a.s32(IFLA_MASTER).context("link {} master", raw.state.name));
    if (a.has(IFLA_LINKINFO)) {
        auto linkinfo = TRY(sys::parse_netlink_attributes(a.get(IFLA_LINKINFO)).context("link {}", raw.state.name));
        raw.kind = linkinfo.string(IFLA_INFO_KIND);
    }
    raw.state.kind = raw.loopback ? LinkKind::Loopback : LinkKind::Veth;
    return raw;
}

Result<std::optional<NetAddress>> parse_address_message(std::span<uint8_t const> message,
                                                        std::map<int, std::string> const& link_names)
{
    auto parsed = TRY(sys::parse_netlink_message(message, sizeof(ifaddrmsg)));
    auto info = TRY(family_header<ifaddrmsg>(parsed));
    auto const& a = parsed.attributes;
    if (info.ifa_family != AF_INET && info.ifa_family != AF_INET6)
        return std::optional<NetAddress> {};
    // IFA_PROTO (linux 6.1+): 1 loopback's own, 2 from a router advertisement, 3 link-local;
    // the kernel makes those again by itself.
    uint8_t protocol = a.has(IFA_PROTO) ? TRY(a.u8(IFA_PROTO)) : 0;
    if (protocol >= 1 && protocol <= 3)
        return std::optional<NetAddress> {};
    NetAddress out;
    out.protocol = protocol;
    out.family = info.ifa_family;
    out.link = TRY(link_name(link_names, static_cast<int>(info.ifa_index)).context("address"));
    out.prefix_length = info.ifa_prefixlen;
    out.scope = info.ifa_scope;
    uint32_t flags = a.has(IFA_FLAGS) ? TRY(a.u32(IFA_FLAGS)) : info.ifa_flags;
    if (flags & IFA_F_TEMPORARY)
        return std::optional<NetAddress> {}; // an IPv6 privacy address: made anew by the kernel
    out.flags = flags
        & (IFA_F_NODAD | IFA_F_OPTIMISTIC | IFA_F_HOMEADDRESS | IFA_F_MANAGETEMPADDR | IFA_F_NOPREFIXROUTE
           | IFA_F_MCAUTOJOIN);
    auto address = a.get(IFA_ADDRESS);
    auto local = a.has(IFA_LOCAL) ? a.get(IFA_LOCAL) : address;
    if (local.empty())
        return Error::format("address on {}: no IFA_LOCAL or IFA_ADDRESS", out.link);
    out.local = TRY(address_to_string(out.family, local).context("address on {}", out.link));
    if (!address.empty() && !std::equal(address.begin(), address.end(), local.begin(), local.end()))
        out.peer = TRY(address_to_string(out.family, address).context("address on {}", out.link));
    if (a.has(IFA_BROADCAST))
        out.broadcast = TRY(address_to_string(out.family, a.get(IFA_BROADCAST)).context("address on {}", out.link));
    out.label = a.string(IFA_LABEL);
    if (a.get(IFA_CACHEINFO).size() >= sizeof(ifa_cacheinfo)) {
        ifa_cacheinfo cache;
        std::memcpy(&cache, a.get(IFA_CACHEINFO).data(), sizeof cache);
        out.valid_lifetime = cache.ifa_valid;
        out.preferred_lifetime = cache.ifa_prefered;
    }
    if (out.family == AF_INET6 && out.scope == RT_SCOPE_HOST && out.local == "::1" && out.prefix_length == 128)
        return std::optional<NetAddress> {}; // loopback's own, on kernels without IFA_PROTO
    if (out.family == AF_INET && out.local == "127.0.0.1" && out.prefix_length == 8 && out.scope == RT_SCOPE_HOST)
        return std::optional<NetAddress> {};
    return std::optional<NetAddress>(std::move(out));
}

Result<std::optional<NetRoute>> parse_route_message(std::span<uint8_t const> message,
                                                    std::map<int, std::string> const& link_names)
{
    auto parsed = TRY(sys::parse_netlink_message(message, sizeof(rtmsg)));
    auto info = TRY(family_header<rtmsg>(parsed));
    auto const& a = parsed.attributes;
    if (info.rtm_family != AF_INET && info.rtm_family != AF_INET6)
        return std::optional<NetRoute> {};
    // Made by the kernel from addresses and links (prefix, local, broadcast, multicast and
    // link-local routes), learnt from router advertisements, or cached: all come back alone.
    if (info.rtm_protocol == RTPROT_KERNEL || info.rtm_protocol == RTPROT_RA || (info.rtm_flags & RTM_F_CLONED))
        return std::optional<NetRoute> {};
    NetRoute r;
    r.family = info.rtm_family;
    r.table = a.has(RTA_TABLE) ? TRY(a.u32(RTA_TABLE)) : info.rtm_table;
    r.protocol = info.rtm_protocol;
    r.scope = info.rtm_scope;
    r.type = info.rtm_type;
    r.tos = info.rtm_tos;
    r.flags = info.rtm_flags & RTNH_F_ONLINK;
    r.destination_length = info.rtm_dst_len;
    r.source_length = info.rtm_src_len;
    auto describe = [&] {
        return fmt::format("route {}/{} table {}",
                           a.has(RTA_DST) ? address_to_string(r.family, a.get(RTA_DST)).value_or("?") : "default",
                           r.destination_length, r.table);
    };
    for (uint16_t unsupported :
         { uint16_t(RTA_MULTIPATH), uint16_t(RTA_ENCAP), uint16_t(RTA_VIA), uint16_t(RTA_NH_ID) })
        if (a.has(unsupported))
            return Error::format("{}: multipath, nexthop-object, via and encapsulated routes are not supported",
                                 describe());
    if (a.has(RTA_DST))
        r.destination = TRY(address_to_string(r.family, a.get(RTA_DST)).context("{}", describe()));
    if (a.has(RTA_SRC))
        r.source = TRY(address_to_string(r.family, a.get(RTA_SRC)).context("{}", describe()));
    if (a.has(RTA_GATEWAY))
        r.gateway = TRY(address_to_string(r.family, a.get(RTA_GATEWAY)).context("{}", describe()));
    if (a.has(RTA_PREFSRC))
        r.preferred_source = TRY(address_to_string(r.family, a.get(RTA_PREFSRC)).context("{}", describe()));
    if (a.has(RTA_OIF)) {
        int oif = TRY(a.s32(RTA_OIF));
        r.link = TRY(link_name(link_names, oif).context("{}", describe()));
    }
    if (a.has(RTA_PRIORITY)) {
        r.priority = TRY(a.u32(RTA_PRIORITY));
        r.has_priority = true;
    }
    if (a.has(RTA_PREF)) {
        r.preference = TRY(a.u8(RTA_PREF));
        r.has_preference = true;
    }
    if (a.has(RTA_METRICS)) {
        auto metrics = TRY(sys::parse_netlink_attributes(a.get(RTA_METRICS)).context("{} metrics", describe()));
        for (auto const& [type, value] : metrics.all()) {
            if (type == RTAX_CC_ALGO)
                return Error::format("{}: a congestion control metric is not supported", describe());
            r.metrics.emplace_back(type, TRY(metrics.u32(type).context("{} metric {}", describe(), type)));
        }
    }
    return std::optional<NetRoute>(std::move(r));
}

// ---- net.json ----

namespace {

char const* place_name(PeerPlace p)
{
    switch (p) {
    case PeerPlace::SameNamespace:
        return "namespace";
    case PeerPlace::Caller:
        return "caller";
    case PeerPlace::Elsewhere:
        return "elsewhere";
    }
    return "elsewhere";
}

Result<PeerPlace> place_from_name(std::string const& name)
{
    if (name == "namespace")
        return PeerPlace::SameNamespace;
    if (name == "caller")
        return PeerPlace::Caller;
    if (name == "elsewhere")
        return PeerPlace::Elsewhere;
    return Error::format("unknown veth peer place \"{}\"", name);
}

} // namespace

std::string encode_net_state(NetState const& state)
{
    json j = { { "schema", kNetSchema } };
    json links = json::array();
    for (auto const& l : state.links) {
        json e = { { "index", l.index },
                   { "name", l.name },
                   { "kind", l.kind == LinkKind::Loopback ? "loopback" : "veth" },
                   { "mtu", l.mtu },
                   { "up", l.up },
                   { "mac", l.mac },
                   { "flags", l.flags },
                   { "txqlen", l.tx_queue_length },
                   { "alias", l.alias } };
        if (l.kind == LinkKind::Veth)
            e["peer"] = { { "place", place_name(l.peer_place) }, { "index", l.peer_index }, { "name", l.peer_name },
                          { "master", l.peer_master },           { "up", l.peer_up },       { "mtu", l.peer_mtu } };
        links.push_back(std::move(e));
    }
    j["links"] = std::move(links);
    json addresses = json::array();
    for (auto const& a : state.addresses)
        addresses.push_back({ { "link", a.link },
                              { "family", family_name(a.family) },
                              { "local", a.local },
                              { "prefix_length", a.prefix_length },
                              { "scope", a.scope },
                              { "flags", a.flags },
                              { "peer", a.peer },
                              { "broadcast", a.broadcast },
                              { "label", a.label },
                              { "protocol", a.protocol },
                              { "valid_lifetime", a.valid_lifetime },
                              { "preferred_lifetime", a.preferred_lifetime } });
    j["addresses"] = std::move(addresses);
    json routes = json::array();
    for (auto const& r : state.routes) {
        json e = { { "family", family_name(r.family) },
                   { "table", r.table },
                   { "protocol", r.protocol },
                   { "scope", r.scope },
                   { "type", r.type },
                   { "tos", r.tos },
                   { "flags", r.flags },
                   { "destination", r.destination },
                   { "destination_length", r.destination_length },
                   { "source", r.source },
                   { "source_length", r.source_length },
                   { "gateway", r.gateway },
                   { "link", r.link },
                   { "preferred_source", r.preferred_source },
                   { "metrics", r.metrics } };
        if (r.has_priority)
            e["priority"] = r.priority;
        if (r.has_preference)
            e["preference"] = r.preference;
        routes.push_back(std::move(e));
    }
    j["routes"] = std::move(routes);
    return j.dump(2) + "\n";
}

Result<NetState> decode_net_state(std::string_view text)
{
    return catching("net.json", [&]() -> Result<NetState> {
        auto j = json::parse(text, nullptr, false);
        if (j.is_discarded() || !j.is_object())
            return Error::make("net.json: not a JSON object");
        int schema = j.value("schema", 0);
        if (schema < 1 || schema > kNetSchema)
            return Error::format("net.json: schema {} is not supported (this cryo reads 1 to {})", schema, kNetSchema);
        NetState state;
        for (auto const& e : j.value("links", json::array())) {
            NetLinkState l;
            l.index = e.value("index", 0);
            l.name = e.at("name").get<std::string>();
            auto kind = e.at("kind").get<std::string>();
            if (kind == "loopback")
                l.kind = LinkKind::Loopback;
            else if (kind == "veth")
                l.kind = LinkKind::Veth;
            else
                return Error::format("net.json: link {}: kind \"{}\" is not supported", l.name, kind);
            l.mtu = e.value("mtu", 0u);
            l.up = e.value("up", false);
            l.flags = e.value("flags", 0u) & kLinkFlags;
            l.tx_queue_length = e.value("txqlen", 0u);
            l.alias = e.value("alias", std::string());
            l.mac = e.value("mac", std::string());
            if (l.kind == LinkKind::Veth) {
                auto const& p = e.at("peer");
                l.peer_place
                    = TRY(place_from_name(p.value("place", std::string())).context("net.json: link {}", l.name));
                l.peer_index = p.value("index", 0);
                l.peer_name = p.value("name", std::string());
                l.peer_master = p.value("master", std::string());
                l.peer_up = p.value("up", false);
                l.peer_mtu = p.value("mtu", 0u);
            }
            state.links.push_back(std::move(l));
        }
        for (auto const& e : j.value("addresses", json::array())) {
            NetAddress a;
            a.link = e.at("link").get<std::string>();
            a.family = TRY(family_from_name(e.at("family").get<std::string>()).context("net.json: address"));
            a.local = e.at("local").get<std::string>();
            a.prefix_length = e.value("prefix_length", uint8_t(0));
            a.scope = e.value("scope", uint8_t(0));
            a.flags = e.value("flags", 0u);
            a.peer = e.value("peer", std::string());
            a.broadcast = e.value("broadcast", std::string());
            a.label = e.value("label", std::string());
            a.protocol = e.value("protocol", uint8_t(0));
            a.valid_lifetime = e.value("valid_lifetime", 0xffffffffu);
            a.preferred_lifetime = e.value("preferred_lifetime", 0xffffffffu);
            state.addresses.push_back(std::move(a));
        }
        for (auto const& e : j.value("routes", json::array())) {
            NetRoute r;
            r.family = TRY(family_from_name(e.at("family").get<std::string>()).context("net.json: route"));
            r.table = e.value("table", uint32_t(RT_TABLE_MAIN));
            r.protocol = e.value("protocol", uint8_t(RTPROT_BOOT));
            r.scope = e.value("scope", uint8_t(RT_SCOPE_UNIVERSE));
            r.type = e.value("type", uint8_t(RTN_UNICAST));
            r.tos = e.value("tos", uint8_t(0));
            r.flags = e.value("flags", 0u);
            r.destination = e.value("destination", std::string());
            r.destination_length = e.value("destination_length", uint8_t(0));
            r.source = e.value("source", std::string());
            r.source_length = e.value("source_length", uint8_t(0));
            r.gateway = e.value("gateway", std::string());
            r.link = e.value("link", std::string());
            r.preferred_source = e.value("preferred_source", std::string());
            r.metrics = e.value("metrics", std::vector<std::pair<uint16_t, uint32_t>> {});
            if (e.contains("priority")) {
                r.priority = e["priority"].get<uint32_t>();
                r.has_priority = true;
            }
            if (e.contains("preference")) {
                r.preference = e["preference"].get<uint8_t>();
                r.has_preference = true;
            }
            state.routes.push_back(std::move(r));
        }
        TRY(validate_net_state(state).context("net.json"));
        return state;
    });
}

Result<void> validate_net_state(NetState const& state)
{
    std::map<std::string, NetLinkState const*> links;
    for (auto const& l : state.links) {
        if (l.name.empty() || l.name.size() >= IFNAMSIZ || l.name.find('/') != std::string::npos)
            return Error::format("link \"{}\": bad name", l.name);
        if (!links.emplace(l.name, &l).second)
            return Error::format("link {}: recorded twice", l.name);
        if (!l.mac.empty())
            TRY(mac_from_string(l.mac).context("link {}", l.name));
        if (l.kind == LinkKind::Veth && l.peer_name.size() >= IFNAMSIZ)
            return Error::format("link {}: bad peer name \"{}\"", l.name, l.peer_name);
    }
    for (auto const& l : state.links) {
        if (l.kind != LinkKind::Veth || l.peer_place != PeerPlace::SameNamespace)
            continue;
        auto it = links.find(l.peer_name);
        if (it == links.end() || it->second->kind != LinkKind::Veth || it->second->peer_name != l.name)
            return Error::format("link {}: its peer {} inside the namespace is not recorded as its pair", l.name,
                                 l.peer_name);
    }
    for (auto const& a : state.addresses) {
        if (!links.contains(a.link))
            return Error::format("address {}/{}: link {} is not recorded", a.local, a.prefix_length, a.link);
        TRY(address_from_string(a.family, a.local).context("address on {}", a.link));
        for (auto const* other : { &a.peer, &a.broadcast })
            if (!other->empty())
                TRY(address_from_string(a.family, *other).context("address {} on {}", a.local, a.link));
    }
    for (auto const& r : state.routes) {
        auto name = fmt::format("route {}/{}", r.destination.empty() ? "default" : r.destination, r.destination_length);
        if (!r.link.empty() && !links.contains(r.link))
            return Error::format("{}: link {} is not recorded", name, r.link);
        for (auto const* text : { &r.destination, &r.source, &r.gateway, &r.preferred_source })
            if (!text->empty())
                TRY(address_from_string(r.family, *text).context("{}", name));
    }
    return {};
}

} // namespace cryo::checkpoint
