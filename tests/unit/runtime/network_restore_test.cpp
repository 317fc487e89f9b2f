// checkpoint_extras / restore_extras for the network: a container's network.json goes into a
// checkpoint image and comes back as the --network/--publish a restore launches with.
#include <cstdlib>
#include <gtest/gtest.h>

#include "checkpoint/image.h"
#include "runtime/extras.h"
#include "runtime/network_plan.h"
#include "sys/file.h"
#include "temp_dir.h"

namespace {

using namespace cryo;
using namespace cryo::runtime;

using cryo::test::TempDir;

net::NetworkRecord bridged()
{
    net::NetworkRecord record;
    record.mode = net::Mode::Bridge;
    record.netns = "/run/cryo/web/netns";
    record.bridge = "crt9";
    record.subnet = net::Subnet::parse("10.90.9.0/24").value();
    record.address = *net::Ipv4::parse("10.90.9.7");
    record.mac = net::mac_string(net::mac_for(record.address));
    record.veth = "vcr0011223344";
    net::PortMapping mapping { .host_port = 18080, .container_port = 80, .protocol = net::Protocol::Tcp };
    record.published.push_back({ .mapping = mapping,
                                 .reservation = "/run/cryo/network/ports/tcp-18080",
                                 .rules = net::publish_rules(mapping, record.address, record.veth) });
    return record;
}

struct NetworkRestore : ::testing::Test {
    TempDir temp;
    std::string state_dir() const { return temp.path + "/state"; }
    std::string image_dir() const { return temp.path + "/image"; }

    void SetUp() override { ASSERT_TRUE(sys::mkdir_all(state_dir(), 0700).has_value()); }

    void record(net::NetworkRecord const& record)
    {
        ASSERT_TRUE(
            sys::write_file_atomic(state_dir() + "/network.json", net::record_to_json(record), 0600).has_value());
    }
    // The image a checkpoint of the state dir writes (only what the extras add).
    Result<checkpoint::ImageReader> checkpoint_image()
    {
        auto writer = TRY(checkpoint::ImageWriter::create(image_dir()));
        TRY(checkpoint_extras(state_dir(), writer));
        TRY(writer.commit({}));
        return checkpoint::ImageReader::open(image_dir());
    }
    Extras restored(checkpoint::ImageReader const& image, Extras const& asked = {})
    {
        Extras extras;
        auto done = restore_extras(image, asked, extras);
        EXPECT_TRUE(done.has_value()) << done.error().message();
        return extras;
    }
};

TEST_F(NetworkRestore, NoNetworkRecordNothingInTheImageNothingRestored)
{
    auto image = checkpoint_image();
    ASSERT_TRUE(image.has_value()) << image.error().message();
    EXPECT_FALSE(image->manifest().files.contains("network.json"));
    auto extras = restored(*image);
    EXPECT_EQ(extras.network, "");
    EXPECT_TRUE(extras.publish.empty());
}

TEST_F(NetworkRestore, BridgedRestoresPinnedBridgeSubnetAddressAndPorts)
{
    record(bridged());
    auto image = checkpoint_image();
    ASSERT_TRUE(image.has_value()) << image.error().message();
    EXPECT_TRUE(image->manifest().files.contains("network.json")); // checksummed like the rest
    auto extras = restored(*image);
    EXPECT_EQ(extras.network, "bridge:bridge=crt9,subnet=10.90.9.0/24,ip=10.90.9.7");
    EXPECT_EQ(extras.publish, (std::vector<std::string> { "18080:80/tcp" }));
}

TEST_F(NetworkRestore, WhatTheRestoreAsksForWins)
{
    record(bridged());
    auto image = checkpoint_image();
    ASSERT_TRUE(image.has_value()) << image.error().message();

    Extras asked;
    asked.network = "bridge:bridge=crt9,subnet=10.90.9.0/24"; // a new address, same ports
    auto extras = restored(*image, asked);
    EXPECT_EQ(extras.network, asked.network);
    EXPECT_EQ(extras.publish, (std::vector<std::string> { "18080:80/tcp" }));

    asked.publish = { "18081:80" };
    EXPECT_EQ(restored(*image, asked).publish, (std::vector<std::string> { "18081:80" }));

    // none/host refuse --publish: the image's ports do not go with them.
    Extras none;
    none.network = "none";
    auto isolated = restored(*image, none);
    EXPECT_EQ(isolated.network, "none");
    EXPECT_TRUE(isolated.publish.empty());
}

TEST_F(NetworkRestore, NoneModeComesBackAsNone)
{
    record(net::NetworkRecord { .mode = net::Mode::None, .netns = "/run/cryo/x/netns" });
    auto image = checkpoint_image();
    ASSERT_TRUE(image.has_value()) << image.error().message();
    auto extras = restored(*image);
    EXPECT_EQ(extras.network, "none");
    EXPECT_TRUE(extras.publish.empty());
}

TEST_F(NetworkRestore, CorruptRecordFailsTheCheckpointNamingIt)
{
    ASSERT_TRUE(sys::write_file_atomic(state_dir() + "/network.json", "{\"version\": 1", 0600).has_value());
    auto image = checkpoint_image();
    ASSERT_FALSE(image.has_value());
    EXPECT_NE(image.error().message().find("network"), std::string::npos) << image.error().message();
    EXPECT_NE(image.error().message().find("network.json"), std::string::npos) << image.error().message();
}

} // namespace
