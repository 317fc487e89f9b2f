#include "checkpoint/files_udp.h"

#include <chrono>
#include <fcntl.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <thread>

#include "base/scope_guard.h"
#include "checkpoint/image.h"
#include "checkpoint/inet_socket.h"
#include "checkpoint/socket_options.h"
#include "sys/file_kinds.h"
#include "sys/process.h"
#include "sys/udp_socket.h"

namespace cryo::checkpoint {

namespace {

// The address a datagram to `u` is sent to: its own, or loopback for a wildcard one (of
// the source's form: a v4-mapped source reaches a dual-stack socket at ::ffff:127.0.0.1).
sys::InetAddress destination_of(UdpState const& u, UdpDatagram const& d)
{
    std::string address = u.local_address;
    if (address == "0.0.0.0")
        address = "127.0.0.1";
    else if (address == "::")
        address = d.source_address.starts_with("::ffff:") ? "::ffff:127.0.0.1" : "::1";
    return { u.family, address, u.local_port };
}

Result<void> apply_options(FdRef s, UdpState const& u, bool reuse_address)
{
    TRY(set_flag(s, SOL_SOCKET, SO_REUSEADDR, reuse_address).context("SO_REUSEADDR"));
    TRY(set_flag(s, SOL_SOCKET, SO_REUSEPORT, u.reuse_port).context("SO_REUSEPORT"));
    TRY(set_flag(s, SOL_SOCKET, SO_BROADCAST, u.broadcast).context("SO_BROADCAST"));
    return apply_buffer_sizes(s, { u.send_buffer, u.receive_buffer });
}

// Sends one saved datagram to `receiver` from its source address and waits until it is
// queued there (loopback delivery goes through a per-CPU backlog: waiting keeps the order).
Result<void> requeue(FdRef receiver, UdpState const& u, UdpDatagram const& d, std::string const& payload)
{
    auto to = destination_of(u, d);
    int family = d.source_address.find(':') != std::string::npos ? AF_INET6 : AF_INET;
    sys::InetAddress from { family, d.source_address, d.source_port };
    uint32_t before = TRY(sys::receive_memory(receiver));
    if (from.address == to.address && from.port == to.port) {
        TRY(sys::send_datagram(receiver, payload, to)); // a datagram it sent itself
    } else {
        auto sender = TRY(sys::socket(family, SOCK_DGRAM));
        // Every restored UDP socket has SO_REUSEADDR for now: the source may be one of them.
        TRY(set_flag(sender, SOL_SOCKET, SO_REUSEADDR, true));
        TRY(sys::bind_inet(sender, from).context("bind to the source {}", endpoint(from.address, from.port, family)));
        TRY(sys::send_datagram(sender, payload, to));
    }
    for (int i = 0; i < 1000; ++i) {
        if (TRY(sys::receive_memory(receiver)) > before)
            return {};
        std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    return Error::format("the datagram from {} did not arrive", endpoint(from.address, from.port, family));
}

} // namespace

std::string udp_summary(UdpState const& u)
{
    std::string out = u.local_port ? fmt::format("udp {}", endpoint(u.local_address, u.local_port, u.family))
                                   : std::string("udp unbound");
    if (u.connected)
        out += fmt::format(" -> {}", endpoint(u.peer_address, u.peer_port, u.family));
    if (!u.queue.empty())
        out += fmt::format(", {} queued datagram{}", u.queue.size(), u.queue.size() == 1 ? "" : "s");
    return out;
}

Result<void> classify_udp_socket(FdRef s, FileDescription& d, SocketDefaults& defaults)
{
    auto& u = d.udp;
    u.family = TRY(sys::socket_option(s, SOL_SOCKET, SO_DOMAIN));
    auto local = TRY(sys::socket_name(s));
    u.local_address = local.address;
    u.local_port = local.port;
    if (auto peer = sys::peer_name(s)) {
        u.connected = true;
        u.peer_address = peer->address;
        u.peer_port = peer->port;
    } else if (!peer.error().is_errno(ENOTCONN)) {
        return peer.release_error();
    }
    u.reuse_address = TRY(flag_option(s, SOL_SOCKET, SO_REUSEADDR));
    u.reuse_port = TRY(flag_option(s, SOL_SOCKET, SO_REUSEPORT));
    u.broadcast = TRY(flag_option(s, SOL_SOCKET, SO_BROADCAST));
    if (u.family == AF_INET6)
        u.v6_only = TRY(flag_option(s, IPPROTO_IPV6, IPV6_V6ONLY));
    auto const* fresh = TRY(defaults.of(s, u.family, SOCK_DGRAM, IPPROTO_UDP));
    auto sizes = TRY(read_buffer_sizes(s, { fresh->send_buffer, fresh->receive_buffer }));
    u.send_buffer = sizes.send;
    u.receive_buffer = sizes.receive;
    d.kind = FileKind::UdpSocket;
    d.path = udp_summary(u);
    d.socket_options
        = TRY(collect_socket_options(s, u.family, SOCK_DGRAM, IPPROTO_UDP, defaults).context("{}", d.path));
    return {};
}

Result<std::string> save_udp_queue(int pid, int fd, FileDescription& d)
{
    auto pidfd = TRY(sys::pidfd_open(pid));
    auto s = TRY(sys::pidfd_getfd(pidfd, fd));
    auto datagrams = TRY(sys::peek_datagrams(s).context("{}: queued datagrams cannot be copied without "
                                                        "consuming them",
                                                        d.path));
    std::string data;
    d.udp.queue.clear();
    for (auto const& g : datagrams) {
        d.udp.queue.push_back({ g.source.address, g.source.port, static_cast<uint32_t>(g.data.size()) });
        data += g.data;
    }
    d.path = udp_summary(d.udp);
    return data;
}

Result<void> open_udp_sockets(std::vector<FileDescription> const& descriptions, ImageReader const& image,
                              std::map<uint32_t, Fd>& fds)
{
    // 1. Every socket bound, with SO_REUSEADDR for now (a queued datagram's source may be
    // one of them), its buffers sized, not connected yet.
    std::vector<FileDescription const*> udp;
    for (auto const& d : descriptions) {
        if (d.kind != FileKind::UdpSocket)
            continue;
        auto const& u = d.udp;
        auto what = [&] { return fmt::format("file description {} ({})", d.id, udp_summary(u)); };
        auto s = TRY(sys::socket(u.family, SOCK_DGRAM).context("{}", what()));
        if (u.family == AF_INET6)
            TRY(set_flag(s, IPPROTO_IPV6, IPV6_V6ONLY, u.v6_only).context("{}: IPV6_V6ONLY", what()));
        TRY(apply_options(s, u, true).context("{}", what()));
        TRY(apply_socket_options(s, d.socket_options, OptionPhase::BeforeBind).context("{}", what()));
        if (u.local_port)
            TRY(sys::bind_inet(s, { u.family, u.local_address, u.local_port }).context("{}", what()));
        fds[d.id] = std::move(s);
        udp.push_back(&d);
    }
    // 2. The queued datagrams, in order, from their sources.
    for (auto const* d : udp) {
        if (d->udp.queue.empty())
            continue;
        auto what = [&] { return fmt::format("file description {} ({})", d->id, udp_summary(d->udp)); };
        std::string data = TRY(image.read_file(file_data_name(d->id)).context("{}", what()));
        uint64_t total = 0;
        for (auto const& g : d->udp.queue)
            total += g.size;
        if (total != data.size() || d->size != data.size())
            return Error::format("{}: queued data: {} bytes, expected {}", what(), data.size(), total);
        size_t offset = 0;
        for (auto const& g : d->udp.queue) {
            TRY(requeue(fds.at(d->id), d->udp, g, data.substr(offset, g.size)).context("{}", what()));
            offset += g.size;
        }
    }
    // 3. Connected ones connect; every socket gets its own SO_REUSEADDR and flags back.
    for (auto const* d : udp) {
        auto const& u = d->udp;
        auto what = [&] { return fmt::format("file description {} ({})", d->id, udp_summary(u)); };
        auto const& s = fds.at(d->id);
        if (u.connected)
            TRY(sys::connect_inet(s, { u.family, u.peer_address, u.peer_port }).context("{}", what()));
        TRY(set_flag(s, SOL_SOCKET, SO_REUSEADDR, u.reuse_address).context("{}: SO_REUSEADDR", what()));
        TRY(apply_socket_options(s, d->socket_options, OptionPhase::AfterSetup).context("{}", what()));
        TRY(sys::set_status_flags(s, d->flags & O_NONBLOCK).context("{}", what()));
    }
    return {};
}

void encode_udp(FileDescription const& d, nlohmann::json& e)
{
    auto const& u = d.udp;
    nlohmann::json queue = nlohmann::json::array();
    for (auto const& g : u.queue)
        queue.push_back({ g.source_address, g.source_port, g.size });
    nlohmann::json j = { { "family", u.family == AF_INET6 ? "ipv6" : "ipv4" },
                         { "local", { u.local_address, u.local_port } },
                         { "options",
                           { { "reuse_address", u.reuse_address },
                             { "reuse_port", u.reuse_port },
                             { "broadcast", u.broadcast },
                             { "v6_only", u.v6_only },
                             { "send_buffer", u.send_buffer },
                             { "receive_buffer", u.receive_buffer } } },
                         { "queue", std::move(queue) } };
    if (u.connected)
        j["peer"] = { u.peer_address, u.peer_port };
    e["udp"] = std::move(j);
}

void decode_udp(nlohmann::json const& e, FileDescription& d)
{
    auto const& j = e.at("udp");
    auto& u = d.udp;
    u.family = j.value("family", "ipv4") == "ipv6" ? AF_INET6 : AF_INET;
    auto const& local = j.at("local");
    u.local_address = local.at(0).get<std::string>();
    u.local_port = local.at(1).get<uint16_t>();
    if (j.contains("peer")) {
        auto const& peer = j["peer"];
        u.connected = true;
        u.peer_address = peer.at(0).get<std::string>();
        u.peer_port = peer.at(1).get<uint16_t>();
    }
    if (j.contains("options")) {
        auto const& o = j["options"];
        u.reuse_address = o.value("reuse_address", false);
        u.reuse_port = o.value("reuse_port", false);
        u.broadcast = o.value("broadcast", false);
        u.v6_only = o.value("v6_only", false);
        u.send_buffer = o.value("send_buffer", 0u);
        u.receive_buffer = o.value("receive_buffer", 0u);
    }
    // at() throws on a short entry: codec.cpp turns it into an error naming the image.
    for (auto const& g : j.value("queue", nlohmann::json::array()))
        u.queue.push_back({ g.at(0).get<std::string>(), g.at(1).get<uint16_t>(), g.at(2).get<uint32_t>() });
}

} // namespace cryo::checkpoint
