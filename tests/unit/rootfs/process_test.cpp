#include <gtest/gtest.h>

#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "child.h"
#include "rootfs/process.h"
#include "sys/caps.h"
#include "sys/file.h"
#include "sys/task.h"

using namespace cryo;
using namespace cryo::rootfs;

TEST(Capabilities, Names)
{
    EXPECT_EQ(*capability_from_name("CAP_SYS_ADMIN"), CAP_SYS_ADMIN);
    EXPECT_EQ(*capability_from_name("sys_admin"), CAP_SYS_ADMIN);
    EXPECT_EQ(*capability_from_name("CAP_CHOWN"), CAP_CHOWN);
    EXPECT_EQ(*capability_from_name("CAP_NET_BIND_SERVICE"), CAP_NET_BIND_SERVICE);
    auto bad = capability_from_name("CAP_MAKE_COFFEE");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message(), "unknown capability \"CAP_MAKE_COFFEE\"");
    EXPECT_EQ(capability_name(CAP_SYS_ADMIN), "CAP_SYS_ADMIN");
    EXPECT_EQ(capability_name(CAP_KILL), "CAP_KILL");
    EXPECT_GE(last_capability(), CAP_AUDIT_READ);
}

TEST(Capabilities, Sets)
{
    std::vector<std::string> names { "CAP_CHOWN", "CAP_KILL", "CAP_NEW_FANCY_ONE", "CAP_NET_RAW" };
    std::vector<std::string> unknown;
    auto set = capability_set(names, &unknown);
    ASSERT_TRUE(set);
    EXPECT_EQ(*set, (CapSet(1) << CAP_CHOWN) | (CapSet(1) << CAP_KILL) | (CapSet(1) << CAP_NET_RAW));
    EXPECT_EQ(unknown, std::vector<std::string> { "CAP_NEW_FANCY_ONE" });
    EXPECT_FALSE(capability_set(names));
    EXPECT_EQ(capability_names(*set), (std::vector<std::string> { "CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW" }));
    EXPECT_TRUE(capability_names(0).empty());
}

TEST(Capabilities, CurrentMatchesProcStatus)
{
    auto caps = current_capabilities();
    ASSERT_TRUE(caps) << caps.error().message();
    auto status = sys::capget();
    ASSERT_TRUE(status);
    EXPECT_EQ(caps->effective, status->effective);
    EXPECT_EQ(caps->permitted, status->permitted);
    // Every process has a bounding set; read it independently from /proc/self/status.
    FILE* f = fopen("/proc/self/status", "r");
    ASSERT_NE(f, nullptr);
    char line[256];
    unsigned long long bounding = 0;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "CapBnd: %llx", &bounding) == 1)
            break;
    }
    fclose(f);
    EXPECT_EQ(caps->bounding, bounding);
}

TEST(Capabilities, CredentialSwitchKeepsRequestedCaps)
{
    if (::geteuid() != 0)
        GTEST_SKIP() << "needs root to change uid";
    CapSet bind = CapSet(1) << CAP_NET_BIND_SERVICE;
    CapSet kill = CapSet(1) << CAP_KILL;
    Capabilities caps {
        .bounding = bind | kill, .effective = bind, .permitted = bind | kill, .inheritable = bind, .ambient = bind
    };
    UserPlan user { .uid = 1000, .gid = 1001, .additional_gids = { 1002, 1003 }, .set_groups = true };
    auto outcome = test::run_in_child([&]() -> std::string {
        if (auto r = apply_credentials(user, caps); !r)
            return r.error().message();
        uid_t r, e, s;
        gid_t gr, ge, gs;
        getresuid(&r, &e, &s);
        getresgid(&gr, &ge, &gs);
        if (r != 1000 || e != 1000 || s != 1000)
            return "uid not switched";
        if (gr != 1001 || ge != 1001 || gs != 1001)
            return "gid not switched";
        gid_t groups[8];
        int n = getgroups(8, groups);
        if (n != 2 || groups[0] != 1002 || groups[1] != 1003)
            return "additional groups wrong: " + std::to_string(n);
        auto now = current_capabilities();
        if (!now)
            return now.error().message();
        if (now->effective != caps.effective)
            return "effective " + std::to_string(now->effective);
        if (now->permitted != caps.permitted)
            return "permitted " + std::to_string(now->permitted);
        if (now->inheritable != caps.inheritable)
            return "inheritable " + std::to_string(now->inheritable);
        if (now->ambient != caps.ambient)
            return "ambient " + std::to_string(now->ambient);
        if (now->bounding != caps.bounding)
            return "bounding " + std::to_string(now->bounding);
        if (::prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) != 0)
            return "keep-caps left on";
        return {};
    });
    EXPECT_TRUE(outcome.ok()) << outcome.failure;
}

TEST(Capabilities, AmbientOutsideInheritableIsAnError)
{
    if (::geteuid() != 0)
        GTEST_SKIP() << "needs root to hold the capabilities";
    CapSet bind = CapSet(1) << CAP_NET_BIND_SERVICE;
    Capabilities caps { .bounding = bind, .effective = bind, .permitted = bind, .inheritable = 0, .ambient = bind };
    auto outcome = test::run_in_child([&]() -> std::string {
        auto r = apply_credentials(UserPlan {}, caps);
        if (r)
            return "raised an ambient cap that is not inheritable";
        if (r.error().message()
            != "raise ambient capability CAP_NET_BIND_SERVICE: prctl PR_CAP_AMBIENT_RAISE: Operation not permitted")
            return r.error().message();
        return {};
    });
    EXPECT_TRUE(outcome.ok()) << outcome.failure;
}

TEST(ProcessAttributes, Names)
{
    EXPECT_EQ(*rlimit_from_name("RLIMIT_NOFILE"), RLIMIT_NOFILE);
    EXPECT_EQ(*rlimit_from_name("RLIMIT_RTTIME"), RLIMIT_RTTIME);
    EXPECT_EQ(rlimit_from_name("RLIMIT_FOO").error().message(), "unknown rlimit \"RLIMIT_FOO\"");
    EXPECT_EQ(*io_class_from_name("IOPRIO_CLASS_IDLE"), 3);
    EXPECT_FALSE(io_class_from_name("IOPRIO_CLASS_NONE"));
    EXPECT_EQ(*sched_policy_from_name("SCHED_BATCH"), static_cast<uint32_t>(SCHED_BATCH));
    EXPECT_EQ(*sched_policy_from_name("SCHED_DEADLINE"), 6u);
    EXPECT_EQ(*sched_flag_from_name("SCHED_FLAG_RESET_ON_FORK"), 1u);
    EXPECT_EQ(*personality_from_name("LINUX32"), static_cast<unsigned long>(PER_LINUX32));
    EXPECT_FALSE(personality_from_name("WINDOWS"));
}

TEST(ProcessAttributes, SysctlPaths)
{
    EXPECT_EQ(*sysctl_path("net.ipv4.ip_forward"), "/proc/sys/net/ipv4/ip_forward");
    EXPECT_EQ(*sysctl_path("kernel.shm_rmid_forced"), "/proc/sys/kernel/shm_rmid_forced");
    EXPECT_EQ(*sysctl_path("net/ipv4/conf/eth0.1/forwarding"), "/proc/sys/net/ipv4/conf/eth0.1/forwarding");
    for (char const* bad : { "", "../../etc/passwd", "kernel..x", "/kernel/x", "kernel.", "net/../../x" }) {
        auto r = sysctl_path(bad);
        EXPECT_FALSE(r) << bad;
    }
    EXPECT_EQ(sysctl_path("a..b").error().message(), "invalid sysctl key \"a..b\"");
}

TEST(ProcessAttributes, AppliedInChild)
{
    auto outcome = test::run_in_child([&]() -> std::string {
        Rlimit limits[] { { .resource = RLIMIT_NOFILE, .soft = 100, .hard = 200 },
                          { .resource = RLIMIT_CORE, .soft = 0, .hard = 0 } };
        if (auto r = apply_rlimits(limits); !r)
            return r.error().message();
        struct rlimit nofile { };
        getrlimit(RLIMIT_NOFILE, &nofile);
        if (nofile.rlim_cur != 100 || nofile.rlim_max != 200)
            return "RLIMIT_NOFILE not applied";
        // Raising past the hard limit is refused and names the limit.
        Rlimit raise[] { { .resource = RLIMIT_NOFILE, .soft = 100, .hard = 1u << 30 } };
        auto refused = apply_rlimits(raise);
        if (refused || refused.error().message().find("RLIMIT_NOFILE 100:1073741824: setrlimit") != 0)
            return "raising the hard limit: " + (refused ? std::string("allowed") : refused.error().message());

        (void)apply_umask(027);
        mode_t old = ::umask(0);
        if (old != 027)
            return "umask not applied";

        if (auto r = set_no_new_privs(); !r)
            return r.error().message();
        if (::prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
            return "no_new_privs not set";

        if (auto r = apply_oom_score_adj(500); !r)
            return r.error().message();
        auto adj = sys::read_file("/proc/self/oom_score_adj");
        if (!adj || *adj != "500\n")
            return "oom_score_adj not applied";

        if (auto r = apply_io_priority({ .io_class = 3, .priority = 0 }); !r)
            return r.error().message();
        auto prio = sys::ioprio_get_self();
        if (!prio || (*prio >> 13) != 3)
            return "io priority not applied";

        if (auto r = apply_scheduler({ .policy = SCHED_BATCH, .nice = 5 }); !r)
            return r.error().message();
        if (sched_getscheduler(0) != SCHED_BATCH || getpriority(PRIO_PROCESS, 0) != 5)
            return "scheduler not applied";

        if (auto r = apply_personality(PER_LINUX32); !r)
            return r.error().message();
        if ((::personality(0xffffffff) & PER_MASK) != PER_LINUX32)
            return "personality not applied";
        return {};
    });
    EXPECT_TRUE(outcome.ok()) << outcome.failure;
}

TEST(ProcessAttributes, HostnameInNewUtsNamespace)
{
    if (::geteuid() != 0)
        GTEST_SKIP() << "needs root for a UTS namespace";
    auto outcome = test::run_in_child([&]() -> std::string {
        if (::unshare(CLONE_NEWUTS) < 0)
            return "unshare failed";
        if (auto r = apply_hostname("cryo-test"); !r)
            return r.error().message();
        if (auto r = apply_domainname("cryo.example"); !r)
            return r.error().message();
        struct utsname name { };
        uname(&name);
        if (std::string(name.nodename) != "cryo-test" || std::string(name.domainname) != "cryo.example")
            return "uts names not applied";
        return {};
    });
    EXPECT_TRUE(outcome.ok()) << outcome.failure;
}

TEST(ProcessAttributes, CloseFdsExceptKeepsOnlyAllowed)
{
    auto outcome = test::run_in_child([&]() -> std::string {
        // Non-CLOEXEC fds at known numbers, as a careless parent would leak them.
        for (int fd : { 10, 11, 12, 20, 21 }) {
            if (::dup2(0, fd) < 0)
                return "dup2 failed";
        }
        int keep[] { 20, 11, 2 };
        if (auto r = close_fds_except(3, keep); !r)
            return r.error().message();
        auto open = [](int fd) { return ::fcntl(fd, F_GETFD) >= 0; };
        for (int fd : { 0, 1, 2, 11, 20 }) {
            if (!open(fd))
                return "fd " + std::to_string(fd) + " was closed";
        }
        for (int fd : { 3, 4, 10, 12, 21 }) {
            if (open(fd))
                return "fd " + std::to_string(fd) + " leaked";
        }
        return {};
    });
    // The child also closed its end of the result pipe (not kept), so a failure shows as
    // exit status 1 without its message.
    EXPECT_TRUE(outcome.ok()) << "status " << outcome.wait_status << " " << outcome.failure;
}

TEST(ProcessAttributes, SysctlInNewNetworkNamespace)
{
    if (::geteuid() != 0)
        GTEST_SKIP() << "needs root for a network namespace";
    auto host = sys::read_file("/proc/sys/net/ipv4/ip_forward");
    ASSERT_TRUE(host);
    std::string wanted = *host == "1\n" ? "0" : "1";
    auto outcome = test::run_in_child([&]() -> std::string {
        if (::unshare(CLONE_NEWNET) < 0)
            return "unshare";
        std::pair<std::string, std::string> sysctls[] { { "net.ipv4.ip_forward", wanted } };
        if (auto r = apply_sysctls(sysctls); !r)
            return r.error().message();
        auto now = sys::read_file("/proc/sys/net/ipv4/ip_forward");
        if (!now || *now != wanted + "\n")
            return "ip_forward not set in the namespace";
        std::pair<std::string, std::string> bad[] { { "net.ipv4.no_such_knob", "1" } };
        auto r = apply_sysctls(bad);
        if (r
            || r.error().message()
                != "net.ipv4.no_such_knob=1: open /proc/sys/net/ipv4/no_such_knob: No such file or directory")
            return "unknown sysctl: " + (r ? std::string("accepted") : r.error().message());
        return {};
    });
    EXPECT_TRUE(outcome.ok()) << outcome.failure;
    EXPECT_EQ(*sys::read_file("/proc/sys/net/ipv4/ip_forward"), *host) << "the host's value changed";
}
