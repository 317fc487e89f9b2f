#include <gtest/gtest.h>

#include <sched.h>
#include <sys/mount.h>

#include "oci/names.h"
#include "runtime/plan.h"
#include "sys/raw.h"

using namespace cryo;
using namespace cryo::runtime;

namespace {

oci::Linux with_namespaces(std::vector<oci::Namespace> namespaces)
{
    oci::Linux l;
    l.namespaces = std::move(namespaces);
    return l;
}

} // namespace

TEST(RuntimePlan, NamespacesNewOnes)
{
    auto l = with_namespaces({ { oci::NamespaceType::Pid, "" },
                               { oci::NamespaceType::Mount, "" },
                               { oci::NamespaceType::Network, "" },
                               { oci::NamespaceType::Cgroup, "" },
                               { oci::NamespaceType::Time, "" } });
    auto plan = plan_namespaces(l);
    ASSERT_TRUE(plan) << plan.error().message();
    EXPECT_EQ(plan->clone_flags, CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET);
    EXPECT_TRUE(plan->new_cgroup);
    EXPECT_TRUE(plan->new_time);
    EXPECT_FALSE(plan->new_user);
    EXPECT_TRUE(plan->joins.empty());
    EXPECT_EQ(plan->saved.size(), 5u);
    EXPECT_EQ(plan->saved.at("network"), "");
}

TEST(RuntimePlan, NamespacesJoinOrderUserFirstMountLast)
{
    auto l = with_namespaces({ { oci::NamespaceType::Mount, "/m" },
                               { oci::NamespaceType::Network, "/n" },
                               { oci::NamespaceType::User, "/u" },
                               { oci::NamespaceType::Pid, "/p" },
                               { oci::NamespaceType::Uts, "/h" } });
    auto plan = plan_namespaces(l);
    ASSERT_TRUE(plan) << plan.error().message();
    EXPECT_EQ(plan->clone_flags, 0);
    ASSERT_EQ(plan->joins.size(), 4u);
    EXPECT_EQ(plan->joins[0], (std::pair<int, std::string> { CLONE_NEWUSER, "/u" }));
    EXPECT_EQ(plan->joins[1].first, CLONE_NEWUTS);
    EXPECT_EQ(plan->joins[2].first, CLONE_NEWNET);
    EXPECT_EQ(plan->joins[3], (std::pair<int, std::string> { CLONE_NEWNS, "/m" }));
    EXPECT_EQ(plan->pid_path, "/p");
    EXPECT_EQ(plan->saved.at("user"), "/u");
}

TEST(RuntimePlan, NamespacesInconsistentSpecsFail)
{
    auto joined_user = with_namespaces({ { oci::NamespaceType::User, "/u" }, { oci::NamespaceType::Network, "" } });
    EXPECT_FALSE(plan_namespaces(joined_user));

    auto offsets_without_timens = with_namespaces({ { oci::NamespaceType::Pid, "" } });
    offsets_without_timens.time_offsets["monotonic"] = { 5, 0 };
    auto r = plan_namespaces(offsets_without_timens);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "linux.timeOffsets: requires a new time namespace");

    auto user_without_maps = with_namespaces({ { oci::NamespaceType::User, "" } });
    EXPECT_FALSE(plan_namespaces(user_without_maps));
    user_without_maps.uid_mappings = { { 0, 1000, 1 } };
    user_without_maps.gid_mappings = { { 0, 1000, 1 } };
    auto ok = plan_namespaces(user_without_maps);
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->clone_flags, CLONE_NEWUSER);
    EXPECT_TRUE(ok->new_user);
}

TEST(RuntimePlan, IdMapText)
{
    std::vector<oci::IdMapping> maps { { 0, 100000, 65536 }, { 65536, 1000, 1 } };
    auto text = id_map_text(maps);
    ASSERT_TRUE(text);
    EXPECT_EQ(*text, "0 100000 65536\n65536 1000 1\n");
    std::vector<oci::IdMapping> zero { { 0, 1, 0 } };
    EXPECT_FALSE(id_map_text(zero));
    std::vector<oci::IdMapping> many(341, oci::IdMapping { 0, 0, 1 });
    EXPECT_FALSE(id_map_text(many));
}

TEST(RuntimePlan, TimeOffsetsText)
{
    std::map<std::string, oci::TimeOffset> offsets { { "monotonic", { 86400, 5 } }, { "boottime", { -10, 0 } } };
    auto text = time_offsets_text(offsets);
    ASSERT_TRUE(text);
    EXPECT_EQ(*text, "boottime -10 0\nmonotonic 86400 5\n");
    EXPECT_FALSE(time_offsets_text({ { "realtime", { 1, 0 } } }));
    EXPECT_FALSE(time_offsets_text({ { "monotonic", { 1, 1000000000u } } }));
}

TEST(RuntimePlan, EnvHelpers)
{
    std::vector<std::string> env { "PATH=/bin", "A=1", "PATH=/usr/bin", "B=" };
    EXPECT_EQ(env_value(env, "PATH"), "/usr/bin");
    EXPECT_EQ(env_value(env, "B"), "");
    EXPECT_FALSE(env_value(env, "PAT"));
    env_set(env, "A", "2");
    env_set(env, "C", "3");
    EXPECT_EQ(env[1], "A=2");
    EXPECT_EQ(env.back(), "C=3");
}

TEST(RuntimePlan, ProcessPlan)
{
    oci::Process p;
    p.args = { "sh" };
    p.cwd = "/work";
    p.user = { .uid = 1000, .gid = 100, .umask = 022, .additional_gids = { 5, 6 } };
    p.capabilities = oci::Capabilities {
        .bounding = { "CAP_KILL", "CAP_CHOWN" },
        .effective = { "CAP_KILL" },
        .inheritable = { "CAP_CHOWN" },
        .permitted = { "CAP_KILL", "CAP_CHOWN" },
        .ambient = { "CAP_KILL", "CAP_CHOWN" },
    };
    p.rlimits = { { "RLIMIT_NOFILE", 1024, 512 } };
    p.no_new_privileges = true;
    auto plan = plan_process(p, {});
    ASSERT_TRUE(plan) << plan.error().message();
    EXPECT_EQ(plan->cwd, "/work");
    EXPECT_EQ(plan->user.uid, 1000u);
    EXPECT_EQ(plan->user.additional_gids, (std::vector<gid_t> { 5, 6 }));
    EXPECT_EQ(plan->umask, 022u);
    ASSERT_TRUE(plan->capabilities);
    uint64_t kill = 1ull << 5, chown = 1ull << 0;
    EXPECT_EQ(plan->capabilities->bounding, kill | chown);
    // CAP_KILL is not inheritable, so it cannot be ambient (skipped, as runc does).
    EXPECT_EQ(plan->capabilities->ambient, chown);
    ASSERT_EQ(plan->rlimits.size(), 1u);
    EXPECT_EQ(plan->rlimits[0].resource, 7); // RLIMIT_NOFILE
    EXPECT_EQ(plan->rlimits[0].soft, 512u);
    EXPECT_TRUE(plan->no_new_privileges);
}

TEST(RuntimePlan, ProcessPlanErrors)
{
    oci::Process p;
    p.args = { "sh" };
    p.cwd = "relative";
    auto r = plan_process(p, {});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "process.cwd: \"relative\" is not an absolute path");
    p.cwd = "/";
    p.rlimits = { { "RLIMIT_NOFILE", 1, 2 } };
    auto soft = plan_process(p, {});
    ASSERT_FALSE(soft);
    EXPECT_EQ(soft.error().message(), "process.rlimits[0]: soft limit 2 exceeds hard limit 1");
    p.rlimits = { { "RLIMIT_BOGUS", 1, 1 } };
    auto bogus = plan_process(p, {});
    ASSERT_FALSE(bogus);
    EXPECT_NE(bogus.error().message().find("process.rlimits[0].type"), std::string::npos);
}

TEST(RuntimePlan, CgroupResourcesFieldByField)
{
    oci::Resources r;
    r.memory = oci::Memory { .limit = 1 << 20, .swap = 2 << 20 };
    r.cpu = oci::Cpu { .shares = 512, .quota = 50000, .period = 100000, .cpus = "0" };
    r.pids = oci::Pids { .limit = 10 };
    r.hugepage_limits = { { "2MB", 4096 } };
    auto c = to_cgroup_resources(r);
    ASSERT_TRUE(c.memory);
    EXPECT_EQ(c.memory->limit, 1 << 20);
    EXPECT_EQ(c.memory->swap, 2 << 20);
    EXPECT_FALSE(c.memory->reservation);
    ASSERT_TRUE(c.cpu);
    EXPECT_EQ(c.cpu->shares, 512u);
    EXPECT_EQ(c.cpu->cpus, "0");
    ASSERT_TRUE(c.pids);
    EXPECT_EQ(c.pids->limit, 10);
    ASSERT_EQ(c.hugepage_limits.size(), 1u);
    EXPECT_EQ(c.hugepage_limits[0].page_size, "2MB");
    EXPECT_FALSE(c.block_io);
}

TEST(RuntimePlan, CgroupDeviceRulesAllowDefaultsAfterSpec)
{
    oci::Linux l;
    l.resources = oci::Resources {};
    l.resources->devices = { oci::DeviceRule { .allow = false, .access = "rwm" } };
    l.devices = { oci::Device { .type = "c", .path = "/dev/fuse", .major = 10, .minor = 229 } };
    auto c = plan_cgroup_resources(l);
    ASSERT_GE(c.devices.size(), 3u);
    EXPECT_FALSE(c.devices.front().allow); // the spec's deny-all first
    auto has = [&](std::string type, int64_t major, int64_t minor) {
        for (auto const& d : c.devices)
            if (d.allow && d.type == type && d.major == major && d.minor == minor && d.access == "rwm")
                return true;
        return false;
    };
    EXPECT_TRUE(has("c", 1, 3)); // /dev/null
    EXPECT_TRUE(has("c", 5, 2)); // ptmx
    EXPECT_TRUE(has("c", 10, 229)); // the spec's device
    EXPECT_TRUE(c.devices.back().allow);
    // No device rules in the spec: nothing is added (the parent allows everything).
    EXPECT_TRUE(plan_cgroup_resources(oci::Linux {}).devices.empty());
}

TEST(RuntimePlan, SeccompProfileConversion)
{
    oci::Seccomp s;
    s.default_action = "SCMP_ACT_ERRNO";
    s.default_errno_ret = 38;
    s.syscalls = { { .names = { "getpid" }, .action = "SCMP_ACT_ALLOW" },
                   { .names = { "mkdir" },
                     .action = "SCMP_ACT_ERRNO",
                     .errno_ret = 1,
                     .args = { { .index = 1, .value = 0755, .op = "SCMP_CMP_EQ" } } } };
    auto p = to_seccomp_profile(s);
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_EQ(p->default_action, rootfs::SeccompAction::Errno);
    EXPECT_EQ(p->default_errno, 38u);
    ASSERT_EQ(p->rules.size(), 2u);
    EXPECT_EQ(p->rules[1].args.at(0).op, rootfs::SeccompOp::Equal);

    s.syscalls[0].action = "SCMP_ACT_BOGUS";
    auto bad = to_seccomp_profile(s);
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message().find("linux.seccomp.syscalls[0].action"), std::string::npos);

    s.syscalls[0].action = "SCMP_ACT_NOTIFY";
    auto notify = to_seccomp_profile(s);
    ASSERT_FALSE(notify);
    EXPECT_EQ(notify.error().message(), "linux.seccomp: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath");
}

namespace {

MountPlanInput v1_input()
{
    MountPlanInput in;
    in.rootfs = "/b/rootfs";
    in.bundle = "/b";
    in.hierarchies = {
        { cgroup::Version::V1, "/sys/fs/cgroup/memory", { "memory" } },
        { cgroup::Version::V1, "/sys/fs/cgroup/cpu,cpuacct", { "cpu", "cpuacct" } },
        { cgroup::Version::V1, "/sys/fs/cgroup/systemd", { "name=systemd" } },
        { cgroup::Version::V2, "/sys/fs/cgroup/unified", { "hugetlb" } },
    };
    in.cgroup_paths = {
        { "memory", "/sys/fs/cgroup/memory/cryo/web" },
        { "cpu", "/sys/fs/cgroup/cpu,cpuacct/cryo/web" },
        { "cpuacct", "/sys/fs/cgroup/cpu,cpuacct/cryo/web" },
        { "hugetlb", "/sys/fs/cgroup/unified/cryo/web" },
    };
    in.exists = [](std::string const& path) { return path.find("unified") == std::string::npos; };
    in.is_file = [](std::string const& path) { return path.ends_with(".conf"); };
    return in;
}

} // namespace

TEST(RuntimePlan, CgroupMountExpandsExistingHierarchies)
{
    auto in = v1_input();
    auto m = plan_cgroup_mount(in);
    EXPECT_FALSE(m.cgroup_namespace);
    // systemd: no cgroup of the container there; unified: its dir does not exist.
    ASSERT_EQ(m.hierarchies.size(), 2u);
    EXPECT_EQ(m.hierarchies[0].dir, "memory");
    EXPECT_EQ(m.hierarchies[0].options, "memory");
    EXPECT_EQ(m.hierarchies[0].host_path, "/sys/fs/cgroup/memory/cryo/web");
    EXPECT_EQ(m.hierarchies[1].dir, "cpu,cpuacct");
    EXPECT_EQ(m.hierarchies[1].options, "cpu,cpuacct");
    EXPECT_FALSE(m.hierarchies[1].v2);

    MountPlanInput v2;
    v2.hierarchies = { { cgroup::Version::V2, "/sys/fs/cgroup", {} } };
    v2.cgroup_paths = { { "", "/sys/fs/cgroup/cryo/web" } };
    v2.cgroup_ns = true;
    auto m2 = plan_cgroup_mount(v2);
    ASSERT_EQ(m2.hierarchies.size(), 1u);
    EXPECT_EQ(m2.hierarchies[0].dir, "");
    EXPECT_TRUE(m2.hierarchies[0].v2);
    EXPECT_TRUE(m2.cgroup_namespace);
}

TEST(RuntimePlan, MountsFromSpec)
{
    oci::Spec spec;
    spec.root.readonly = true;
    spec.mounts = {
        { .destination = "/proc", .type = "proc", .source = "proc" },
        { .destination = "/dev", .type = "tmpfs", .source = "tmpfs", .options = { "nosuid", "mode=755" } },
        { .destination = "/dev/pts", .type = "devpts", .source = "devpts", .options = { "newinstance" } },
        { .destination = "/etc/app.conf", .type = "bind", .source = "app.conf", .options = { "rbind", "ro" } },
        { .destination = "/sys/fs/cgroup", .type = "cgroup", .source = "cgroup", .options = { "ro" } },
    };
    spec.linux_config.masked_paths = { "/proc/kcore" };
    spec.linux_config.rootfs_propagation = "rprivate";
    auto plan = plan_mounts(spec, v1_input());
    ASSERT_TRUE(plan) << plan.error().message();
    EXPECT_EQ(plan->rootfs, "/b/rootfs");
    EXPECT_TRUE(plan->readonly_root);
    EXPECT_EQ(plan->root_propagation.type, rootfs::Propagation::Private);
    EXPECT_TRUE(plan->root_propagation.recursive);
    ASSERT_EQ(plan->steps.size(), 5u);
    EXPECT_EQ(plan->steps[1].data, "mode=755");
    // A relative bind source is relative to the bundle, and a file source gets a file target.
    EXPECT_EQ(plan->steps[3].source, "/b/app.conf");
    EXPECT_TRUE(plan->steps[3].is_bind());
    EXPECT_EQ(plan->steps[3].target, rootfs::TargetKind::File);
    ASSERT_TRUE(plan->steps[4].cgroup);
    EXPECT_EQ(plan->steps[4].cgroup->hierarchies.size(), 2u);
    // /dev is a tmpfs of ours: default devices and /dev/ptmx -> pts/ptmx.
    EXPECT_EQ(plan->devices.size(), 6u);
    bool ptmx = false;
    for (auto const& l : plan->symlinks)
        ptmx |= l.link == "/dev/ptmx" && l.target == "pts/ptmx";
    EXPECT_TRUE(ptmx);
    EXPECT_EQ(plan->masked_paths, std::vector<std::string> { "/proc/kcore" });
}

TEST(RuntimePlan, MountErrors)
{
    oci::Spec spec;
    spec.mounts = { { .destination = "proc", .type = "proc", .source = "proc" } };
    auto r = plan_mounts(spec, v1_input());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "mounts[0].destination: \"proc\" is not an absolute path");
    oci::Spec prop;
    prop.linux_config.rootfs_propagation = "sideways";
    EXPECT_FALSE(plan_mounts(prop, v1_input()));
    oci::Spec dev;
    dev.linux_config.devices = { { .type = "x", .path = "/dev/x" } };
    EXPECT_FALSE(plan_mounts(dev, v1_input()));
}

TEST(RuntimePlan, NewUserNamespaceJoinsHostOwnedOnesFromTheParent)
{
    // With a new user namespace, the init could not setns into namespaces the host's user
    // namespace owns: the parent joins ipc/uts/net/cgroup before clone; mount stays.
    auto l = with_namespaces({ { oci::NamespaceType::User, "" },
                               { oci::NamespaceType::Network, "/n" },
                               { oci::NamespaceType::Ipc, "/i" },
                               { oci::NamespaceType::Mount, "/m" },
                               { oci::NamespaceType::Pid, "" } });
    l.uid_mappings = { { 0, 1000, 1 } };
    l.gid_mappings = { { 0, 1000, 1 } };
    auto plan = plan_namespaces(l);
    ASSERT_TRUE(plan) << plan.error().message();
    EXPECT_EQ(plan->clone_flags, CLONE_NEWUSER | CLONE_NEWPID);
    ASSERT_EQ(plan->parent_joins.size(), 2u);
    EXPECT_EQ(plan->parent_joins[0], (std::pair<int, std::string> { CLONE_NEWIPC, "/i" }));
    EXPECT_EQ(plan->parent_joins[1], (std::pair<int, std::string> { CLONE_NEWNET, "/n" }));
    ASSERT_EQ(plan->joins.size(), 1u);
    EXPECT_EQ(plan->joins[0], (std::pair<int, std::string> { CLONE_NEWNS, "/m" }));

    // Without a new user namespace, the init joins them all itself (as before).
    auto no_user = with_namespaces({ { oci::NamespaceType::Network, "/n" }, { oci::NamespaceType::Pid, "" } });
    auto plain = plan_namespaces(no_user);
    ASSERT_TRUE(plain);
    EXPECT_TRUE(plain->parent_joins.empty());
    ASSERT_EQ(plain->joins.size(), 1u);
}

TEST(RuntimePlan, ExecCgroupSubPaths)
{
    std::map<std::string, std::string> v1 { { "cpu", "/sys/fs/cgroup/cpu/c" },
                                            { "memory", "/sys/fs/cgroup/memory/c" },
                                            { "pids", "/sys/fs/cgroup/pids/c" } };
    auto all = plan_exec_cgroup(v1, "sub/x");
    ASSERT_TRUE(all) << all.error().message();
    EXPECT_EQ(all->at("cpu").dir, "/sys/fs/cgroup/cpu/c/sub/x");
    EXPECT_TRUE(all->at("pids").sub);

    auto some = plan_exec_cgroup(v1, "cpu,memory:a,pids:/b/");
    ASSERT_TRUE(some) << some.error().message();
    EXPECT_EQ(some->at("cpu").dir, "/sys/fs/cgroup/cpu/c/a");
    EXPECT_EQ(some->at("memory").dir, "/sys/fs/cgroup/memory/c/a");
    EXPECT_EQ(some->at("pids").dir, "/sys/fs/cgroup/pids/c/b");

    auto one = plan_exec_cgroup(v1, "memory:m");
    ASSERT_TRUE(one);
    EXPECT_EQ(one->at("cpu").dir, "/sys/fs/cgroup/cpu/c");
    EXPECT_FALSE(one->at("cpu").sub);
    EXPECT_EQ(one->at("memory").dir, "/sys/fs/cgroup/memory/c/m");

    std::map<std::string, std::string> v2 { { "", "/sys/fs/cgroup/c" } };
    auto unified = plan_exec_cgroup(v2, "s");
    ASSERT_TRUE(unified);
    EXPECT_EQ(unified->at("").dir, "/sys/fs/cgroup/c/s");

    auto unknown = plan_exec_cgroup(v2, "memory:s");
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().message(), "--cgroup \"memory:s\": no controller \"memory\" in the container's cgroups");
    auto escape = plan_exec_cgroup(v1, "cpu:../other");
    ASSERT_FALSE(escape);
    EXPECT_EQ(escape.error().message(), "--cgroup \"cpu:../other\": the path must stay inside the container's cgroup");
    EXPECT_FALSE(plan_exec_cgroup(v1, "cpu:"));
    EXPECT_FALSE(plan_exec_cgroup(v1, ""));
}
