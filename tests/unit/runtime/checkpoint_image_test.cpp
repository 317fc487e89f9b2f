#include <algorithm>

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
    info.stdio_marked = true;
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

TEST(RuntimeCheckpointImage, ContainerInfoCarriesImageAndIdMaps)
{
    ContainerImageInfo info;
    info.id = "web";
    info.image = "bb";
    info.disk_limit = 64 << 20;
    info.uid_map = "         0     300000      65536\n";
    info.gid_map = "         0     300000      65536\n";
    auto decoded = decode_container_info(encode_container_info(info));
    ASSERT_TRUE(decoded.has_value()) << decoded.error().message();
    EXPECT_EQ(info, *decoded);
    // An image written before these fields: none of them.
    auto old = decode_container_info(R"({"version": 1, "id": "x"})");
    ASSERT_TRUE(old.has_value());
    EXPECT_TRUE(old->image.empty());
    EXPECT_EQ(0u, old->disk_limit);
    EXPECT_FALSE(old->uid_map.has_value());
}

TEST(RuntimeCheckpointImage, RestoreRootfsPlan)
{
    ContainerImageInfo plain;
    ContainerImageInfo overlay;
    overlay.image = "bb";
    using C = RestoreConfigSource;
    using R = RestoreRootfs;
    auto plan = [](ContainerImageInfo const& info, bool config, bool rootfs, bool diff) {
        return plan_restore_rootfs(info, { .has_config = config, .has_rootfs = rootfs, .image_has_diff = diff });
    };
    // podman/containerd: a full bundle, restored as it is.
    EXPECT_EQ((RestoreRootfsPlan { C::Bundle, R::Bundle }), plan(plain, true, true, false));
    // A full bundle and an overlay container's diff: applied onto the bundle's rootfs.
    EXPECT_EQ((RestoreRootfsPlan { C::Bundle, R::BundleDiff }), plan(overlay, true, true, true));
    // Nothing in --bundle: the saved config and a new overlay of the store's image.
    EXPECT_EQ((RestoreRootfsPlan { C::Image, R::ImageOverlay }), plan(overlay, false, false, true));
    // A config but no rootfs (config_bundle, as `run --image --bundle` takes it).
    EXPECT_EQ((RestoreRootfsPlan { C::Bundle, R::ImageOverlay }), plan(overlay, true, false, true));
    // A plain container without its rootfs: launch names the missing rootfs.
    EXPECT_EQ((RestoreRootfsPlan { C::Image, R::Bundle }), plan(plain, false, false, false));
}

TEST(RuntimeCheckpointImage, CgroupRestorePlan)
{
    EXPECT_EQ(CgroupRestore::ConfigLimits, *plan_cgroup_restore(CgroupsMode::Ignore, false));
    EXPECT_EQ(CgroupRestore::ConfigLimits, *plan_cgroup_restore(CgroupsMode::Ignore, true));
    EXPECT_EQ(CgroupRestore::SavedProperties, *plan_cgroup_restore(CgroupsMode::Soft, false));
    EXPECT_EQ(CgroupRestore::ConfigLimits, *plan_cgroup_restore(CgroupsMode::Soft, true));
    EXPECT_EQ(CgroupRestore::SavedProperties, *plan_cgroup_restore(CgroupsMode::Full, false));
    EXPECT_EQ(CgroupRestore::SavedProperties, *plan_cgroup_restore(CgroupsMode::Full, true));
    EXPECT_EQ(CgroupRestore::SavedProperties, *plan_cgroup_restore(CgroupsMode::Strict, false));
    auto strict = plan_cgroup_restore(CgroupsMode::Strict, true);
    ASSERT_FALSE(strict.has_value());
    EXPECT_NE(std::string::npos, strict.error().message().find("exists")) << strict.error().message();
}

TEST(RuntimeCheckpointImage, CgroupPropertiesRoundTripAndFiles)
{
    CgroupProperties props { { "pids/pids.max", "50" }, { "memory/memory.limit_in_bytes", "50331648" } };
    auto decoded = decode_cgroup_properties(encode_cgroup_properties(props));
    ASSERT_TRUE(decoded.has_value()) << decoded.error().message();
    EXPECT_EQ(props, *decoded);
    EXPECT_FALSE(decode_cgroup_properties(R"({"version": 2, "properties": {}})").has_value());
    EXPECT_FALSE(decode_cgroup_properties("[").has_value());
    // v1 memory: the limit before memsw (memsw may never be below it).
    auto memory = cgroup_property_files("memory");
    ASSERT_GE(memory.size(), 2u);
    EXPECT_EQ("memory.limit_in_bytes", memory[0]);
    EXPECT_EQ("memory.memsw.limit_in_bytes", memory[1]);
    EXPECT_TRUE(cgroup_property_files("freezer").empty()); // state, not a limit
    auto unified = cgroup_property_files("");
    EXPECT_NE(unified.end(), std::find(unified.begin(), unified.end(), "memory.max"));
}

TEST(RuntimeCheckpointImage, FreshNamespaceStateNeedsNoRestore)
{
    std::string const fresh_ipc = R"({"queues": [], "schema": 1, "semaphores": [], "shm": [], "sysctls": {
        "msgmax": "8192", "msgmnb": "16384", "msgmni": "32000", "sem": "32000\t1024000000\t500\t32000",
        "shm_rmid_forced": "0", "shmall": "18446744073692774399", "shmmax": "18446744073692774399",
        "shmmni": "4096"}})";
    EXPECT_TRUE(ipc_state_is_fresh(fresh_ipc));
    auto changed = fresh_ipc;
    changed.replace(changed.find("\"4096\""), 6, "\"8192\"");
    EXPECT_FALSE(ipc_state_is_fresh(changed)); // shmmni raised by the container
    auto with_shm = fresh_ipc;
    with_shm.replace(with_shm.find("\"shm\": []"), 9, R"("shm": [{"key": 1}])");
    EXPECT_FALSE(ipc_state_is_fresh(with_shm));
    EXPECT_FALSE(ipc_state_is_fresh("{"));
    EXPECT_FALSE(ipc_state_is_fresh(R"({"schema": 2})"));

    std::string const fresh_net = R"({"addresses": [], "links": [{"alias": "", "flags": 0, "index": 1,
        "kind": "loopback", "mac": "00:00:00:00:00:00", "mtu": 65536, "name": "lo", "txqlen": 1000, "up": false}],
        "routes": [], "schema": 1})";
    EXPECT_TRUE(net_state_is_fresh(fresh_net));
    auto up = fresh_net;
    up.replace(up.find("\"up\": false"), 11, "\"up\": true");
    EXPECT_FALSE(net_state_is_fresh(up));
    auto address = fresh_net;
    address.replace(address.find("\"addresses\": []"), 15, R"("addresses": [{"address": "10.0.0.2"}])");
    EXPECT_FALSE(net_state_is_fresh(address));
    EXPECT_FALSE(net_state_is_fresh(R"({"schema": 1, "links": [], "addresses": [], "routes": []})"));
}
