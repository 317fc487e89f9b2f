// config.json parsing against realistic fixtures (runc, podman, containerd), serialization
// round trips, and the default spec compared with what `runc spec` wrote on this machine.
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "oci/spec.h"

using namespace cryo;
using namespace cryo::oci;
using nlohmann::json;

namespace {

std::string fixture(std::string const& name)
{
    std::ifstream in(std::string(CRYO_FIXTURES) + "/" + name);
    EXPECT_TRUE(in) << "missing fixture " << name;
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

Spec parse_fixture(std::string const& name)
{
    auto spec = parse_spec(fixture(name));
    EXPECT_TRUE(spec) << name << ": " << spec.error().message();
    return spec ? spec.release_value() : Spec {};
}

// runc 1.1 writes its own version and hostname; everything else must match.
json runc_fixture_as_cryo(std::string const& name)
{
    auto j = json::parse(fixture(name));
    j["ociVersion"] = std::string(k_oci_version);
    j["hostname"] = "cryo";
    return j;
}

} // namespace

TEST(DefaultSpec, SameContentAsRuncSpec)
{
    auto ours = json::parse(to_json(default_spec(false)));
    EXPECT_EQ(ours, runc_fixture_as_cryo("runc_spec.json")) << ours.dump(2);
}

TEST(DefaultSpec, RootlessSameContentAsRuncSpecRootless)
{
    // The fixture was written by `runc spec --rootless` run as root: mappings to 0.
    auto ours = json::parse(to_json(default_spec(true, 0, 0)));
    EXPECT_EQ(ours, runc_fixture_as_cryo("runc_spec_rootless.json")) << ours.dump(2);
}

TEST(DefaultSpec, RuncSpecParsesToTheSameStructs)
{
    auto runc = parse_fixture("runc_spec.json");
    EXPECT_EQ(runc.oci_version, "1.0.2-dev");
    runc.oci_version = std::string(k_oci_version);
    runc.hostname = "cryo";
    EXPECT_EQ(runc, default_spec(false));
}

TEST(DefaultSpec, RootlessMapsTheGivenIds)
{
    auto spec = default_spec(true, 1000, 1001);
    ASSERT_EQ(spec.linux_config.uid_mappings.size(), 1u);
    EXPECT_EQ(spec.linux_config.uid_mappings[0], (IdMapping { .container_id = 0, .host_id = 1000, .size = 1 }));
    EXPECT_EQ(spec.linux_config.gid_mappings[0], (IdMapping { .container_id = 0, .host_id = 1001, .size = 1 }));
    EXPECT_EQ(spec.linux_config.find_namespace(NamespaceType::Network), nullptr);
    EXPECT_NE(spec.linux_config.find_namespace(NamespaceType::User), nullptr);
    EXPECT_FALSE(spec.linux_config.resources.has_value());
    for (auto const& m : spec.mounts)
        for (auto const& o : m.options)
            EXPECT_FALSE(o.starts_with("gid=") || o.starts_with("uid=")) << m.destination << " " << o;
}

TEST(RoundTrip, DefaultSpecs)
{
    for (bool rootless : { false, true }) {
        auto spec = default_spec(rootless, 1000, 1000);
        auto back = parse_spec(to_json(spec));
        ASSERT_TRUE(back) << back.error().message();
        EXPECT_EQ(*back, spec) << "rootless=" << rootless;
    }
}

TEST(RoundTrip, FixturesSurviveSerialization)
{
    for (auto name :
         { "runc_spec.json", "runc_spec_rootless.json", "podman.json", "containerd.json", "every_field.json" }) {
        auto spec = parse_fixture(name);
        auto text = to_json(spec);
        auto back = parse_spec(text);
        ASSERT_TRUE(back) << name << ": " << back.error().message() << "\n" << text;
        EXPECT_EQ(*back, spec) << name;
    }
}

namespace {

// Every value of `input` must be in `output` at the same path, except what serialization
// legitimately drops: unknown fields (listed), false, and empty arrays/objects (Go's
// omitempty). A typo in a field table would lose the field and show up here.
void expect_preserved(json const& input, json const& output, std::string const& path,
                      std::vector<std::string> const& unknown)
{
    if (std::find(unknown.begin(), unknown.end(), path) != unknown.end())
        return;
    bool droppable = input == false || (input.is_array() && input.empty()) || (input.is_object() && input.empty());
    if (output.is_null()) {
        EXPECT_TRUE(droppable) << path << " lost: " << input.dump();
        return;
    }
    if (input.is_object()) {
        ASSERT_TRUE(output.is_object()) << path;
        for (auto const& [key, value] : input.items())
            expect_preserved(value, output.contains(key) ? output[key] : json(), path + "/" + key, unknown);
    } else if (input.is_array()) {
        ASSERT_TRUE(output.is_array()) << path;
        ASSERT_EQ(input.size(), output.size()) << path;
        for (size_t i = 0; i < input.size(); ++i)
            expect_preserved(input[i], output[i], path + "/" + std::to_string(i), unknown);
    } else {
        EXPECT_EQ(input, output) << path;
    }
}

} // namespace

TEST(RoundTrip, SerializationKeepsEveryKnownField)
{
    for (auto name :
         { "runc_spec.json", "runc_spec_rootless.json", "podman.json", "containerd.json", "every_field.json" }) {
        SCOPED_TRACE(name);
        auto input = json::parse(fixture(name));
        auto output = json::parse(to_json(parse_fixture(name)));
        expect_preserved(input, output, "", { "/unknownFutureField" });
    }
}

TEST(RoundTrip, OutputIsTwoSpaceIndentedInSpecOrder)
{
    auto text = to_json(default_spec(false));
    EXPECT_TRUE(text.starts_with("{\n  \"ociVersion\": \"" + std::string(k_oci_version)
                                 + "\",\n  \"process\": {\n    \"terminal\": true,"))
        << text;
    // Key order follows the runtime spec's Go structs, as runc's output does.
    EXPECT_LT(text.find("\"process\""), text.find("\"root\""));
    EXPECT_LT(text.find("\"root\""), text.find("\"mounts\""));
    EXPECT_LT(text.find("\"mounts\""), text.find("\"linux\""));
}

TEST(Podman, Parses)
{
    auto spec = parse_fixture("podman.json");
    ASSERT_TRUE(spec.process);
    auto const& p = *spec.process;
    EXPECT_FALSE(p.terminal);
    EXPECT_EQ(p.user.umask, 18u);
    EXPECT_EQ(p.user.additional_gids.size(), 11u);
    EXPECT_EQ(p.args, (std::vector<std::string> { "/usr/bin/nginx", "-g", "daemon off;" }));
    EXPECT_EQ(p.env.size(), 6u);
    ASSERT_TRUE(p.capabilities);
    EXPECT_EQ(p.capabilities->bounding.size(), 11u);
    EXPECT_TRUE(p.capabilities->ambient.empty());
    ASSERT_EQ(p.rlimits.size(), 2u);
    EXPECT_EQ(p.rlimits[1], (Rlimit { .type = "RLIMIT_NPROC", .hard = 4194304, .soft = 4194304 }));
    EXPECT_EQ(p.oom_score_adj, 200);
    EXPECT_FALSE(p.no_new_privileges);
    EXPECT_EQ(p.selinux_label, "system_u:system_r:container_t:s0:c123,c456");
    EXPECT_FALSE(spec.root.readonly);
    EXPECT_EQ(spec.mounts.size(), 11u);
    EXPECT_EQ(spec.mounts[5].destination, "/etc/resolv.conf");
    EXPECT_EQ(spec.mounts[5].type, "bind");

    ASSERT_EQ(spec.hooks.prestart.size(), 1u);
    EXPECT_EQ(spec.hooks.prestart[0].args, (std::vector<std::string> { "oci-systemd-hook", "prestart" }));
    EXPECT_FALSE(spec.hooks.prestart[0].timeout);
    ASSERT_EQ(spec.hooks.create_runtime.size(), 1u);
    EXPECT_EQ(spec.hooks.create_runtime[0].timeout, 30);
    EXPECT_EQ(spec.hooks.poststop[0].path, "/usr/libexec/podman/conmon-cleanup");
    EXPECT_TRUE(spec.hooks.create_container.empty());
    EXPECT_EQ(spec.annotations.at("io.container.manager"), "libpod");

    auto const& l = spec.linux_config;
    ASSERT_EQ(l.uid_mappings.size(), 2u);
    EXPECT_EQ(l.uid_mappings[1], (IdMapping { .container_id = 1, .host_id = 100000, .size = 65536 }));
    EXPECT_EQ(l.sysctl.at("net.ipv4.ping_group_range"), "0 0");
    ASSERT_TRUE(l.resources);
    auto const& r = *l.resources;
    ASSERT_EQ(r.devices.size(), 3u);
    EXPECT_FALSE(r.devices[0].allow);
    EXPECT_FALSE(r.devices[0].type);
    EXPECT_EQ(r.devices[2].major, 136);
    EXPECT_FALSE(r.devices[2].minor); // absent = all minors, not minor 0
    ASSERT_TRUE(r.memory);
    EXPECT_EQ(r.memory->limit, 536870912);
    EXPECT_EQ(r.memory->swap, 1073741824);
    EXPECT_FALSE(r.memory->reservation);
    ASSERT_TRUE(r.cpu);
    EXPECT_EQ(r.cpu->quota, 50000);
    EXPECT_FALSE(r.cpu->shares); // absent, not 0
    ASSERT_TRUE(r.pids);
    EXPECT_EQ(r.pids->limit, 2048);
    EXPECT_FALSE(r.block_io);
    EXPECT_EQ(l.cgroups_path, "user.slice:libpod:a1b2c3d4e5f6");
    ASSERT_EQ(l.namespaces.size(), 7u);
    EXPECT_EQ(l.namespaces[1].type, NamespaceType::Network);
    EXPECT_EQ(l.find_namespace(NamespaceType::Network)->path,
              "/run/user/1000/netns/netns-2f5c0e4a-98bb-1f3e-6a7d-0c2a9a6b7e11");
    EXPECT_EQ(l.find_namespace(NamespaceType::Time), nullptr);
    ASSERT_TRUE(l.seccomp);
    EXPECT_EQ(l.seccomp->default_action, "SCMP_ACT_ERRNO");
    EXPECT_EQ(l.seccomp->default_errno_ret, 38u);
    ASSERT_EQ(l.seccomp->syscalls.size(), 4u);
    EXPECT_EQ(l.seccomp->syscalls[0].errno_ret, 1u);
    EXPECT_FALSE(l.seccomp->syscalls[1].errno_ret);
    EXPECT_EQ(l.seccomp->syscalls[3].args[0],
              (SeccompArg { .index = 0, .value = 2114060288, .value_two = 0, .op = "SCMP_CMP_MASKED_EQ" }));
    EXPECT_EQ(l.masked_paths.size(), 11u);
    EXPECT_EQ(l.mount_label, "system_u:object_r:container_file_t:s0:c123,c456");
}

TEST(Containerd, Parses)
{
    auto spec = parse_fixture("containerd.json");
    ASSERT_TRUE(spec.process);
    auto const& p = *spec.process;
    EXPECT_EQ(p.user.uid, 65532u);
    EXPECT_EQ(p.cwd, "/app");
    ASSERT_TRUE(p.capabilities);
    EXPECT_EQ(p.capabilities->effective, (std::vector<std::string> { "CAP_NET_BIND_SERVICE" }));
    EXPECT_TRUE(p.capabilities->inheritable.empty());
    EXPECT_TRUE(p.no_new_privileges);
    EXPECT_EQ(p.apparmor_profile, "cri-containerd.apparmor.d");
    ASSERT_TRUE(p.io_priority);
    EXPECT_EQ(p.io_priority->io_class, "IOPRIO_CLASS_BE");
    EXPECT_EQ(p.io_priority->priority, 4);
    ASSERT_TRUE(p.scheduler);
    EXPECT_EQ(p.scheduler->policy, "SCHED_BATCH");
    EXPECT_EQ(p.scheduler->nice, 5);
    EXPECT_FALSE(p.scheduler->priority);
    ASSERT_TRUE(p.exec_cpu_affinity);
    EXPECT_EQ(p.exec_cpu_affinity->final, "0-1");
    EXPECT_TRUE(spec.root.readonly);
    EXPECT_EQ(spec.domainname, "cluster.local");

    auto const& idmapped = spec.mounts.back();
    EXPECT_EQ(idmapped.destination, "/data");
    ASSERT_EQ(idmapped.uid_mappings.size(), 1u);
    EXPECT_EQ(idmapped.uid_mappings[0].host_id, 3000000u);

    EXPECT_EQ(spec.hooks.create_container[0].timeout, 5);
    EXPECT_EQ(spec.hooks.start_container[0].path, "/usr/local/bin/ready-marker");
    EXPECT_TRUE(spec.hooks.start_container[0].args.empty());
    EXPECT_EQ(spec.hooks.poststop[0].env, (std::vector<std::string> { "CNI_COMMAND=DEL" }));
    EXPECT_EQ(spec.annotations.size(), 7u);

    auto const& l = spec.linux_config;
    ASSERT_TRUE(l.resources);
    auto const& r = *l.resources;
    EXPECT_EQ(r.memory->swap, -1); // unlimited
    EXPECT_EQ(r.memory->swappiness, 0u);
    EXPECT_EQ(r.memory->disable_oom_killer, false); // present and false, not absent
    EXPECT_FALSE(r.memory->use_hierarchy);
    EXPECT_EQ(r.memory->check_before_update, true);
    EXPECT_EQ(r.cpu->shares, 512u);
    EXPECT_EQ(r.cpu->burst, 5000u);
    EXPECT_EQ(r.cpu->cpus, "0-1");
    EXPECT_EQ(r.cpu->idle, 0);
    EXPECT_EQ(r.pids->limit, -1);
    ASSERT_TRUE(r.block_io);
    EXPECT_EQ(r.block_io->weight, 500);
    EXPECT_EQ(r.block_io->weight_device[0],
              (WeightDevice { .major = 8, .minor = 0, .weight = 700, .leaf_weight = 100 }));
    EXPECT_EQ(r.block_io->throttle_read_bps_device[0].rate, 104857600u);
    EXPECT_EQ(r.block_io->throttle_write_iops_device[0], (ThrottleDevice { .major = 8, .minor = 16, .rate = 500 }));
    ASSERT_EQ(r.hugepage_limits.size(), 2u);
    EXPECT_EQ(r.hugepage_limits[0].page_size, "2MB");
    EXPECT_EQ(r.network->class_id, 1048577u);
    EXPECT_EQ(r.network->priorities[0].name, "eth0");
    EXPECT_EQ(r.rdma.at("mlx5_1").hca_objects, 10000u);
    EXPECT_EQ(r.unified.at("io.max"), "8:0 rbps=104857600");

    EXPECT_EQ(l.find_namespace(NamespaceType::Ipc)->path, "/proc/4242/ns/ipc");
    EXPECT_NE(l.find_namespace(NamespaceType::Time), nullptr);
    EXPECT_EQ(l.time_offsets.at("boottime").secs, -3600);
    EXPECT_EQ(l.time_offsets.at("boottime").nanosecs, 500000000u);
    ASSERT_EQ(l.devices.size(), 3u);
    EXPECT_EQ(
        l.devices[0],
        (Device {
            .type = "c", .path = "/dev/fuse", .major = 10, .minor = 229, .file_mode = 0666, .uid = 0u, .gid = 0u }));
    EXPECT_FALSE(l.devices[1].uid);
    EXPECT_EQ(l.devices[2].type, "p");
    ASSERT_TRUE(l.seccomp);
    EXPECT_EQ(l.seccomp->flags, (std::vector<std::string> { "SECCOMP_FILTER_FLAG_SPEC_ALLOW" }));
    EXPECT_EQ(l.seccomp->listener_path, "/run/seccomp-agent.sock");
    EXPECT_EQ(l.seccomp->syscalls[5].args[0].value, std::numeric_limits<uint64_t>::max());
    EXPECT_EQ(l.rootfs_propagation, "rslave");
    ASSERT_TRUE(l.personality);
    EXPECT_EQ(l.personality->domain, "LINUX");
    ASSERT_TRUE(l.intel_rdt);
    EXPECT_EQ(l.intel_rdt->clos_id, "guaranteed");
    EXPECT_EQ(l.intel_rdt->enable_mbm, false);
}

TEST(EveryField, ReachesTheStructs)
{
    // Spot checks of fields no other fixture has; the round-trip test covers the rest.
    auto spec = parse_fixture("every_field.json");
    auto const& p = spec.process.value();
    EXPECT_EQ(p.console_size, (ConsoleSize { .height = 40, .width = 120 }));
    EXPECT_EQ(p.user.username, "daemon");
    EXPECT_EQ(p.command_line, "sleep infinity");
    EXPECT_EQ(p.oom_score_adj, -500);
    EXPECT_EQ(p.scheduler->deadline, 30000000u);
    EXPECT_EQ(p.scheduler->flags, (std::vector<std::string> { "SCHED_FLAG_RESET_ON_FORK" }));
    auto const& r = spec.linux_config.resources.value();
    EXPECT_EQ(r.memory->kernel, 67108864);
    EXPECT_EQ(r.memory->kernel_tcp, 16777216);
    EXPECT_EQ(r.memory->use_hierarchy, true);
    EXPECT_EQ(r.memory->check_before_update, false);
    EXPECT_EQ(r.cpu->realtime_runtime, 950000);
    EXPECT_EQ(r.cpu->realtime_period, 1000000u);
    EXPECT_EQ(spec.linux_config.devices[0].uid, 5u);
    EXPECT_EQ(spec.linux_config.seccomp->default_errno_ret, 1u);
    EXPECT_EQ(spec.linux_config.seccomp->syscalls[0].args[0].value_two, 2u);
    EXPECT_EQ(spec.linux_config.personality->flags, (std::vector<std::string> { "ADDR_NO_RANDOMIZE" }));
    EXPECT_EQ(spec.linux_config.find_namespace(NamespaceType::Time)->path, "/proc/1/ns/time");
}

TEST(LoadSpec, ReadsConfigJsonFromTheBundle)
{
    char dir_template[] = "/tmp/cryo-oci-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    std::string dir = dir_template;
    auto path = dir + "/config.json";
    {
        std::ofstream out(path);
        out << fixture("containerd.json");
    }
    auto spec = load_spec(dir);
    auto with_slash = load_spec(dir + "/");
    std::remove(path.c_str());
    rmdir(dir.c_str());
    ASSERT_TRUE(spec) << spec.error().message();
    EXPECT_EQ(spec->hostname, "web-7d9f8b6c5-x2x4q");
    ASSERT_TRUE(with_slash) << with_slash.error().message();
    EXPECT_EQ(*with_slash, *spec);
}

TEST(LoadSpec, MissingConfigJson)
{
    char dir_template[] = "/tmp/cryo-oci-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    std::string dir = dir_template;
    auto spec = load_spec(dir);
    rmdir(dir.c_str());
    ASSERT_FALSE(spec);
    EXPECT_TRUE(spec.error().is_errno(ENOENT));
    EXPECT_EQ(spec.error().message(), "open " + dir + "/config.json: No such file or directory");
}
