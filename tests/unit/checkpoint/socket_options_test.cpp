// The socket option table, default filtering against a fresh socket, apply + collect round
// trips on plain (unprivileged) sockets, and the image codec of the saved options.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nlohmann/json.hpp>
#include <sched.h>
#include <set>
#include <string_view>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "checkpoint/files_codec.h"
#include "checkpoint/inet_socket.h"
#include "checkpoint/socket_options.h"
#include "sys/file.h"
#include "sys/file_kinds.h"
#include "sys/tcp_socket.h"

namespace cryo::checkpoint {
namespace {

Fd make_socket(int family, int type)
{
    return MUST(sys::socket(family, type));
}

void set_int(FdRef s, int level, int name, int value)
{
    MUST(sys::set_socket_option(s, level, name, value));
}

SocketOption const* find(std::vector<SocketOption> const& options, std::string_view name)
{
    for (auto const& o : options)
        if (o.name == name)
            return &o;
    return nullptr;
}

TEST(SocketOptions, TableIsConsistent)
{
    std::set<std::string> names;
    for (auto const& spec : socket_option_table()) {
        EXPECT_TRUE(names.insert(spec.name).second) << spec.name << " twice";
        EXPECT_NE(spec.applies, 0) << spec.name;
        // IP-level options only on AF_INET sockets, IPv6 ones only on AF_INET6.
        if (spec.level == IPPROTO_IP) {
            EXPECT_EQ(spec.applies & (kTcp6 | kUdp6 | kUnix), 0) << spec.name;
        }
        if (spec.level == IPPROTO_IPV6) {
            EXPECT_EQ(spec.applies & (kTcp4 | kUdp4 | kUnix), 0) << spec.name;
        }
        if (spec.level == IPPROTO_TCP) {
            EXPECT_EQ(spec.applies & ~(kTcp4 | kTcp6), 0) << spec.name;
        }
        EXPECT_EQ(find_socket_option(spec.name), &spec);
    }
    EXPECT_EQ(find_socket_option("SO_NOT_AN_OPTION"), nullptr);
    // Those that must come before bind/listen.
    for (auto name : { "IP_FREEBIND", "IP_TRANSPARENT", "SO_BINDTODEVICE", "TCP_FASTOPEN", "TCP_DEFER_ACCEPT" })
        EXPECT_EQ(find_socket_option(name)->phase, OptionPhase::BeforeBind) << name;
    EXPECT_EQ(find_socket_option("SO_RCVTIMEO")->phase, OptionPhase::AfterSetup);
    EXPECT_EQ(socket_class(AF_INET, SOCK_STREAM, IPPROTO_TCP), kTcp4);
    EXPECT_EQ(socket_class(AF_INET6, SOCK_DGRAM, 0), kUdp6);
    EXPECT_EQ(socket_class(AF_UNIX, SOCK_SEQPACKET, 0), kUnix);
    EXPECT_EQ(socket_class(AF_INET, SOCK_RAW, IPPROTO_ICMP), 0);
}

TEST(SocketOptions, FreshSocketsKeepNothing)
{
    SocketDefaults defaults;
    for (auto [family, type] : { std::pair { AF_INET, SOCK_STREAM },
                                 { AF_INET, SOCK_DGRAM },
                                 { AF_INET6, SOCK_STREAM },
                                 { AF_INET6, SOCK_DGRAM },
                                 { AF_UNIX, SOCK_STREAM },
                                 { AF_UNIX, SOCK_DGRAM } }) {
        auto s = make_socket(family, type);
        auto options = MUST(collect_socket_options(s, family, type, 0, defaults));
        EXPECT_TRUE(options.empty()) << family << "/" << type << ": " << (options.empty() ? "" : to_string(options[0]));
    }
}

TEST(SocketOptions, TcpNonDefaultsAreCollectedAndApplied)
{
    SocketDefaults defaults;
    auto s = make_socket(AF_INET, SOCK_STREAM);
    timeval tv { 1, 500000 };
    MUST(sys::set_raw_option(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
    linger l { 1, 5 };
    MUST(sys::set_raw_option(s, SOL_SOCKET, SO_LINGER, &l, sizeof l));
    set_int(s, IPPROTO_IP, IP_TOS, 0x10);
    set_int(s, IPPROTO_TCP, TCP_KEEPIDLE, 77);
    set_int(s, IPPROTO_TCP, TCP_KEEPCNT, 3);
    set_int(s, IPPROTO_TCP, TCP_USER_TIMEOUT, 12345);
    set_int(s, IPPROTO_TCP, TCP_DEFER_ACCEPT, 5);
    MUST(sys::set_raw_option(s, IPPROTO_TCP, TCP_CONGESTION, "reno", 4));
    auto options = MUST(collect_socket_options(s, AF_INET, SOCK_STREAM, IPPROTO_TCP, defaults));

    ASSERT_NE(find(options, "SO_RCVTIMEO"), nullptr);
    // Jiffies rounding: 1.5 s is a whole number of ticks at any HZ the kernel is built with.
    EXPECT_EQ(find(options, "SO_RCVTIMEO")->value, 1'500'000);
    ASSERT_NE(find(options, "SO_LINGER"), nullptr);
    EXPECT_EQ(find(options, "SO_LINGER")->value, 1);
    EXPECT_EQ(find(options, "SO_LINGER")->seconds, 5);
    ASSERT_NE(find(options, "IP_TOS"), nullptr);
    EXPECT_EQ(find(options, "IP_TOS")->value, 0x10);
    ASSERT_NE(find(options, "TCP_KEEPIDLE"), nullptr);
    EXPECT_EQ(find(options, "TCP_KEEPIDLE")->value, 77);
    ASSERT_NE(find(options, "TCP_USER_TIMEOUT"), nullptr);
    EXPECT_EQ(find(options, "TCP_USER_TIMEOUT")->value, 12345);
    ASSERT_NE(find(options, "TCP_DEFER_ACCEPT"), nullptr);
    EXPECT_GE(find(options, "TCP_DEFER_ACCEPT")->value, 5); // kept as retransmissions: rounded up
    ASSERT_NE(find(options, "TCP_CONGESTION"), nullptr);
    EXPECT_EQ(find(options, "TCP_CONGESTION")->text, "reno");
    // Not changed: not kept.
    EXPECT_EQ(find(options, "SO_SNDTIMEO"), nullptr);
    EXPECT_EQ(find(options, "TCP_KEEPINTVL"), nullptr);
    EXPECT_EQ(find(options, "IP_TTL"), nullptr);

    // Applied to a fresh socket, both phases: it reads back the same.
    auto restored = make_socket(AF_INET, SOCK_STREAM);
    MUST(apply_socket_options(restored, options, OptionPhase::BeforeBind));
    auto early = MUST(collect_socket_options(restored, AF_INET, SOCK_STREAM, IPPROTO_TCP, defaults));
    EXPECT_NE(find(early, "TCP_DEFER_ACCEPT"), nullptr);
    EXPECT_EQ(find(early, "SO_RCVTIMEO"), nullptr) << "a late option set before bind";
    MUST(apply_socket_options(restored, options, OptionPhase::AfterSetup));
    EXPECT_EQ(MUST(collect_socket_options(restored, AF_INET, SOCK_STREAM, IPPROTO_TCP, defaults)), options);
}

TEST(SocketOptions, UdpAndUnixOptions)
{
    SocketDefaults defaults;
    auto u = make_socket(AF_INET, SOCK_DGRAM);
    set_int(u, IPPROTO_IP, IP_PKTINFO, 1);
    set_int(u, IPPROTO_IP, IP_RECVTTL, 1);
    set_int(u, IPPROTO_IP, IP_MULTICAST_LOOP, 0);
    set_int(u, SOL_SOCKET, SO_TIMESTAMPNS, 1);
    auto options = MUST(collect_socket_options(u, AF_INET, SOCK_DGRAM, IPPROTO_UDP, defaults));
    ASSERT_NE(find(options, "IP_PKTINFO"), nullptr);
    ASSERT_NE(find(options, "IP_RECVTTL"), nullptr);
    ASSERT_NE(find(options, "IP_MULTICAST_LOOP"), nullptr);
    EXPECT_EQ(find(options, "IP_MULTICAST_LOOP")->value, 0);
    ASSERT_NE(find(options, "SO_TIMESTAMPNS"), nullptr);
    EXPECT_EQ(find(options, "SO_TIMESTAMP"), nullptr) << "getsockopt shows only the nanosecond one";
    auto restored = make_socket(AF_INET, SOCK_DGRAM);
    MUST(apply_socket_options(restored, options, OptionPhase::AfterSetup));
    EXPECT_EQ(MUST(collect_socket_options(restored, AF_INET, SOCK_DGRAM, IPPROTO_UDP, defaults)), options);

    auto v6 = make_socket(AF_INET6, SOCK_DGRAM);
    set_int(v6, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
    set_int(v6, IPPROTO_IPV6, IPV6_TCLASS, 0x20);
    auto v6_options = MUST(collect_socket_options(v6, AF_INET6, SOCK_DGRAM, 0, defaults));
    EXPECT_NE(find(v6_options, "IPV6_RECVPKTINFO"), nullptr);
    EXPECT_NE(find(v6_options, "IPV6_TCLASS"), nullptr);
    EXPECT_EQ(find(v6_options, "IP_PKTINFO"), nullptr);

    auto [a, b] = MUST(sys::socketpair(AF_UNIX, SOCK_SEQPACKET));
    set_int(a, SOL_SOCKET, SO_PASSCRED, 1);
    timeval tv { 0, 250000 };
    MUST(sys::set_raw_option(a, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv));
    auto unix_options = MUST(collect_socket_options(a, AF_UNIX, SOCK_SEQPACKET, 0, defaults));
    ASSERT_EQ(unix_options.size(), 2u);
    EXPECT_EQ(to_string(*find(unix_options, "SO_PASSCRED")), "SO_PASSCRED=1");
    // Timeouts are kept in jiffies: 0.25 s reads back rounded up to a whole tick (0.252 s
    // at HZ=250); set again, the rounded value reads back unchanged.
    auto const& timeout = *find(unix_options, "SO_SNDTIMEO");
    EXPECT_GE(timeout.value, 250'000);
    EXPECT_LT(timeout.value, 260'000);
    EXPECT_TRUE(to_string(timeout).starts_with("SO_SNDTIMEO=0.25")) << to_string(timeout);
    EXPECT_TRUE(MUST(collect_socket_options(b, AF_UNIX, SOCK_SEQPACKET, 0, defaults)).empty());
    MUST(apply_socket_options(b, unix_options, OptionPhase::AfterSetup));
    EXPECT_EQ(MUST(collect_socket_options(b, AF_UNIX, SOCK_SEQPACKET, 0, defaults)), unix_options);
}

TEST(SocketOptions, DefaultsAreReadOncePerKind)
{
    SocketDefaults defaults;
    std::vector<Fd> sockets;
    for (int i = 0; i < 20; ++i) {
        sockets.push_back(make_socket(AF_INET, SOCK_STREAM));
        sockets.push_back(make_socket(AF_INET, SOCK_DGRAM));
    }
    set_int(sockets[4], IPPROTO_IP, IP_TTL, 33);
    for (size_t i = 0; i < sockets.size(); ++i) {
        bool tcp = i % 2 == 0;
        auto options = MUST(collect_socket_options(sockets[i], AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM,
                                                   tcp ? IPPROTO_TCP : IPPROTO_UDP, defaults));
        if (i == 4) {
            ASSERT_EQ(options.size(), 1u);
            EXPECT_EQ(to_string(options[0]), "IP_TTL=33");
        } else {
            EXPECT_TRUE(options.empty()) << i << ": " << to_string(options[0]);
        }
    }
    EXPECT_EQ(defaults.fresh_sockets(), 2u);
    auto v6 = make_socket(AF_INET6, SOCK_DGRAM);
    MUST(collect_socket_options(v6, AF_INET6, SOCK_DGRAM, IPPROTO_UDP, defaults));
    EXPECT_EQ(defaults.fresh_sockets(), 3u);
    // A kind of socket the table has nothing for (raw) makes none.
    EXPECT_TRUE(MUST(collect_socket_options(v6, AF_INET6, SOCK_RAW, IPPROTO_ICMPV6, defaults)).empty());
    EXPECT_EQ(defaults.fresh_sockets(), 3u);
}

// Defaults are per network namespace: in a child that owns a user namespace, a second
// network namespace gets ip_default_ttl 77 and tcp_wmem/tcp_rmem defaults of its own. A socket
// there whose program set IP_TTL 64 keeps it (64 is a default only in the first namespace),
// one left alone keeps nothing, buffer sizes left alone are not saved, and the cached
// reference of one namespace never serves the other.
TEST(SocketOptions, DefaultsArePerNetworkNamespace)
{
    pid_t pid = ::fork();
    if (pid == 0) {
        auto fail = [](char const* what) {
            fprintf(stderr, "child: %s: %s\n", what, strerror(errno));
            ::_exit(1);
        };
        uid_t uid = ::getuid();
        if (::unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0)
            ::_exit(77);
        // Mapped to root of the new user namespace: the owner of its network namespaces'
        // sysctl files.
        if (!sys::write_file("/proc/self/uid_map", fmt::format("0 {} 1", uid)))
            fail("uid_map");
        auto first = MUST(sys::open("/proc/self/ns/net", O_RDONLY));
        auto here = make_socket(AF_INET, SOCK_DGRAM);
        auto here_tcp = make_socket(AF_INET, SOCK_STREAM);
        if (::unshare(CLONE_NEWNET) < 0)
            fail("unshare net");
        if (!sys::write_file("/proc/sys/net/ipv4/ip_default_ttl", "77"))
            fail("ip_default_ttl");
        if (!sys::write_file("/proc/sys/net/ipv4/tcp_wmem", "4096 24576 4194304")
            || !sys::write_file("/proc/sys/net/ipv4/tcp_rmem", "4096 98304 6291456"))
            fail("tcp_wmem, tcp_rmem");
        auto tcp = make_socket(AF_INET, SOCK_STREAM);
        auto chosen = make_socket(AF_INET, SOCK_DGRAM);
        set_int(chosen, IPPROTO_IP, IP_TTL, 64);
        auto left_alone = make_socket(AF_INET, SOCK_DGRAM);
        // Back in the first: the second's reference socket is made by a thread joining it.
        if (::setns(first.get(), CLONE_NEWNET) < 0)
            fail("setns back");
        SocketDefaults defaults;
        auto collect
            = [&](FdRef s) { return MUST(collect_socket_options(s, AF_INET, SOCK_DGRAM, IPPROTO_UDP, defaults)); };
        auto in_second = collect(chosen);
        if (in_second.size() != 1 || to_string(in_second[0]) != "IP_TTL=64") {
            fprintf(stderr, "child: expected [IP_TTL=64] in the second namespace, got %zu options\n", in_second.size());
            ::_exit(1);
        }
        if (!collect(left_alone).empty() || !collect(here).empty()) {
            fprintf(stderr, "child: a socket left at its namespace's defaults kept options\n");
            ::_exit(1);
        }
        if (defaults.fresh_sockets() != 2) {
            fprintf(stderr, "child: %zu fresh sockets, expected 2\n", defaults.fresh_sockets());
            ::_exit(1);
        }
        // Buffer sizes: a fresh TCP socket takes tcp_wmem[1] and tcp_rmem[1] of its namespace.
        for (FdRef s : { FdRef(tcp.get()), FdRef(here_tcp.get()) }) {
            auto const* fresh = MUST(defaults.of(s, AF_INET, SOCK_STREAM, IPPROTO_TCP));
            auto sizes = MUST(read_buffer_sizes(s, { fresh->send_buffer, fresh->receive_buffer }));
            if (sizes.send != 0 || sizes.receive != 0) {
                fprintf(stderr, "child: buffer sizes left alone were kept (%u, %u)\n", sizes.send, sizes.receive);
                ::_exit(1);
            }
        }
        auto const* there = MUST(defaults.of(tcp, AF_INET, SOCK_STREAM, IPPROTO_TCP));
        auto const* mine = MUST(defaults.of(here_tcp, AF_INET, SOCK_STREAM, IPPROTO_TCP));
        if (there->send_buffer == mine->send_buffer || there->receive_buffer == mine->receive_buffer) {
            fprintf(stderr, "child: both namespaces' fresh TCP sockets have the same buffers\n");
            ::_exit(1);
        }
        MUST(sys::set_socket_option(tcp, SOL_SOCKET, SO_SNDBUF, 65536));
        if (MUST(read_buffer_sizes(tcp, { there->send_buffer, there->receive_buffer })).send == 0) {
            fprintf(stderr, "child: a send buffer the program set was not kept\n");
            ::_exit(1);
        }
        ::_exit(0);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77)
        GTEST_SKIP() << "no unprivileged user namespaces";
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(SocketOptions, ApplyErrorsNameTheOption)
{
    auto s = make_socket(AF_INET, SOCK_STREAM);
    auto unknown = apply_socket_options(s, { { "SO_FROM_THE_FUTURE", 1, 0, {} } }, OptionPhase::AfterSetup);
    ASSERT_FALSE(unknown);
    EXPECT_NE(unknown.error().message().find("SO_FROM_THE_FUTURE"), std::string::npos);
    auto refused
        = apply_socket_options(s, { { "TCP_CONGESTION", 0, 0, "no-such-algorithm" } }, OptionPhase::AfterSetup);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message().find("socket option TCP_CONGESTION=no-such-algorithm"), std::string::npos)
        << refused.error().message();
}

TEST(SocketOptions, CodecRoundTripAndOldImages)
{
    Process p;
    FileDescription d;
    d.id = 3;
    d.kind = FileKind::UdpSocket;
    d.udp.family = AF_INET;
    d.udp.local_address = "127.0.0.1";
    d.udp.local_port = 5000;
    d.socket_options = { { "SO_LINGER", 1, 7, {} },
                         { "IP_PKTINFO", 1, 0, {} },
                         { "SO_BINDTODEVICE", 0, 0, "lo" },
                         { "SO_RCVTIMEO", 2'000'000, 0, {} } };
    p.file_descriptions.push_back(d);
    p.files.push_back({ 4, 3, true });
    nlohmann::json j;
    encode_open_files(p, j);
    Process back;
    MUST(decode_open_files(j, back));
    ASSERT_EQ(back.file_descriptions.size(), 1u);
    EXPECT_EQ(back.file_descriptions[0].socket_options, d.socket_options);
    EXPECT_EQ(back.file_descriptions[0], d);

    // An image written before options were kept has no key: it decodes with none.
    j["file_descriptions"][0].erase("socket_options");
    Process old;
    MUST(decode_open_files(j, old));
    EXPECT_TRUE(old.file_descriptions[0].socket_options.empty());
    // And a description without options writes no key.
    nlohmann::json again;
    encode_open_files(old, again);
    EXPECT_FALSE(again["file_descriptions"][0].contains("socket_options"));
}

} // namespace
} // namespace cryo::checkpoint
