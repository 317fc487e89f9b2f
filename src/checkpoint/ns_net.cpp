// Dump and restore of net namespaces (see checkpoint/ns_state.h), over rtnetlink: one socket
// opened inside the container's namespace and one in the caller's, so no thread of cryo
// ever moves. A restore decodes and checks the whole image first, then creates links (veth
// pairs are made in the caller's namespace and their inside end moved in, under its name and
// index), brings them up, adds addresses, then routes. A failed restore deletes the veth
// pairs it made; the namespace itself is the caller's to discard.
#include <algorithm>
#include <cstring>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/net_namespace.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <random>
#include <sys/socket.h>

#include "base/scope_guard.h"
#include "checkpoint/ns_state.h"
#include "checkpoint/ns_state_model.h"
#include "sys/file.h"
#include "sys/netlink.h"
#include "sys/ns.h"
#include "sys/rtnl.h"

namespace cryo::checkpoint {

namespace {

using sys::NetlinkMessage;
using sys::RtNetlink;

// ---- queries ----

Result<std::vector<RawLink>> dump_links(RtNetlink& netlink)
{
    NetlinkMessage request(RTM_GETLINK, 0);
    request.put_header(ifinfomsg {});
    std::vector<RawLink> links;
    for (auto const& message : TRY(netlink.dump(request).context("dump links")))
        links.push_back(TRY(parse_link_message(message)));
    return links;
}

// nullopt: no such link.
Result<std::optional<RawLink>> query_link(RtNetlink& netlink, int index, std::string const& name)
{
    NetlinkMessage request(RTM_GETLINK, 0);
    ifinfomsg info {};
    info.ifi_index = index;
    request.put_header(info);
    if (!name.empty())
        request.put_string(IFLA_IFNAME, name);
    auto answer = netlink.query(request);
    if (!answer && answer.error().is_errno(ENODEV))
        return std::optional<RawLink> {};
    auto const& message = TRY(std::move(answer));
    return std::optional<RawLink>(TRY(parse_link_message(message)));
}

Result<int> link_index(RtNetlink& netlink, std::string const& name)
{
    auto link = TRY(query_link(netlink, 0, name));
    if (!link)
        return Error::from_errno(ENODEV, fmt::format("link {}", name));
    return link->state.index;
}

// The id the namespace of `netlink` gives to the namespace `other` (RTM_GETNSID); -1: none.
Result<int32_t> namespace_id(RtNetlink& netlink, FdRef other)
{
    NetlinkMessage request(RTM_GETNSID, 0);
    rtgenmsg header {};
    header.rtgen_family = AF_UNSPEC;
    request.put_header(header);
    request.put_u32(NETNSA_FD, static_cast<uint32_t>(other.get()));
    auto answer = TRY(netlink.query(request).context("get namespace id"));
    auto parsed = TRY(sys::parse_netlink_message(answer, sizeof(rtgenmsg)));
    if (!parsed.attributes.has(NETNSA_NSID))
        return -1;
    return TRY(parsed.attributes.s32(NETNSA_NSID));
}

std::map<int, std::string> names_by_index(std::vector<RawLink> const& links)
{
    std::map<int, std::string> names;
    for (auto const& l : links)
        names[l.state.index] = l.state.name;
    return names;
}

// Tunnel devices the kernel puts in every new namespace when their module is loaded: they
// come back by themselves.
bool is_fallback_tunnel(RawLink const& link)
{
    static std::map<std::string, std::string> const fallback { { "tunl0", "ipip" },     { "sit0", "sit" },
                                                               { "ip6tnl0", "ip6tnl" }, { "gre0", "gre" },
                                                               { "gretap0", "gretap" }, { "erspan0", "erspan" },
                                                               { "ip6gre0", "ip6gre" }, { "ip_vti0", "vti" },
                                                               { "ip6_vti0", "vti6" } };
    auto it = fallback.find(link.state.name);
    return it != fallback.end() && it->second == link.kind;
}

// ---- dump ----

Result<NetState> collect(RtNetlink& inside, RtNetlink& outside, FdRef caller_ns)
{
    NetState state;
    auto links = TRY(dump_links(inside));
    auto names = names_by_index(links);
    std::optional<int32_t> caller_id;
    for (auto& raw : links) {
        auto& link = raw.state;
        if (raw.loopback) {
            link.kind = LinkKind::Loopback;
        } else if (raw.kind == "veth") {
            link.kind = LinkKind::Veth;
            link.peer_index = raw.link;
            if (!raw.link_netnsid) {
                link.peer_place = PeerPlace::SameNamespace;
                link.peer_name = names.contains(raw.link) ? names[raw.link] : "";
            } else {
                if (!caller_id)
                    caller_id = TRY(namespace_id(inside, caller_ns).context("link {}", link.name));
                link.peer_place
                    = *caller_id >= 0 && *caller_id == *raw.link_netnsid ? PeerPlace::Caller : PeerPlace::Elsewhere;
            }
            if (link.peer_place == PeerPlace::Caller) {
                auto peer = TRY(query_link(outside, raw.link, "").context("link {}: its peer {}", link.name, raw.link));
                if (!peer)
                    return Error::format("link {}: its peer {} vanished", link.name, raw.link);
                link.peer_name = peer->state.name;
                link.peer_up = peer->state.up;
                link.peer_mtu = peer->state.mtu;
                if (peer->master) {
                    auto master = TRY(query_link(outside, peer->master, "").context("link {}: bridge", link.name));
                    if (master)
                        link.peer_master = master->state.name;
                }
            }
        } else if (is_fallback_tunnel(raw)) {
            continue;
        } else {
            return Error::format("link {}: kind \"{}\" is not supported (only loopback and veth)", link.name,
                                 raw.kind.empty() ? "none" : raw.kind);
        }
        state.links.push_back(std::move(link));
    }

    NetlinkMessage addresses(RTM_GETADDR, 0);
    addresses.put_header(ifaddrmsg {});
    for (auto const& message : TRY(inside.dump(addresses).context("dump addresses")))
        if (auto address = TRY(parse_address_message(message, names)))
            state.addresses.push_back(std::move(*address));

    NetlinkMessage routes(RTM_GETROUTE, 0);
    routes.put_header(rtmsg {});
    for (auto const& message : TRY(inside.dump(routes).context("dump routes")))
        if (auto route = TRY(parse_route_message(message, names)))
            state.routes.push_back(std::move(*route));
    TRY(validate_net_state(state));
    return state;
}

// ---- restore ----

std::string random_name(char const* prefix)
{
    std::random_device random;
    return fmt::format("{}{:08x}", prefix, random());
}

// Gives a link its recorded state, flags, mtu, queue length and alias.
Result<void> configure_link(RtNetlink& netlink, int index, NetLinkState const& link)
{
    NetlinkMessage request(RTM_NEWLINK, 0);
    ifinfomsg info {};
    info.ifi_index = index;
    info.ifi_flags = (link.up ? IFF_UP : 0) | (link.flags & kLinkFlags);
    info.ifi_change = IFF_UP | kLinkFlags;
    request.put_header(info);
    if (link.mtu)
        request.put_u32(IFLA_MTU, link.mtu);
    if (link.tx_queue_length)
        request.put_u32(IFLA_TXQLEN, link.tx_queue_length);
    if (!link.alias.empty())
        request.put_string(IFLA_IFALIAS, link.alias);
    return netlink.request(request);
}

struct VethEnd {
    std::string name;
    int index { 0 }; // 0: the kernel's choice
    std::string mac;
    uint32_t mtu { 0 };
    FdRef netns {}; // valid: created there (IFLA_NET_NS_FD)
};

Result<void> create_veth(RtNetlink& netlink, VethEnd const& main, VethEnd const& peer)
{
    NetlinkMessage request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    auto put_end = [&](VethEnd const& end) -> Result<void> {
        request.put_string(IFLA_IFNAME, end.name);
        if (end.mtu)
            request.put_u32(IFLA_MTU, end.mtu);
        if (!end.mac.empty())
            request.put(IFLA_ADDRESS, TRY(mac_from_string(end.mac)));
        if (end.netns.valid())
            request.put_u32(IFLA_NET_NS_FD, static_cast<uint32_t>(end.netns.get()));
        return {};
    };
    ifinfomsg info {};
    info.ifi_index = main.index;
    request.put_header(info);
    TRY(put_end(main));
    auto linkinfo = request.begin_nested(IFLA_LINKINFO);
    request.put_string(IFLA_INFO_KIND, "veth");
    auto data = request.begin_nested(IFLA_INFO_DATA);
    auto peer_info = request.begin_nested(VETH_INFO_PEER);
    ifinfomsg peer_header {};
    // veth takes the peer's index only when the main end's is given too (veth_newlink).
    peer_header.ifi_index = main.index ? peer.index : 0;
    request.put_header(peer_header);
    TRY(put_end(peer));
    request.end_nested(peer_info);
    request.end_nested(data);
    request.end_nested(linkinfo);
    return netlink.request(request);
}

// Moves a link of the caller's namespace into the namespace of `inside`, renamed, at
// `new_index` if that is free there. The kernel moves first and renames after (a taken name
// leaves the link moved under its old name), so the name is checked before.
Result<void> move_link(RtNetlink& outside, RtNetlink& inside, int index, FdRef netns, std::string const& name,
                       int new_index)
{
    if (TRY(query_link(inside, 0, name)))
        return Error::from_errno(EEXIST, fmt::format("a link named {} is in the namespace already", name));
    if (new_index > 0 && TRY(query_link(inside, new_index, "")))
        new_index = 0;
    NetlinkMessage request(RTM_NEWLINK, 0);
    ifinfomsg info {};
    info.ifi_index = index;
    request.put_header(info);
    request.put_u32(IFLA_NET_NS_FD, static_cast<uint32_t>(netns.get()));
    request.put_string(IFLA_IFNAME, name);
    if (new_index > 0)
        request.put_s32(IFLA_NEW_IFINDEX, new_index);
    return outside.request(request).context("move into the namespace as {}", name);
}

struct Restorer {
    RtNetlink& inside;
    RtNetlink& outside;
    FdRef netns;
    std::vector<int> created_outside; // veth ends in the caller's namespace, deleted on failure

    Result<void> veth_with_outside_peer(NetLinkState const& link)
    {
        std::string outside_name = link.peer_name;
        if (outside_name.empty() || TRY(query_link(outside, 0, outside_name)).has_value())
            outside_name = random_name("cryv");
        // The inside end is born in the caller's namespace under a name nobody uses, then moves
        // in under its own name and index (IFLA_NEW_IFINDEX), which a creation straight into
        // the namespace could not ask for.
        auto temporary = random_name("cryt");
        TRY(create_veth(outside, { .name = temporary, .index = 0, .mac = link.mac, .mtu = link.mtu, .netns = {} },
                        { .name = outside_name, .index = 0, .mac = "", .mtu = link.peer_mtu, .netns = {} })
                .context("create veth pair {} / {}", temporary, outside_name));
        int outside_index = TRY(link_index(outside, outside_name));
        created_outside.push_back(outside_index);
        int temporary_index = TRY(link_index(outside, temporary));
        TRY(move_link(outside, inside, temporary_index, netns, link.name, link.index));
        if (!link.peer_master.empty()) {
            auto master = TRY(query_link(outside, 0, link.peer_master));
            if (!master)
                return Error::format("bridge {} of its peer {} is gone", link.peer_master, outside_name);
            TRY(sys::rtnl::set_master(outside, outside_index, master->state.index)
                    .context("{} to bridge {}", outside_name, link.peer_master));
        }
        if (link.peer_up)
            TRY(sys::rtnl::set_up(outside, outside_index).context("{}", outside_name));
        return {};
    }

    Result<void> links(NetState const& state)
    {
        for (auto const& link : state.links) {
            if (link.kind == LinkKind::Loopback)
                continue;
            if (link.peer_place != PeerPlace::SameNamespace) {
                TRY(veth_with_outside_peer(link).context("restore link {}", link.name));
                continue;
            }
            // A pair with both ends inside: made once, from the end with the smaller index.
            auto peer = std::find_if(state.links.begin(), state.links.end(),
                                     [&](NetLinkState const& l) { return l.name == link.peer_name; });
            if (peer->index < link.index || (peer->index == link.index && peer->name < link.name))
                continue;
            // Their indexes, if free; taken ones are the kernel's to choose.
            int index = TRY(query_link(inside, link.index, "")) ? 0 : link.index;
            int peer_index = TRY(query_link(inside, peer->index, "")) ? 0 : peer->index;
            TRY(create_veth(
                    inside, { .name = link.name, .index = index, .mac = link.mac, .mtu = link.mtu, .netns = {} },
                    { .name = peer->name, .index = peer_index, .mac = peer->mac, .mtu = peer->mtu, .netns = {} })
                    .context("restore link {}: create veth pair with {}", link.name, peer->name));
        }
        for (auto const& link : state.links) {
            int index = TRY(link_index(inside, link.name).context("restore link {}", link.name));
            TRY(configure_link(inside, index, link)
                    .context("restore link {}: set mtu {} and state {}", link.name, link.mtu, link.up ? "up" : "down"));
        }
        return {};
    }

    Result<void> addresses(NetState const& state, std::map<std::string, int> const& indices)
    {
        for (auto const& a : state.addresses) {
            auto what = fmt::format("restore address {}/{} on {}", a.local, a.prefix_length, a.link);
            NetlinkMessage request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
            // IPv6 addresses that were in use come back in use: no duplicate detection, which
            // would leave them tentative (unbindable) for a second or more.
            uint32_t flags = a.flags | (a.family == AF_INET6 ? IFA_F_NODAD : 0);
            ifaddrmsg info {};
            info.ifa_family = static_cast<uint8_t>(a.family);
            info.ifa_prefixlen = a.prefix_length;
            info.ifa_flags = static_cast<uint8_t>(flags & 0xff);
            info.ifa_scope = a.scope;
            info.ifa_index = static_cast<uint32_t>(indices.at(a.link));
            request.put_header(info);
            auto local = TRY(address_from_string(a.family, a.local).context("{}", what));
            request.put(IFA_LOCAL, local);
            request.put(IFA_ADDRESS, a.peer.empty() ? local : TRY(address_from_string(a.family, a.peer)));
            if (!a.broadcast.empty())
                request.put(IFA_BROADCAST, TRY(address_from_string(a.family, a.broadcast)));
            if (a.family == AF_INET && !a.label.empty())
                request.put_string(IFA_LABEL, a.label);
            request.put_u32(IFA_FLAGS, flags);
            if (a.protocol)
                request.put_u8(IFA_PROTO, a.protocol);
            if (a.valid_lifetime != 0xffffffff || a.preferred_lifetime != 0xffffffff) {
                ifa_cacheinfo cache {};
                cache.ifa_valid = a.valid_lifetime;
                cache.ifa_prefered = a.preferred_lifetime;
                request.put(IFA_CACHEINFO, &cache, sizeof cache);
            }
            auto added = inside.request(request);
            // The kernel may have made it already (an address of lo as it came up).
            if (!added && !added.error().is_errno(EEXIST))
                return added.release_error().add_context(what);
        }
        return {};
    }

    Result<void> add_route(NetRoute const& r, std::map<std::string, int> const& indices)
    {
        NetlinkMessage request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
        rtmsg info {};
        info.rtm_family = static_cast<uint8_t>(r.family);
        info.rtm_dst_len = r.destination_length;
        info.rtm_src_len = r.source_length;
        info.rtm_tos = r.tos;
        info.rtm_table = r.table < 256 ? static_cast<uint8_t>(r.table) : uint8_t(RT_TABLE_UNSPEC);
        info.rtm_protocol = r.protocol;
        info.rtm_scope = r.scope;
        info.rtm_type = r.type;
        info.rtm_flags = r.flags;
        request.put_header(info);
        request.put_u32(RTA_TABLE, r.table);
        if (!r.destination.empty())
            request.put(RTA_DST, TRY(address_from_string(r.family, r.destination)));
        if (!r.source.empty())
            request.put(RTA_SRC, TRY(address_from_string(r.family, r.source)));
        if (!r.gateway.empty())
            request.put(RTA_GATEWAY, TRY(address_from_string(r.family, r.gateway)));
        if (!r.preferred_source.empty())
            request.put(RTA_PREFSRC, TRY(address_from_string(r.family, r.preferred_source)));
        if (!r.link.empty())
            request.put_u32(RTA_OIF, static_cast<uint32_t>(indices.at(r.link)));
        if (r.has_priority)
            request.put_u32(RTA_PRIORITY, r.priority);
        if (r.has_preference)
            request.put_u8(RTA_PREF, r.preference);
        if (!r.metrics.empty()) {
            auto metrics = request.begin_nested(RTA_METRICS);
            for (auto const& [type, value] : r.metrics)
                request.put_u32(type, value);
            request.end_nested(metrics);
        }
        auto added = inside.request(request);
        if (!added && added.error().is_errno(EEXIST))
            return {};
        return added;
    }

    Result<void> routes(NetState const& state, std::map<std::string, int> const& indices)
    {
        // A gateway may be reachable only through another recorded route: add what can be
        // added, and go round again while that makes progress.
        std::vector<NetRoute const*> pending;
        for (auto const& r : state.routes)
            pending.push_back(&r);
        while (!pending.empty()) {
            std::vector<NetRoute const*> again;
            std::optional<Error> last;
            for (auto const* r : pending) {
                auto added = add_route(*r, indices);
                if (added)
                    continue;
                if (!added.error().is_errno(ENETUNREACH) && !added.error().is_errno(EHOSTUNREACH))
                    return added.release_error().add_context(
                        fmt::format("restore route {}/{}", r->destination.empty() ? "default" : r->destination,
                                    r->destination_length));
                again.push_back(r);
                last = added.release_error();
            }
            if (again.size() == pending.size())
                return last->add_context(fmt::format("restore route {}/{}",
                                                     again[0]->destination.empty() ? "default" : again[0]->destination,
                                                     again[0]->destination_length));
            pending = std::move(again);
        }
        return {};
    }
};

} // namespace

Result<void> dump_net_namespace(int pid, std::string const& dir)
{
    auto collected = [&]() -> Result<NetState> {
        auto netns = TRY(sys::open_ns(pid, "net"));
        auto caller_ns = TRY(sys::open("/proc/thread-self/ns/net", O_RDONLY));
        auto inside = TRY(RtNetlink::open_in(netns).context("open rtnetlink in it"));
        auto outside = TRY(RtNetlink::open());
        return collect(inside, outside, caller_ns);
    }();
    if (!collected)
        return collected.release_error().add_context(fmt::format("dump net namespace of {}", pid));
    TRY(sys::mkdir_all(dir, 0700).context("dump net namespace of {}: create {}", pid, dir));
    TRY(sys::write_file_atomic(dir + "/" + kNetFile, encode_net_state(*collected), 0600)
            .context("dump net namespace of {}", pid));
    return {};
}

Result<void> restore_net_namespace(int pid, std::string const& dir)
{
    auto text
        = TRY(sys::read_file(dir + "/" + kNetFile).context("restore net namespace of {}: read {}", pid, kNetFile));
    auto state = TRY(decode_net_state(text).context("restore net namespace of {}", pid));
    auto restored = [&]() -> Result<void> {
        auto netns = TRY(sys::open_ns(pid, "net"));
        auto inside = TRY(RtNetlink::open_in(netns).context("open rtnetlink in it"));
        auto outside = TRY(RtNetlink::open());
        Restorer restorer { .inside = inside, .outside = outside, .netns = netns, .created_outside = {} };
        ArmedScopeGuard undo([&] {
            // Deleting one end of a veth deletes its pair, wherever the other end is.
            for (int index : restorer.created_outside)
                (void)sys::rtnl::delete_link(outside, index);
        });
        TRY(restorer.links(state));
        std::map<std::string, int> indices;
        for (auto const& link : TRY(dump_links(inside)))
            indices[link.state.name] = link.state.index;
        TRY(restorer.addresses(state, indices));
        TRY(restorer.routes(state, indices));
        undo.disarm();
        return {};
    }();
    return std::move(restored).context("restore net namespace of {}", pid);
}

} // namespace cryo::checkpoint
