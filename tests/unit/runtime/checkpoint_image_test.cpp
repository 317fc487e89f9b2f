#include <gtest/gtest.h>

#include "runtime/api.h"
#include "runtime/checkpoint_image.h"

using namespace cryo;
using namespace cryo::runtime;

TEST(RuntimeCheckpointImage, ContainerInfoRoundTrip)
{
    ContainerImageInfo info;
    info.id = "web";
    info.bundle = "/b";
    info.rootfs = "/b/rootfs";
    info.created = "2026-11-28T00:00:00.000000001Z";
    info.annotations = { { "a", "b" } };
    info.cgroup_path = "/cryo/web";
    info.namespaces = { { "pid", "" }, { "network", "/var/run/netns/x" } };
    info.hostname = "web-1";
    info.time_offsets = "monotonic 5 0\nboottime 0 0\n";
    auto decoded = decode_container_info(encode_container_info(info));
    ASSERT_TRUE(decoded.has_value()) << decoded.error().message();
    EXPECT_EQ(info, *decoded);

    info.time_offsets.reset();
    decoded = decode_container_info(encode_container_info(info));
    ASSERT_TRUE(decoded.has_value());
    EXPECT_FALSE(decoded->time_offsets.has_value());
}

TEST(RuntimeCheckpointImage, ContainerInfoRejectsNewerVersionAndGarbage)
{
    auto newer = decode_container_info(R"({"version": 99, "id": "x"})");
    ASSERT_FALSE(newer.has_value());
    EXPECT_NE(std::string::npos, newer.error().message().find("newer")) << newer.error().message();
    EXPECT_FALSE(decode_container_info("{").has_value());
    EXPECT_FALSE(decode_container_info(R"({"version": 1})").has_value()); // no id
}

TEST(RuntimeCheckpointImage, CgroupsModes)
{
    EXPECT_EQ(CgroupsMode::Soft, *parse_cgroups_mode("soft"));
    EXPECT_EQ(CgroupsMode::Full, *parse_cgroups_mode("full"));
    EXPECT_EQ(CgroupsMode::Strict, *parse_cgroups_mode("strict"));
    EXPECT_EQ(CgroupsMode::Ignore, *parse_cgroups_mode("ignore"));
    auto bad = parse_cgroups_mode("loose");
    ASSERT_FALSE(bad.has_value());
    EXPECT_NE(std::string::npos, bad.error().message().find("--manage-cgroups-mode")) << bad.error().message();
}

TEST(RuntimeCheckpointImage, ImagePathDefaultsToCheckpointInCwd)
{
    auto fallback = absolute_image_path("");
    ASSERT_TRUE(fallback.has_value());
    EXPECT_TRUE(fallback->starts_with('/'));
    EXPECT_TRUE(fallback->ends_with("/checkpoint"));
    EXPECT_EQ("/abs/img", *absolute_image_path("/abs/img"));
    EXPECT_TRUE(absolute_image_path("rel/img")->ends_with("/rel/img"));
}
