// The network plan as pure data: addresses and subnets, --network/--publish parsing, the
// configuration precedence, the address allocator, names, rules and network.json.
#include <gtest/gtest.h>

#include "runtime/network_plan.h"

using namespace cryo::runtime::net;

namespace {

Ipv4 ip(char const* text)
{
    auto parsed = Ipv4::parse(text);
    EXPECT_TRUE(parsed.has_value()) << text;
    return parsed.value_or(Ipv4 {});
}

Subnet subnet(char const* text)
{
    auto parsed = Subnet::parse(text);
    EXPECT_TRUE(parsed.has_value()) << text;
    return parsed.has_value() ? parsed.value() : Subnet {};
}

} // namespace

TEST(NetworkIpv4, ParsesAndFormats)
{
    EXPECT_EQ(ip("10.89.0.1").value, 0x0a590001u);
    EXPECT_EQ(ip("255.255.255.255").value, 0xffffffffu);
    EXPECT_EQ(ip("0.0.0.0").value, 0u);
    EXPECT_EQ(Ipv4 { 0xc0a80a05 }.str(), "192.168.10.5");
    EXPECT_EQ(ip("10.89.0.1").network_order(), 0x0100590au); // little-endian host
}

TEST(NetworkIpv4, RejectsMalformed)
{
    for (auto text : { "", "10", "10.0.0", "10.0.0.0.1", "256.0.0.1", "10.0.0.-1", "10..0.1", "10.0.0.1 ", "a.b.c.d",
                       "010.0.0.1", "10.0.0." })
        EXPECT_FALSE(Ipv4::parse(text).has_value()) << text;
}

TEST(NetworkSubnet, GatewayBroadcastContains)
{
    auto net = subnet("10.89.0.0/24");
    EXPECT_EQ(net.gateway().str(), "10.89.0.1");
    EXPECT_EQ(net.broadcast().str(), "10.89.0.255");
    EXPECT_TRUE(net.contains(ip("10.89.0.200")));
    EXPECT_FALSE(net.contains(ip("10.89.1.1")));
    EXPECT_EQ(net.str(), "10.89.0.0/24");
    EXPECT_EQ(subnet("172.16.0.0/12").broadcast().str(), "172.31.255.255");
}

TEST(NetworkSubnet, RejectsHostBitsAndBadPrefixes)
{
    auto host_bits = Subnet::parse("10.89.0.5/24");
    ASSERT_FALSE(host_bits.has_value());
    EXPECT_EQ(host_bits.error().message(), "subnet \"10.89.0.5/24\": host bits set (the network is 10.89.0.0/24)");
    EXPECT_FALSE(Subnet::parse("10.89.0.0").has_value());
    EXPECT_FALSE(Subnet::parse("10.89.0.0/31").has_value()); // no room for gateway + container
    EXPECT_FALSE(Subnet::parse("10.0.0.0/7").has_value());
    EXPECT_FALSE(Subnet::parse("10.89.0.0/x").has_value());
    EXPECT_TRUE(Subnet::parse("10.89.0.0/30").has_value());
}

TEST(NetworkSubnet, Overlaps)
{
    EXPECT_TRUE(subnet("10.89.0.0/24").overlaps(subnet("10.89.0.0/24")));
    EXPECT_TRUE(subnet("10.0.0.0/8").overlaps(subnet("10.89.0.0/24")));
    EXPECT_TRUE(subnet("10.89.0.0/24").overlaps(subnet("10.0.0.0/8")));
    EXPECT_FALSE(subnet("10.89.0.0/24").overlaps(subnet("10.89.1.0/24")));
    EXPECT_FALSE(subnet("10.89.0.0/25").overlaps(subnet("10.89.0.128/25")));
}

TEST(NetworkOption, Modes)
{
    EXPECT_EQ(parse_network_option("none")->mode, Mode::None);
    EXPECT_EQ(parse_network_option("host")->mode, Mode::Host);
    auto bridge = parse_network_option("bridge");
    ASSERT_TRUE(bridge.has_value());
    EXPECT_EQ(bridge->mode, Mode::Bridge);
    EXPECT_FALSE(bridge->bridge.has_value());
    EXPECT_FALSE(bridge->subnet.has_value());
    EXPECT_FALSE(bridge->address.has_value());
}

TEST(NetworkOption, BridgeOptions)
{
    auto request = parse_network_option("bridge:bridge=crt1,subnet=10.90.4.0/24,ip=10.90.4.9");
    ASSERT_TRUE(request.has_value()) << request.error().message();
    EXPECT_EQ(request->bridge, "crt1");
    EXPECT_EQ(request->subnet, subnet("10.90.4.0/24"));
    EXPECT_EQ(request->address, ip("10.90.4.9"));
}

TEST(NetworkOption, DnsServersRepeatable)
{
    auto request = parse_network_option("bridge:dns=10.0.0.53,ip=10.89.0.7,dns=192.0.2.1,dns=10.0.0.53");
    ASSERT_TRUE(request.has_value()) << request.error().message();
    EXPECT_EQ(request->dns, (std::vector<Ipv4> { ip("10.0.0.53"), ip("192.0.2.1") })); // duplicate once
    auto bad = parse_network_option("bridge:dns=ns1.example");
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().message(),
              "--network \"bridge:dns=ns1.example\": dns \"ns1.example\" is not an IPv4 address");
}

TEST(NetworkResolvConf, HostServersWithoutLoopbackAndItsOptions)
{
    std::string host = "# generated\nnameserver 127.0.0.53\nnameserver 10.255.255.53\n"
                       "nameserver ::1\nnameserver 2001:db8::35\n; old comment\nsearch corp.example lab\n"
                       "options edns0 trust-ad\nbogus line\n";
    auto conf = container_resolv_conf(host, {});
    EXPECT_EQ(conf.nameservers, 2);
    EXPECT_EQ(conf.text,
              "nameserver 10.255.255.53\nnameserver 2001:db8::35\n"
              "search corp.example lab\noptions edns0 trust-ad\n");
}

TEST(NetworkResolvConf, ServersAskedReplaceTheHosts)
{
    auto conf = container_resolv_conf("nameserver 10.1.1.1\nsearch a.example\n", { ip("192.0.2.53") });
    EXPECT_EQ(conf.nameservers, 1);
    EXPECT_EQ(conf.text, "nameserver 192.0.2.53\nsearch a.example\n");
}

TEST(NetworkResolvConf, OnlyLoopbackOrNothingLeavesNoServer)
{
    EXPECT_EQ(container_resolv_conf("nameserver 127.0.0.53\noptions edns0\n", {}).nameservers, 0);
    EXPECT_EQ(container_resolv_conf("nameserver 127.0.0.53\noptions edns0\n", {}).text, "options edns0\n");
    EXPECT_EQ(container_resolv_conf("", {}).text, "");
}

TEST(NetworkOption, RejectsBadValuesWithOneLine)
{
    auto bad = parse_network_option("slirp");
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().message(), "--network \"slirp\": not none, host or bridge");
    EXPECT_FALSE(parse_network_option("host:subnet=10.0.0.0/24").has_value());
    EXPECT_FALSE(parse_network_option("bridge:color=red").has_value());
    EXPECT_FALSE(parse_network_option("bridge:subnet").has_value());
    EXPECT_FALSE(parse_network_option("bridge:bridge=a/b").has_value());
    EXPECT_FALSE(parse_network_option("bridge:bridge=0123456789abcdef").has_value()); // 16 bytes
    EXPECT_FALSE(parse_network_option("bridge:ip=10.0.0.300").has_value());
    EXPECT_FALSE(parse_network_option("bridge:subnet=10.0.0.1/24").has_value());
}

TEST(NetworkConfig, DefaultIsCryo0On10_89)
{
    auto config = resolve_config({}, {});
    ASSERT_TRUE(config.has_value());
    EXPECT_EQ(config->bridge, "cryo0");
    EXPECT_EQ(config->subnet.str(), "10.89.0.0/24");
}

TEST(NetworkConfig, FileThenEnvironmentThenOption)
{
    std::string file = "# cryo network\n\nbridge = filebr\nsubnet=10.91.0.0/16\n";
    auto from_file = resolve_config({ .file_text = file, .file_name = "network.conf" }, {});
    ASSERT_TRUE(from_file.has_value()) << from_file.error().message();
    EXPECT_EQ(from_file->bridge, "filebr");
    EXPECT_EQ(from_file->subnet.str(), "10.91.0.0/16");

    auto from_env = resolve_config(
        { .file_text = file, .file_name = "network.conf", .env_bridge = "envbr", .env_subnet = std::nullopt }, {});
    ASSERT_TRUE(from_env.has_value());
    EXPECT_EQ(from_env->bridge, "envbr");
    EXPECT_EQ(from_env->subnet.str(), "10.91.0.0/16"); // the file's, no env subnet

    NetworkRequest request { .mode = Mode::Bridge,
                             .bridge = std::nullopt,
                             .subnet = subnet("10.92.1.0/24"),
                             .address = std::nullopt,
                             .dns = {} };
    auto from_option = resolve_config(
        { .file_text = file, .file_name = "network.conf", .env_bridge = "envbr", .env_subnet = "10.93.0.0/24" },
        request);
    ASSERT_TRUE(from_option.has_value());
    EXPECT_EQ(from_option->bridge, "envbr");
    EXPECT_EQ(from_option->subnet.str(), "10.92.1.0/24");
}

TEST(NetworkConfig, BadFileNamesLine)
{
    auto bad = resolve_config(
        { .file_text = "bridge = ok\nsubnett = 10.0.0.0/24\n", .file_name = "/etc/cryo/network.conf" }, {});
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().message(), "/etc/cryo/network.conf:2: unknown key \"subnett\" (bridge, subnet)");
    auto bad_env = resolve_config({ .env_subnet = "10.0.0.0" }, {});
    ASSERT_FALSE(bad_env.has_value());
    EXPECT_EQ(bad_env.error().message(), "CRYO_NETWORK_SUBNET: subnet \"10.0.0.0\": not ADDRESS/PREFIX");
}

TEST(NetworkPublish, Parses)
{
    auto tcp = parse_publish("18080:80");
    ASSERT_TRUE(tcp.has_value());
    EXPECT_EQ(tcp->host_port, 18080);
    EXPECT_EQ(tcp->container_port, 80);
    EXPECT_EQ(tcp->protocol, Protocol::Tcp);
    EXPECT_EQ(parse_publish("18080:80/tcp")->protocol, Protocol::Tcp);
    auto udp = parse_publish("5353:53/udp");
    ASSERT_TRUE(udp.has_value());
    EXPECT_EQ(udp->protocol, Protocol::Udp);
    EXPECT_EQ(udp->host_port, 5353);
}

TEST(NetworkPublish, Rejects)
{
    for (auto text :
         { "80", "0:80", "80:0", "65536:80", "80:65536", "a:80", "80:b", "80:80/sctp", "1:2:3", ":80", "80:" })
        EXPECT_FALSE(parse_publish(text).has_value()) << text;
    auto twice = parse_publish_list({ "8080:80", "8081:81", "8080:90" });
    ASSERT_FALSE(twice.has_value());
    EXPECT_EQ(twice.error().message(), "--publish \"8080:90\": host port 8080/tcp is published twice");
    // The same number over tcp and udp is two ports.
    EXPECT_TRUE(parse_publish_list({ "5353:53/tcp", "5353:53/udp" }).has_value());
}

TEST(NetworkAllocator, LowestFreeSkipsGatewayAndTaken)
{
    auto net = subnet("10.89.0.0/24");
    EXPECT_EQ(allocate_address(net, {}, std::nullopt)->str(), "10.89.0.2");
    EXPECT_EQ(allocate_address(net, { ip("10.89.0.2"), ip("10.89.0.3"), ip("10.89.0.5") }, std::nullopt)->str(),
              "10.89.0.4");
}

TEST(NetworkAllocator, FullSubnet)
{
    auto net = subnet("10.89.0.0/29"); // .1 gateway, .2-.6 hosts, .7 broadcast
    std::set<Ipv4> taken;
    for (int i = 0; i < 5; ++i) {
        auto next = allocate_address(net, taken, std::nullopt);
        ASSERT_TRUE(next.has_value());
        EXPECT_FALSE(taken.contains(*next));
        EXPECT_NE(*next, net.broadcast());
        taken.insert(*next);
    }
    auto full = allocate_address(net, taken, std::nullopt);
    ASSERT_FALSE(full.has_value());
    EXPECT_EQ(full.error().message(), "subnet 10.89.0.0/29: no free address (5 in use)");
}

TEST(NetworkAllocator, WantedAddress)
{
    auto net = subnet("10.89.0.0/24");
    EXPECT_EQ(allocate_address(net, {}, ip("10.89.0.77"))->str(), "10.89.0.77");
    EXPECT_EQ(allocate_address(net, { ip("10.89.0.77") }, ip("10.89.0.77")).error().message(),
              "address 10.89.0.77 is already in use");
    EXPECT_FALSE(allocate_address(net, {}, ip("10.89.0.1")).has_value()); // gateway
    EXPECT_FALSE(allocate_address(net, {}, ip("10.89.0.0")).has_value()); // network
    EXPECT_FALSE(allocate_address(net, {}, ip("10.89.0.255")).has_value()); // broadcast
    EXPECT_FALSE(allocate_address(net, {}, ip("10.89.1.5")).has_value()); // outside
}

TEST(NetworkNames, VethIsStableShortAndDistinct)
{
    auto a = veth_name("/run/cryo/web");
    EXPECT_EQ(a, veth_name("/run/cryo/web"));
    EXPECT_NE(a, veth_name("/run/cryo/web2"));
    EXPECT_NE(a, veth_name("/tmp/other-root/web"));
    EXPECT_EQ(a.size(), 13u);
    EXPECT_TRUE(a.starts_with("vcr"));
    EXPECT_TRUE(valid_link_name(a));
}

TEST(NetworkNames, MacFromAddress)
{
    auto mac = mac_for(ip("10.89.0.2"));
    EXPECT_EQ(mac_string(mac), "0a:58:0a:59:00:02");
    EXPECT_EQ(mac[0] & 0x01, 0); // unicast
    EXPECT_EQ(mac[0] & 0x02, 0x02); // locally administered
}

TEST(NetworkRules, PublishRules)
{
    auto rules = publish_rules({ .host_port = 18080, .container_port = 80, .protocol = Protocol::Tcp }, ip("10.89.0.2"),
                               "vcr0011223344");
    ASSERT_EQ(rules.size(), 3u);
    EXPECT_EQ(rules[0],
              (Rule { "-t",
                      "nat",
                      "-A",
                      "PREROUTING",
                      "-p",
                      "tcp",
                      "--dport",
                      "18080",
                      "-m",
                      "addrtype",
                      "--dst-type",
                      "LOCAL",
                      "-m",
                      "comment",
                      "--comment",
                      "cryo:vcr0011223344",
                      "-j",
                      "DNAT",
                      "--to-destination",
                      "10.89.0.2:80" }));
    EXPECT_EQ(rules[1][3], "OUTPUT");
    EXPECT_EQ(rules[2],
              (Rule { "-t", "nat", "-A", "POSTROUTING", "-p", "tcp", "-s", "127.0.0.0/8", "-d", "10.89.0.2", "--dport",
                      "80", "-m", "comment", "--comment", "cryo:vcr0011223344", "-j", "MASQUERADE" }));
    auto deleted = rule_with_action(rules[0], "-D");
    EXPECT_EQ(deleted[2], "-D");
    EXPECT_EQ(std::count(deleted.begin(), deleted.end(), "-A"), 0);
}

TEST(NetworkRules, BridgeRules)
{
    NetworkConfig config { .bridge = "crt7", .subnet = subnet("10.90.7.0/24") };
    auto rules = bridge_rules(config);
    ASSERT_EQ(rules.size(), 3u);
    EXPECT_EQ(rules[0],
              (Rule { "-t", "nat", "-A", "POSTROUTING", "-s", "10.90.7.0/24", "!", "-o", "crt7", "-m", "comment",
                      "--comment", "cryo:crt7", "-j", "MASQUERADE" }));
    EXPECT_EQ(rules[1][3], "FORWARD");
    EXPECT_EQ(rules[2][3], "FORWARD");
}

TEST(NetworkRecordJson, BridgeRoundTrip)
{
    NetworkRecord record;
    record.mode = Mode::Bridge;
    record.netns = "/run/cryo/web/netns";
    record.bridge = "cryo0";
    record.subnet = subnet("10.89.0.0/24");
    record.address = ip("10.89.0.2");
    record.mac = "0a:58:0a:59:00:02";
    record.veth = "vcr0011223344";
    record.lease = "/run/cryo/network/bridges/cryo0/leases/10.89.0.2";
    PortMapping mapping { .host_port = 18080, .container_port = 80, .protocol = Protocol::Udp };
    record.published.push_back({ .mapping = mapping,
                                 .reservation = "/run/cryo/network/ports/udp-18080",
                                 .rules = publish_rules(mapping, record.address, record.veth) });
    auto text = record_to_json(record);
    EXPECT_NE(text.find("\"gateway\": \"10.89.0.1\""), std::string::npos) << text;
    auto back = record_from_json(text);
    ASSERT_TRUE(back.has_value()) << back.error().message();
    EXPECT_EQ(*back, record);
}

TEST(NetworkRecordJson, NoneRoundTripAndCorrupt)
{
    NetworkRecord record { .mode = Mode::None, .netns = "/x/netns" };
    auto back = record_from_json(record_to_json(record));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, record);
    EXPECT_FALSE(record_from_json("{").has_value());
    EXPECT_FALSE(record_from_json(R"({"version":2,"mode":"none"})").has_value());
    EXPECT_FALSE(record_from_json(R"({"version":1,"mode":"bridge","bridge":"b","address":"x"})").has_value());
}

TEST(NetworkRecordJson, BridgeRecordRoundTrip)
{
    NetworkConfig config { .bridge = "crt7", .subnet = subnet("10.90.7.0/24") };
    BridgeRecord record { .name = "crt7", .subnet = config.subnet, .created = true, .rules = bridge_rules(config) };
    auto back = bridge_record_from_json(bridge_record_to_json(record));
    ASSERT_TRUE(back.has_value()) << back.error().message();
    EXPECT_EQ(*back, record);
}

TEST(NetworkRecreate, FlagsPinBridgeSubnetAddressAndPorts)
{
    NetworkRecord record;
    record.mode = Mode::Bridge;
    record.bridge = "crt7";
    record.subnet = subnet("10.90.7.0/24");
    record.address = ip("10.90.7.9");
    record.published.push_back({ .mapping = { .host_port = 8080, .container_port = 80, .protocol = Protocol::Tcp },
                                 .reservation = "",
                                 .rules = {} });
    record.published.push_back({ .mapping = { .host_port = 5353, .container_port = 53, .protocol = Protocol::Udp },
                                 .reservation = "",
                                 .rules = {} });
    auto flags = flags_to_recreate(record);
    EXPECT_EQ(flags.network, "bridge:bridge=crt7,subnet=10.90.7.0/24,ip=10.90.7.9");
    record.dns = { ip("192.0.2.53") };
    EXPECT_EQ(flags_to_recreate(record).network, "bridge:bridge=crt7,subnet=10.90.7.0/24,ip=10.90.7.9,dns=192.0.2.53");
    auto with_dns = record_from_json(record_to_json(record));
    ASSERT_TRUE(with_dns.has_value()) << with_dns.error().message();
    EXPECT_EQ(with_dns->dns, record.dns);
    record.dns.clear();
    EXPECT_EQ(flags.publish, (std::vector<std::string> { "8080:80/tcp", "5353:53/udp" }));

    // The flags parse back into the same request: same bridge, subnet, address and ports.
    auto request = parse_network_option(flags.network);
    ASSERT_TRUE(request.has_value()) << request.error().message();
    EXPECT_EQ(request->mode, Mode::Bridge);
    EXPECT_EQ(request->bridge, "crt7");
    EXPECT_EQ(request->subnet, record.subnet);
    EXPECT_EQ(request->address, record.address);
    auto ports = parse_publish_list(flags.publish);
    ASSERT_TRUE(ports.has_value());
    EXPECT_EQ(ports->at(0), record.published[0].mapping);
    EXPECT_EQ(ports->at(1), record.published[1].mapping);
}

TEST(NetworkRecreate, OtherModes)
{
    EXPECT_EQ(flags_to_recreate(NetworkRecord { .mode = Mode::None }).network, "none");
    EXPECT_EQ(flags_to_recreate(NetworkRecord { .mode = Mode::Host }).network, "host");
    EXPECT_EQ(flags_to_recreate(NetworkRecord {}), NetworkFlags {});
}
