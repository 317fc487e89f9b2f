#include "checkpoint/socket_options.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <optional>
#include <sys/socket.h>
#include <sys/time.h>

#include "sys/file.h"
#include "sys/file_kinds.h"
#include "sys/netns_socket.h"
#include "sys/ns.h"
#include "sys/tcp_socket.h"

#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND 78 // linux/in6.h, since 4.15; older glibc headers lack it
#endif
#ifndef IPV6_TRANSPARENT
#define IPV6_TRANSPARENT 75
#endif

namespace cryo::checkpoint {

namespace {

using enum OptionKind;
constexpr uint8_t kInet4 = kTcp4 | kUdp4;
constexpr uint8_t kInet6 = kTcp6 | kUdp6;
constexpr uint8_t kInet = kInet4 | kInet6;
constexpr uint8_t kTcp = kTcp4 | kTcp6;
constexpr uint8_t kUdp = kUdp4 | kUdp6;
constexpr uint8_t kAll = kInet | kUnix;
constexpr auto kEarly = OptionPhase::BeforeBind;
constexpr auto kLate = OptionPhase::AfterSetup;

// Left out on purpose (see socket_options.h for those kept elsewhere):
// - TCP_QUICKACK: not a setting, the kernel turns it off again by itself;
// - TCP_CORK / UDP_CORK: would hold back data the program already sent;
// - SO_PEEK_OFF: the dump itself moves it (files_collect.cpp peeks with it);
// - SO_ATTACH_FILTER / BPF programs, multicast memberships: not readable back as set.
constexpr SocketOptionSpec kTable[] = {
    // SOL_SOCKET (man 7 socket).
    { "SO_LINGER", SOL_SOCKET, SO_LINGER, Linger, kAll, kLate },
    { "SO_RCVTIMEO", SOL_SOCKET, SO_RCVTIMEO, Timeval, kAll, kLate },
    { "SO_SNDTIMEO", SOL_SOCKET, SO_SNDTIMEO, Timeval, kAll, kLate },
    { "SO_MARK", SOL_SOCKET, SO_MARK, Int, kInet, kLate }, // CAP_NET_ADMIN (or CAP_NET_RAW)
    { "SO_RCVLOWAT", SOL_SOCKET, SO_RCVLOWAT, Int, kAll, kLate },
    { "SO_OOBINLINE", SOL_SOCKET, SO_OOBINLINE, Bool, kTcp, kLate },
    { "SO_KEEPALIVE", SOL_SOCKET, SO_KEEPALIVE, Bool, kUdp | kUnix, kLate }, // TCP: TcpState
    { "SO_PASSCRED", SOL_SOCKET, SO_PASSCRED, Bool, kUnix, kLate },
    { "SO_PASSSEC", SOL_SOCKET, SO_PASSSEC, Bool, kUnix, kLate },
    // getsockopt shows at most one of the two (TIMESTAMPNS implies TIMESTAMP in the kernel).
    { "SO_TIMESTAMP", SOL_SOCKET, SO_TIMESTAMP, Bool, kAll, kLate },
    { "SO_TIMESTAMPNS", SOL_SOCKET, SO_TIMESTAMPNS, Bool, kAll, kLate },
    { "SO_DONTROUTE", SOL_SOCKET, SO_DONTROUTE, Bool, kInet, kLate },
    // Routing decides the source address at bind/connect: set before.
    { "SO_BINDTODEVICE", SOL_SOCKET, SO_BINDTODEVICE, String, kInet, kEarly },
    // IPPROTO_IP (man 7 ip), AF_INET sockets.
    { "IP_TOS", IPPROTO_IP, IP_TOS, Int, kInet4, kLate },
    { "IP_TTL", IPPROTO_IP, IP_TTL, Int, kInet4, kLate },
    { "IP_PKTINFO", IPPROTO_IP, IP_PKTINFO, Bool, kUdp4, kLate },
    { "IP_RECVTTL", IPPROTO_IP, IP_RECVTTL, Bool, kUdp4, kLate },
    { "IP_RECVTOS", IPPROTO_IP, IP_RECVTOS, Bool, kUdp4, kLate },
    { "IP_RECVERR", IPPROTO_IP, IP_RECVERR, Bool, kInet4, kLate },
    { "IP_MTU_DISCOVER", IPPROTO_IP, IP_MTU_DISCOVER, Int, kInet4, kLate },
    { "IP_MULTICAST_TTL", IPPROTO_IP, IP_MULTICAST_TTL, Int, kUdp4, kLate },
    { "IP_MULTICAST_LOOP", IPPROTO_IP, IP_MULTICAST_LOOP, Bool, kUdp4, kLate },
    // Let bind take an address not (yet) on the host: before bind.
    { "IP_FREEBIND", IPPROTO_IP, IP_FREEBIND, Bool, kInet4, kEarly },
    { "IP_TRANSPARENT", IPPROTO_IP, IP_TRANSPARENT, Bool, kInet4, kEarly }, // CAP_NET_ADMIN
    // IPPROTO_IPV6 (man 7 ipv6), AF_INET6 sockets.
    { "IPV6_RECVPKTINFO", IPPROTO_IPV6, IPV6_RECVPKTINFO, Bool, kUdp6, kLate },
    { "IPV6_UNICAST_HOPS", IPPROTO_IPV6, IPV6_UNICAST_HOPS, Int, kInet6, kLate },
    { "IPV6_TCLASS", IPPROTO_IPV6, IPV6_TCLASS, Int, kInet6, kLate },
    { "IPV6_RECVERR", IPPROTO_IPV6, IPV6_RECVERR, Bool, kInet6, kLate },
    { "IPV6_RECVHOPLIMIT", IPPROTO_IPV6, IPV6_RECVHOPLIMIT, Bool, kUdp6, kLate },
    { "IPV6_RECVTCLASS", IPPROTO_IPV6, IPV6_RECVTCLASS, Bool, kUdp6, kLate },
    { "IPV6_MULTICAST_HOPS", IPPROTO_IPV6, IPV6_MULTICAST_HOPS, Int, kUdp6, kLate },
    { "IPV6_MULTICAST_LOOP", IPPROTO_IPV6, IPV6_MULTICAST_LOOP, Bool, kUdp6, kLate },
    { "IPV6_FREEBIND", IPPROTO_IPV6, IPV6_FREEBIND, Bool, kInet6, kEarly },
    { "IPV6_TRANSPARENT", IPPROTO_IPV6, IPV6_TRANSPARENT, Bool, kInet6, kEarly },
    // After IP_TOS: setting IP_TOS also sets the priority (rt_tos2priority). Above 6 it
    // needs CAP_NET_ADMIN.
    { "SO_PRIORITY", SOL_SOCKET, SO_PRIORITY, Int, kAll, kLate },
    // IPPROTO_TCP (man 7 tcp).
    { "TCP_KEEPIDLE", IPPROTO_TCP, TCP_KEEPIDLE, Int, kTcp, kLate },
    { "TCP_KEEPINTVL", IPPROTO_TCP, TCP_KEEPINTVL, Int, kTcp, kLate },
    { "TCP_KEEPCNT", IPPROTO_TCP, TCP_KEEPCNT, Int, kTcp, kLate },
    { "TCP_USER_TIMEOUT", IPPROTO_TCP, TCP_USER_TIMEOUT, Int, kTcp, kLate },
    { "TCP_CONGESTION", IPPROTO_TCP, TCP_CONGESTION, String, kTcp, kLate },
    { "TCP_NOTSENT_LOWAT", IPPROTO_TCP, TCP_NOTSENT_LOWAT, Int, kTcp, kLate },
    { "TCP_LINGER2", IPPROTO_TCP, TCP_LINGER2, Int, kTcp, kLate },
    // The kernel keeps it as a retransmission count: getsockopt shows the seconds that count
    // covers (5 reads back as 7), which set again reads back the same.
    { "TCP_DEFER_ACCEPT", IPPROTO_TCP, TCP_DEFER_ACCEPT, Int, kTcp, kEarly },
    // The fast open queue length: only before listen(2).
    { "TCP_FASTOPEN", IPPROTO_TCP, TCP_FASTOPEN, Int, kTcp, kEarly },
    // IPPROTO_UDP (man 7 udp).
    { "UDP_SEGMENT", IPPROTO_UDP, UDP_SEGMENT, Int, kUdp, kLate },
    { "UDP_GRO", IPPROTO_UDP, UDP_GRO, Bool, kUdp, kLate },
};

bool is_unknown_option(Error const& e)
{
    return e.is_errno(ENOPROTOOPT) || e.is_errno(EOPNOTSUPP);
}

// One option's value as getsockopt shows it; nullopt when the kernel does not know it.
Result<std::optional<SocketOption>> read_option(FdRef s, SocketOptionSpec const& spec)
{
    SocketOption out { spec.name, 0, 0, {} };
    union {
        int i;
        timeval tv;
        linger l;
        char text[32]; // IFNAMSIZ (16), TCP_CA_NAME_MAX (16), and a NUL
    } buffer;
    std::memset(&buffer, 0, sizeof buffer);
    size_t size = spec.kind == Int || spec.kind == Bool ? sizeof buffer.i
        : spec.kind == Timeval                          ? sizeof buffer.tv
        : spec.kind == Linger                           ? sizeof buffer.l
                                                        : sizeof buffer.text - 1;
    auto got = sys::get_raw_option(s, spec.level, spec.option, &buffer, size);
    if (!got) {
        if (is_unknown_option(got.error()))
            return std::optional<SocketOption> {};
        return std::move(got).context("getsockopt {}", spec.name).release_error();
    }
    switch (spec.kind) {
    case Int:
        out.value = buffer.i;
        break;
    case Bool:
        out.value = buffer.i != 0;
        break;
    case Timeval:
        out.value = static_cast<int64_t>(buffer.tv.tv_sec) * 1'000'000 + buffer.tv.tv_usec;
        break;
    case Linger:
        out.value = buffer.l.l_onoff != 0;
        out.seconds = buffer.l.l_linger;
        break;
    case String:
        out.text.assign(buffer.text, strnlen(buffer.text, std::min(*got, sizeof buffer.text - 1)));
        break;
    }
    return std::optional<SocketOption> { std::move(out) };
}

Result<void> write_option(FdRef s, SocketOptionSpec const& spec, SocketOption const& o)
{
    switch (spec.kind) {
    case Int:
    case Bool: {
        if (o.value < INT32_MIN || o.value > INT32_MAX)
            return Error::format("value {} out of range", o.value);
        int v = static_cast<int>(o.value);
        return sys::set_raw_option(s, spec.level, spec.option, &v, sizeof v);
    }
    case Timeval: {
        if (o.value < 0)
            return Error::format("negative time {}", o.value);
        timeval tv { static_cast<time_t>(o.value / 1'000'000), static_cast<suseconds_t>(o.value % 1'000'000) };
        return sys::set_raw_option(s, spec.level, spec.option, &tv, sizeof tv);
    }
    case Linger: {
        linger l { o.value != 0, static_cast<int>(o.seconds) };
        return sys::set_raw_option(s, spec.level, spec.option, &l, sizeof l);
    }
    case String:
        // SO_BINDTODEVICE takes the name with or without its NUL; TCP_CONGESTION its length.
        return sys::set_raw_option(s, spec.level, spec.option, o.text.data(), o.text.size());
    }
    return Error::make("unknown option kind");
}

} // namespace

std::span<SocketOptionSpec const> socket_option_table()
{
    return kTable;
}

SocketOptionSpec const* find_socket_option(std::string const& name)
{
    for (auto const& spec : kTable)
        if (name == spec.name)
            return &spec;
    return nullptr;
}

uint8_t socket_class(int family, int type, int protocol)
{
    if (family == AF_UNIX)
        return kUnix;
    bool v6 = family == AF_INET6;
    if (family != AF_INET && !v6)
        return 0;
    if (type == SOCK_STREAM && (protocol == 0 || protocol == IPPROTO_TCP))
        return v6 ? kTcp6 : kTcp4;
    if (type == SOCK_DGRAM && (protocol == 0 || protocol == IPPROTO_UDP))
        return v6 ? kUdp6 : kUdp4;
    return 0;
}

Result<SocketDefaults::Values const*> SocketDefaults::of(FdRef s, int family, int type, int protocol)
{
    Key key { .netns_device = 0, .netns_inode = 0, .family = family, .type = type, .protocol = protocol };
    auto netns = sys::socket_netns(s);
    if (netns) {
        auto st = TRY(sys::fstat(*netns).context("network namespace of the socket"));
        key.netns_device = st.st_dev;
        key.netns_inode = st.st_ino;
    }
    if (auto found = m_values.find(key); found != m_values.end())
        return &found->second;
    // socket_class() admits only the protocols a 0 stands for (TCP, UDP, unix).
    auto make = [&] { return sys::socket(family, type); };
    auto fresh
        = TRY((netns ? sys::open_in_netns(*netns, make) : make()).context("a fresh socket to compare options with"));
    uint8_t klass = socket_class(family, type, protocol);
    Values values;
    values.options.resize(std::size(kTable));
    for (size_t i = 0; i < std::size(kTable); ++i)
        if (kTable[i].applies & klass)
            values.options[i] = TRY(read_option(fresh, kTable[i]).context("a fresh socket"));
    values.send_buffer = static_cast<uint32_t>(TRY(sys::socket_option(fresh, SOL_SOCKET, SO_SNDBUF)));
    values.receive_buffer = static_cast<uint32_t>(TRY(sys::socket_option(fresh, SOL_SOCKET, SO_RCVBUF)));
    return &m_values.emplace(key, std::move(values)).first->second;
}

Result<std::vector<SocketOption>> collect_socket_options(FdRef s, int family, int type, int protocol,
                                                         SocketDefaults& defaults)
{
    std::vector<SocketOption> out;
    uint8_t klass = socket_class(family, type, protocol);
    if (!klass)
        return out;
    // A fresh socket shows the defaults of this kernel and its sysctls (TCP_CONGESTION,
    // IP_TTL, keepalive times ...): only what the program changed is kept.
    auto const& reference = TRY(defaults.of(s, family, type, protocol))->options;
    for (size_t i = 0; i < std::size(kTable); ++i) {
        auto const& spec = kTable[i];
        if (!(spec.applies & klass))
            continue;
        auto mine = TRY(read_option(s, spec));
        if (!mine)
            continue;
        if (reference[i] && *reference[i] == *mine)
            continue;
        out.push_back(std::move(*mine));
    }
    return out;
}

Result<void> apply_socket_options(FdRef s, std::vector<SocketOption> const& options, OptionPhase phase)
{
    for (auto const& o : options)
        if (!find_socket_option(o.name))
            return Error::format("socket option {}: unknown to this cryo", o.name);
    // In table order, whatever the image's: some options change others (IP_TOS sets
    // SO_PRIORITY), the table puts those first.
    for (auto const& spec : kTable) {
        if (spec.phase != phase)
            continue;
        for (auto const& o : options)
            if (o.name == spec.name)
                TRY(write_option(s, spec, o).context("socket option {}", to_string(o)));
    }
    return {};
}

std::string to_string(SocketOption const& o)
{
    auto const* spec = find_socket_option(o.name);
    if (!spec)
        return fmt::format("{}={}", o.name, o.value);
    switch (spec->kind) {
    case Int:
    case Bool:
        return fmt::format("{}={}", o.name, o.value);
    case Timeval:
        return fmt::format("{}={}.{:06}s", o.name, o.value / 1'000'000, o.value % 1'000'000);
    case Linger:
        return fmt::format("{}={},{}s", o.name, o.value ? "on" : "off", o.seconds);
    case String:
        return fmt::format("{}={}", o.name, o.text);
    }
    return o.name;
}

} // namespace cryo::checkpoint
