#include <gtest/gtest.h>

#include <csignal>
#include <cstring>
#include <linux/seccomp.h>
#include <sys/stat.h>
#include <unistd.h>

#include "child.h"
#include "rootfs/process.h"
#include "rootfs/seccomp.h"
#include "sys/file.h"

using namespace cryo;
using namespace cryo::rootfs;

namespace {

SeccompProfile allow_all_but(SeccompRule rule)
{
    SeccompProfile profile;
    profile.default_action = SeccompAction::Allow;
    profile.architectures = { "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32" };
    profile.rules.push_back(std::move(rule));
    return profile;
}

std::string load_in_child(SeccompProgram const& program)
{
    if (auto r = set_no_new_privs(); !r)
        return "no_new_privs: " + r.error().message();
    auto loaded = load(program);
    if (!loaded)
        return loaded.error().message();
    return {};
}

} // namespace

TEST(Seccomp, Names)
{
    EXPECT_EQ(*seccomp_action_from_name("SCMP_ACT_ERRNO"), SeccompAction::Errno);
    EXPECT_EQ(*seccomp_action_from_name("SCMP_ACT_NOTIFY"), SeccompAction::Notify);
    EXPECT_EQ(*seccomp_action_from_name("SCMP_ACT_KILL_PROCESS"), SeccompAction::KillProcess);
    EXPECT_EQ(*seccomp_op_from_name("SCMP_CMP_MASKED_EQ"), SeccompOp::MaskedEqual);
    EXPECT_EQ(*seccomp_flag_from_name("SECCOMP_FILTER_FLAG_LOG"), static_cast<unsigned>(SECCOMP_FILTER_FLAG_LOG));
    auto bad = seccomp_action_from_name("SCMP_ACT_BOGUS");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message(), "unknown seccomp action \"SCMP_ACT_BOGUS\"");
    EXPECT_FALSE(seccomp_op_from_name("SCMP_CMP_XX"));
    EXPECT_FALSE(seccomp_flag_from_name("SECCOMP_FILTER_FLAG_BOGUS"));
}

TEST(Seccomp, ErrnoRuleDeniesInChildOnly)
{
    auto program = compile(allow_all_but({ .names = { "getcwd", "no_such_syscall_xyz" },
                                           .action = SeccompAction::Errno,
                                           .errno_ret = std::nullopt,
                                           .args = {} }));
    ASSERT_TRUE(program) << program.error().message();
    EXPECT_FALSE(program->filter.empty());
    EXPECT_FALSE(program->needs_listener);
    EXPECT_EQ(program->flags, 0u);

    auto outcome = test::run_in_child([&]() -> std::string {
        char buffer[256];
        if (::getcwd(buffer, sizeof buffer) == nullptr)
            return "getcwd failed before the filter";
        if (auto failure = load_in_child(*program); !failure.empty())
            return failure;
        errno = 0;
        if (::getcwd(buffer, sizeof buffer) != nullptr)
            return "getcwd succeeded under the filter";
        if (errno != EPERM)
            return "getcwd failed with errno " + std::to_string(errno) + ", not EPERM";
        return {};
    });
    EXPECT_TRUE(outcome.ok()) << outcome.failure;
    char buffer[256];
    EXPECT_NE(::getcwd(buffer, sizeof buffer), nullptr) << "the parent must be unaffected";
}

TEST(Seccomp, CustomErrnoAndArgumentConditions)
{
    // dup(1234) fails with EBADE; dup of another fd works: the argument condition matters.
    auto program
        = compile(allow_all_but({ .names = { "dup" },
                                  .action = SeccompAction::Errno,
                                  .errno_ret = EBADE,
                                  .args = { { .index = 0, .value = 1234, .value_two = 0, .op = SeccompOp::Equal } } }));
    ASSERT_TRUE(program) << program.error().message();
    auto outcome = test::run_in_child([&]() -> std::string {
        if (auto failure = load_in_child(*program); !failure.empty())
            return failure;
        errno = 0;
        if (::dup(1234) != -1 || errno != EBADE)
            return "dup(1234) was not denied with EBADE, errno " + std::to_string(errno);
        int fd = ::dup(0);
        if (fd < 0)
            return "dup(0) was denied";
        ::close(fd);
        return {};
    });
    EXPECT_TRUE(outcome.ok()) << outcome.failure;
}

TEST(Seccomp, SameArgumentTwiceMeansEither)
{
    // Two conditions on argument 0 cannot both hold: runc makes them alternatives.
    auto program
        = compile(allow_all_but({ .names = { "dup" },
                                  .action = SeccompAction::Errno,
                                  .errno_ret = EBADE,
                                  .args = { { .index = 0, .value = 1000, .value_two = 0, .op = SeccompOp::Equal },
                                            { .index = 0, .value = 1001, .value_two = 0, .op = SeccompOp::Equal } } }));
    ASSERT_TRUE(program) << program.error().message();
    auto outcome = test::run_in_child([&]() -> std::string {
        if (auto failure = load_in_child(*program); !failure.empty())
            return failure;
        errno = 0;
        if (::dup(1000) != -1 || errno != EBADE)
            return "dup(1000) not denied";
        errno = 0;
        if (::dup(1001) != -1 || errno != EBADE)
            return "dup(1001) not denied";
        errno = 0;
        if (::dup(1002) != -1 || errno != EBADF)
            return "dup(1002) should fail with EBADF only";
        return {};
    });
    EXPECT_TRUE(outcome.ok()) << outcome.failure;
}

TEST(Seccomp, MaskedEqual)
{
    // umask(mode) denied when (mode & 0700) == 0700.
    auto program = compile(
        allow_all_but({ .names = { "umask" },
                        .action = SeccompAction::Errno,
                        .errno_ret = EPERM,
                        .args = { { .index = 0, .value = 0700, .value_two = 0700, .op = SeccompOp::MaskedEqual } } }));
    ASSERT_TRUE(program) << program.error().message();
    auto outcome = test::run_in_child([&]() -> std::string {
        if (auto failure = load_in_child(*program); !failure.empty())
            return failure;
        // glibc's umask() cannot report errors: look at the raw return value.
        long denied = ::syscall(SYS_umask, 0777);
        if (denied != -1 || errno != EPERM)
            return "umask(0777) not denied";
        long allowed = ::syscall(SYS_umask, 0022);
        if (allowed < 0)
            return "umask(0022) denied";
        return {};
    });
    EXPECT_TRUE(outcome.ok()) << outcome.failure;
}

TEST(Seccomp, KillProcessAction)
{
    auto program = compile(allow_all_but(
        { .names = { "getcwd" }, .action = SeccompAction::KillProcess, .errno_ret = std::nullopt, .args = {} }));
    ASSERT_TRUE(program) << program.error().message();
    auto outcome = test::run_in_child([&]() -> std::string {
        if (auto failure = load_in_child(*program); !failure.empty())
            return failure;
        char buffer[64];
        (void)!::getcwd(buffer, sizeof buffer);
        return "still alive after getcwd";
    });
    EXPECT_TRUE(outcome.killed_by(SIGSYS)) << "status " << outcome.wait_status << " " << outcome.failure;
}

TEST(Seccomp, NotifyReturnsListener)
{
    auto profile = allow_all_but(
        { .names = { "getppid" }, .action = SeccompAction::Notify, .errno_ret = std::nullopt, .args = {} });
    // TSYNC cannot go with a listener: load() drops it (the init has one thread).
    profile.flags = { "SECCOMP_FILTER_FLAG_TSYNC" };
    auto program = compile(profile);
    ASSERT_TRUE(program) << program.error().message();
    EXPECT_TRUE(program->needs_listener);
    auto outcome = test::run_in_child([&]() -> std::string {
        if (auto r = set_no_new_privs(); !r)
            return r.error().message();
        auto listener = load(*program);
        if (!listener)
            return listener.error().message();
        if (!listener->valid())
            return "no listener fd";
        char link[128] = {};
        auto path = "/proc/self/fd/" + std::to_string(listener->get());
        if (::readlink(path.c_str(), link, sizeof link - 1) < 0)
            return "readlink listener failed";
        if (std::string(link).find("seccomp notify") == std::string::npos)
            return std::string("listener is ") + link;
        if (::fcntl(listener->get(), F_GETFD) != FD_CLOEXEC)
            return "listener is not CLOEXEC";
        return {};
    });
    EXPECT_TRUE(outcome.ok()) << outcome.failure;
}

TEST(Seccomp, FlagsAndDefaultActionRules)
{
    SeccompProfile profile;
    profile.default_action = SeccompAction::Errno;
    profile.default_errno = ENOSYS;
    profile.flags = { "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW" };
    // A rule with the default action is skipped (libseccomp refuses it), not an error.
    profile.rules.push_back({ .names = { "getcwd" }, .action = SeccompAction::Errno, .errno_ret = ENOSYS, .args = {} });
    profile.rules.push_back(
        { .names = { "read", "write" }, .action = SeccompAction::Allow, .errno_ret = std::nullopt, .args = {} });
    auto program = compile(profile);
    ASSERT_TRUE(program) << program.error().message();
    EXPECT_EQ(program->flags, static_cast<unsigned>(SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW));

    profile.flags.push_back("SECCOMP_FILTER_FLAG_NOPE");
    auto bad = compile(profile);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message(), "unknown seccomp flag \"SECCOMP_FILTER_FLAG_NOPE\"");
}

TEST(Seccomp, LoadWithoutPrivilegeOrNoNewPrivsFails)
{
    auto program = compile(allow_all_but(
        { .names = { "getcwd" }, .action = SeccompAction::Errno, .errno_ret = std::nullopt, .args = {} }));
    ASSERT_TRUE(program);
    auto outcome = test::run_in_child([&]() -> std::string {
        // Root has CAP_SYS_ADMIN, which allows loading without no_new_privs: become nobody
        // (dropping every capability) so the test means the same as root and as a user.
        if (::geteuid() == 0 && (::setresgid(65534, 65534, 65534) < 0 || ::setresuid(65534, 65534, 65534) < 0))
            return "cannot drop to uid 65534";
        auto loaded = load(*program);
        if (loaded)
            return "loaded without no_new_privs";
        return loaded.error().message() == "seccomp: Permission denied" ? "" : loaded.error().message();
    });
    EXPECT_TRUE(outcome.ok()) << outcome.failure;
}

namespace {

std::vector<std::string> files_in(std::string const& dir)
{
    auto list = sys::list_dir(dir);
    return list ? *list : std::vector<std::string> {};
}

bool same_filter(SeccompProgram const& a, SeccompProgram const& b)
{
    return a.flags == b.flags && a.needs_listener == b.needs_listener && a.filter.size() == b.filter.size()
        && std::memcmp(a.filter.data(), b.filter.data(), a.filter.size() * sizeof(sock_filter)) == 0;
}

} // namespace

TEST(SeccompCache, MissThenHit)
{
    char dir_template[] = "/tmp/cryo-unit-seccomp-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    std::string cache = std::string(dir_template) + "/cache";

    auto profile = allow_all_but(
        { .names = { "getcwd" }, .action = SeccompAction::Errno, .errno_ret = std::nullopt, .args = {} });
    profile.flags = { "SECCOMP_FILTER_FLAG_LOG" };
    auto direct = compile(profile);
    ASSERT_TRUE(direct);

    auto first = compile_cached(profile, cache);
    ASSERT_TRUE(first) << first.error().message();
    EXPECT_TRUE(same_filter(*first, *direct));
    auto entries = files_in(cache);
    ASSERT_EQ(entries.size(), 1u);
    auto entry = cache + "/" + entries[0];
    struct stat st { };
    ASSERT_EQ(::stat(cache.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);

    // Prove that the second call reads the entry: swap in another valid program under
    // the same key and get that one back.
    auto other = compile(
        allow_all_but({ .names = { "mkdir", "rmdir" }, .action = SeccompAction::Errno, .errno_ret = EIO, .args = {} }));
    ASSERT_TRUE(other);
    auto file = sys::read_file(entry);
    ASSERT_TRUE(file);
    auto key = seccomp_cache_key(profile);
    size_t header = file->size() - key.size() - first->filter.size() * sizeof(sock_filter);
    std::string swapped = file->substr(0, header);
    uint32_t count = static_cast<uint32_t>(other->filter.size());
    std::memcpy(swapped.data() + header - sizeof count, &count, sizeof count);
    swapped += key;
    swapped.append(reinterpret_cast<char const*>(other->filter.data()), other->filter.size() * sizeof(sock_filter));
    ASSERT_TRUE(sys::write_file_atomic(entry, swapped, 0600));
    auto hit = compile_cached(profile, cache);
    ASSERT_TRUE(hit);
    EXPECT_EQ(hit->filter.size(), other->filter.size());
    EXPECT_EQ(hit->flags, first->flags);

    // A damaged entry is a miss: recompiled and rewritten.
    ASSERT_TRUE(sys::write_file_atomic(entry, "garbage", 0600));
    auto again = compile_cached(profile, cache);
    ASSERT_TRUE(again);
    EXPECT_TRUE(same_filter(*again, *direct));
    EXPECT_GT(sys::read_file(entry)->size(), 100u);

    // Another profile is another entry.
    profile.rules[0].errno_ret = EACCES;
    ASSERT_TRUE(compile_cached(profile, cache));
    EXPECT_EQ(files_in(cache).size(), 2u);

    ASSERT_TRUE(sys::remove_all(dir_template));
}

TEST(SeccompCache, KeyCoversEveryField)
{
    auto base = allow_all_but(
        { .names = { "getcwd" }, .action = SeccompAction::Errno, .errno_ret = std::nullopt, .args = {} });
    auto key = seccomp_cache_key(base);
    EXPECT_NE(key.find("libseccomp "), std::string::npos);
    auto differs = [&](auto mutate) {
        auto copy = base;
        mutate(copy);
        return seccomp_cache_key(copy) != key;
    };
    EXPECT_TRUE(differs([](SeccompProfile& p) { p.default_action = SeccompAction::Log; }));
    EXPECT_TRUE(differs([](SeccompProfile& p) { p.default_errno = 1; }));
    EXPECT_TRUE(differs([](SeccompProfile& p) { p.architectures.pop_back(); }));
    EXPECT_TRUE(differs([](SeccompProfile& p) { p.flags.push_back("SECCOMP_FILTER_FLAG_LOG"); }));
    EXPECT_TRUE(differs([](SeccompProfile& p) { p.rules[0].names.push_back("mkdir"); }));
    EXPECT_TRUE(differs([](SeccompProfile& p) { p.rules[0].action = SeccompAction::Trap; }));
    EXPECT_TRUE(differs([](SeccompProfile& p) { p.rules[0].errno_ret = 5; }));
    EXPECT_TRUE(differs([](SeccompProfile& p) {
        p.rules[0].args.push_back({ .index = 1, .value = 2, .value_two = 3, .op = SeccompOp::LessThan });
    }));
    EXPECT_FALSE(differs([](SeccompProfile& p) { p.listener_path = "/run/x.sock"; }));
}
