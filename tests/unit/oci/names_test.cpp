// Name tables checked against the kernel/libc headers, and runc's signal and id rules.
#include <csignal>
#include <linux/capability.h>
#include <sched.h>
#include <sys/resource.h>

#include <gtest/gtest.h>

#include "oci/names.h"

using namespace cryo;
using namespace cryo::oci;

TEST(Capabilities, NumbersMatchKernelHeaders)
{
    EXPECT_EQ(capability_number("CAP_CHOWN"), CAP_CHOWN);
    EXPECT_EQ(capability_number("CAP_NET_BIND_SERVICE"), CAP_NET_BIND_SERVICE);
    EXPECT_EQ(capability_number("CAP_SYS_ADMIN"), CAP_SYS_ADMIN);
    EXPECT_EQ(capability_number("CAP_SYS_RESOURCE"), CAP_SYS_RESOURCE);
    EXPECT_EQ(capability_number("CAP_AUDIT_READ"), CAP_AUDIT_READ);
    EXPECT_EQ(capability_number("CAP_PERFMON"), CAP_PERFMON);
    EXPECT_EQ(capability_number("CAP_BPF"), CAP_BPF);
    EXPECT_EQ(capability_number("CAP_CHECKPOINT_RESTORE"), CAP_CHECKPOINT_RESTORE);
    EXPECT_EQ(k_last_capability, CAP_LAST_CAP);
    EXPECT_FALSE(capability_number("CAP_FLY"));
    EXPECT_FALSE(capability_number("SYS_ADMIN"));
    EXPECT_FALSE(capability_number("cap_sys_admin"));
}

TEST(Capabilities, NamesRoundTrip)
{
    ASSERT_EQ(capability_names().size(), 41u);
    for (int i = 0; i <= k_last_capability; ++i) {
        auto name = capability_name(i);
        ASSERT_TRUE(name) << i;
        EXPECT_TRUE(name->starts_with("CAP_"));
        EXPECT_EQ(capability_number(*name), i);
    }
    EXPECT_FALSE(capability_name(-1));
    EXPECT_FALSE(capability_name(41));
}

TEST(Rlimits, NumbersMatchLibc)
{
    EXPECT_EQ(rlimit_resource("RLIMIT_CPU"), RLIMIT_CPU);
    EXPECT_EQ(rlimit_resource("RLIMIT_NOFILE"), RLIMIT_NOFILE);
    EXPECT_EQ(rlimit_resource("RLIMIT_NPROC"), RLIMIT_NPROC);
    EXPECT_EQ(rlimit_resource("RLIMIT_MEMLOCK"), RLIMIT_MEMLOCK);
    EXPECT_EQ(rlimit_resource("RLIMIT_AS"), RLIMIT_AS);
    EXPECT_EQ(rlimit_resource("RLIMIT_MSGQUEUE"), RLIMIT_MSGQUEUE);
    EXPECT_EQ(rlimit_resource("RLIMIT_RTTIME"), RLIMIT_RTTIME);
    EXPECT_FALSE(rlimit_resource("RLIMIT_FILES"));
    EXPECT_FALSE(rlimit_resource("NOFILE"));
    for (int i = 0; i < RLIMIT_NLIMITS; ++i) {
        auto name = rlimit_name(i);
        ASSERT_TRUE(name) << i;
        EXPECT_EQ(rlimit_resource(*name), i);
    }
    EXPECT_FALSE(rlimit_name(RLIMIT_NLIMITS));
}

TEST(Namespaces, NamesAndCloneFlags)
{
    EXPECT_EQ(namespace_type("network"), NamespaceType::Network);
    EXPECT_EQ(namespace_type("mount"), NamespaceType::Mount);
    EXPECT_FALSE(namespace_type("net"));
    EXPECT_FALSE(namespace_type("mnt"));
    EXPECT_EQ(namespace_clone_flag(NamespaceType::Pid), CLONE_NEWPID);
    EXPECT_EQ(namespace_clone_flag(NamespaceType::Network), CLONE_NEWNET);
    EXPECT_EQ(namespace_clone_flag(NamespaceType::Mount), CLONE_NEWNS);
    EXPECT_EQ(namespace_clone_flag(NamespaceType::Ipc), CLONE_NEWIPC);
    EXPECT_EQ(namespace_clone_flag(NamespaceType::Uts), CLONE_NEWUTS);
    EXPECT_EQ(namespace_clone_flag(NamespaceType::User), CLONE_NEWUSER);
    EXPECT_EQ(namespace_clone_flag(NamespaceType::Cgroup), CLONE_NEWCGROUP);
    EXPECT_EQ(namespace_clone_flag(NamespaceType::Time), 0x80);
    EXPECT_EQ(namespace_proc_name(NamespaceType::Network), "net");
    EXPECT_EQ(namespace_proc_name(NamespaceType::Mount), "mnt");
    EXPECT_EQ(namespace_proc_name(NamespaceType::Time), "time");
    ASSERT_EQ(all_namespace_types().size(), 8u);
    int all_flags = 0;
    for (auto type : all_namespace_types()) {
        EXPECT_EQ(namespace_type(namespace_type_name(type)), type);
        EXPECT_EQ(all_flags & namespace_clone_flag(type), 0) << namespace_type_name(type);
        all_flags |= namespace_clone_flag(type);
    }
}

TEST(Signals, AcceptsWhatRuncKillAccepts)
{
    for (auto text : { "SIGKILL", "KILL", "kill", "SigKill", "9" }) {
        auto s = parse_signal(text);
        ASSERT_TRUE(s) << text;
        EXPECT_EQ(*s, SIGKILL) << text;
    }
    EXPECT_EQ(parse_signal("TERM").value(), SIGTERM);
    EXPECT_EQ(parse_signal("SIGHUP").value(), SIGHUP);
    EXPECT_EQ(parse_signal("USR1").value(), SIGUSR1);
    EXPECT_EQ(parse_signal("SIGWINCH").value(), SIGWINCH);
    EXPECT_EQ(parse_signal("SIGIOT").value(), SIGABRT);
    EXPECT_EQ(parse_signal("CHLD").value(), SIGCHLD);
    EXPECT_EQ(parse_signal("SIGRTMIN").value(), SIGRTMIN);
    EXPECT_EQ(parse_signal("SIGRTMIN+3").value(), SIGRTMIN + 3);
    EXPECT_EQ(parse_signal("RTMAX-1").value(), SIGRTMAX - 1);
    EXPECT_EQ(parse_signal("64").value(), 64);
}

TEST(Signals, RejectsUnknown)
{
    for (auto text : { "FOO", "SIGFOO", "0", "65", "-9", "", "SIG", "9x", "SIGRTMIN+99", "RTMAX+1" }) {
        auto s = parse_signal(text);
        ASSERT_FALSE(s) << text;
        EXPECT_EQ(s.error().message(), fmt::format("unknown signal \"{}\"", text));
    }
}

TEST(Signals, Names)
{
    EXPECT_EQ(signal_name(SIGKILL), "SIGKILL");
    EXPECT_EQ(signal_name(SIGTERM), "SIGTERM");
    EXPECT_EQ(signal_name(SIGABRT), "SIGABRT"); // canonical, not SIGIOT
    EXPECT_EQ(signal_name(SIGRTMIN), "SIGRTMIN");
    EXPECT_EQ(signal_name(SIGRTMIN + 2), "SIGRTMIN+2");
    EXPECT_EQ(signal_name(0), "");
    for (int s = 1; s <= SIGRTMAX; ++s) {
        auto name = signal_name(s);
        if (name.empty())
            continue; // 32, 33: reserved by glibc, no name
        EXPECT_EQ(parse_signal(name).value(), s) << name;
    }
}

TEST(ContainerId, RuncRule)
{
    for (auto id : { "web", "a", "my_container-1.2", "A+B", "x,y", "..a", "a..", "0123456789abcdef0123456789abcdef" })
        EXPECT_TRUE(validate_container_id(id)) << id;
    for (auto id : { "", ".", "..", "a/b", "../x", "a b", "caf\xc3\xa9", "a:b", "a\nb", "-a;" }) {
        auto r = validate_container_id(id);
        ASSERT_FALSE(r) << id;
        EXPECT_EQ(r.error().message(), fmt::format("invalid container id {:?}", id));
        EXPECT_EQ(r.error().message().find('\n'), std::string::npos) << "one error line";
    }
    EXPECT_EQ(validate_container_id("a/b").error().message(), "invalid container id \"a/b\"");
    EXPECT_EQ(validate_container_id("a\nb").error().message(), "invalid container id \"a\\nb\"");
}
