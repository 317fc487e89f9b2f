// test_hooks.h: parsing of the engine's test hooks from an environment given as a map, and the
// override unit tests use to switch them.
#include <gtest/gtest.h>

#include <csignal>
#include <map>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include "checkpoint/kill_point.h"
#include "checkpoint/test_hooks.h"

using namespace cryo::checkpoint;

namespace {

ParsedTestHooks parse(std::map<std::string, std::string> const& env)
{
    return parse_test_hooks([&env](char const* name) -> char const* {
        auto it = env.find(name);
        return it == env.end() ? nullptr : it->second.c_str();
    });
}

// Every hook at its default: what cryo does without any hook set.
void expect_production(TestHooks const& hooks)
{
    EXPECT_TRUE(hooks.pagemap_scan);
    EXPECT_TRUE(hooks.dump_snapshot);
    EXPECT_FALSE(hooks.kill_at);
    EXPECT_FALSE(hooks.signal_at_release);
    EXPECT_FALSE(hooks.snapshot_hold);
    EXPECT_FALSE(hooks.snapshot_protect_futex);
    EXPECT_FALSE(hooks.snapshot_no_patch);
}

// How a child that runs kill_point(phase) for each of `phases`, with CRYO_TEST_KILL_AT=`wanted`,
// ends: exit code 3 if it outlived them all.
int child_status(char const* wanted, std::initializer_list<char const*> phases)
{
    pid_t pid = ::fork();
    if (pid == 0) {
        TestHooksOverride hooks(TestHooks { .kill_at = wanted });
        for (char const* phase : phases)
            kill_point(phase);
        ::_exit(3);
    }
    int status = 0;
    EXPECT_EQ(::waitpid(pid, &status, 0), pid);
    return status;
}

} // namespace

TEST(TestHooks, UnsetIsProductionBehaviour)
{
    auto p = parse({ { "CRYO_NO_PROGRESS", "1" }, { "CRYO_TEST_KILL_TRACEE", "9" } }); // not this layer's
    EXPECT_TRUE(p.warnings.empty());
    expect_production(p.hooks);
}

TEST(TestHooks, EveryHookAsTheTestsSetIt)
{
    auto p = parse({
        { "CRYO_PAGEMAP_SCAN", "0" },
        { "CRYO_DUMP_SNAPSHOT", "0" },
        { "CRYO_TEST_KILL_AT", "thawed" },
        { "CRYO_TEST_SIGNAL_AT_RELEASE", "10" },
        { "CRYO_TEST_SNAPSHOT_HOLD", "/tmp/x/hold" },
        { "CRYO_TEST_SNAPSHOT_PROTECT_FUTEX", "1" },
        { "CRYO_TEST_SNAPSHOT_NO_PATCH", "1" },
    });
    EXPECT_TRUE(p.warnings.empty());
    EXPECT_FALSE(p.hooks.pagemap_scan);
    EXPECT_FALSE(p.hooks.dump_snapshot);
    EXPECT_EQ(p.hooks.kill_at, "thawed");
    EXPECT_EQ(p.hooks.signal_at_release, 10);
    EXPECT_EQ(p.hooks.snapshot_hold, "/tmp/x/hold");
    EXPECT_TRUE(p.hooks.snapshot_protect_futex);
    EXPECT_TRUE(p.hooks.snapshot_no_patch);
}

TEST(TestHooks, SwitchesTakeZeroOrOne)
{
    auto p = parse({ { "CRYO_PAGEMAP_SCAN", "1" },
                     { "CRYO_DUMP_SNAPSHOT", "1" },
                     { "CRYO_TEST_SNAPSHOT_PROTECT_FUTEX", "0" },
                     { "CRYO_TEST_SNAPSHOT_NO_PATCH", "0" } });
    EXPECT_TRUE(p.warnings.empty());
    EXPECT_TRUE(p.hooks.pagemap_scan);
    EXPECT_TRUE(p.hooks.dump_snapshot);
    EXPECT_FALSE(p.hooks.snapshot_protect_futex);
    EXPECT_FALSE(p.hooks.snapshot_no_patch);
}

// An invalid value is ignored (the default stays) with one warning naming variable and value.
TEST(TestHooks, InvalidValuesAreIgnoredWithAWarning)
{
    auto p = parse({
        { "CRYO_PAGEMAP_SCAN", "no" },
        { "CRYO_DUMP_SNAPSHOT", "" },
        { "CRYO_TEST_KILL_AT", "" },
        { "CRYO_TEST_SIGNAL_AT_RELEASE", "10x" },
        { "CRYO_TEST_SNAPSHOT_HOLD", "" },
        { "CRYO_TEST_SNAPSHOT_PROTECT_FUTEX", "yes" },
        { "CRYO_TEST_SNAPSHOT_NO_PATCH", "2" },
    });
    expect_production(p.hooks);
    ASSERT_EQ(p.warnings.size(), 7u);
    EXPECT_EQ(p.warnings[0], "ignoring CRYO_PAGEMAP_SCAN=\"no\": not 0 or 1");
    EXPECT_EQ(p.warnings[1], "ignoring CRYO_DUMP_SNAPSHOT=\"\": not 0 or 1");
    EXPECT_EQ(p.warnings[2], "ignoring CRYO_TEST_KILL_AT=\"\": empty");
    EXPECT_EQ(p.warnings[3], "ignoring CRYO_TEST_SIGNAL_AT_RELEASE=\"10x\": not a signal number (1 to 64)");
}

TEST(TestHooks, SignalNumberRange)
{
    for (char const* bad : { "0", "-1", "65", "", " 10", "10 ", "+10", "0x10", "99999999999" }) {
        auto p = parse({ { "CRYO_TEST_SIGNAL_AT_RELEASE", bad } });
        EXPECT_FALSE(p.hooks.signal_at_release) << bad;
        EXPECT_EQ(p.warnings.size(), 1u) << bad;
    }
    EXPECT_EQ(parse({ { "CRYO_TEST_SIGNAL_AT_RELEASE", "1" } }).hooks.signal_at_release, 1);
    EXPECT_EQ(parse({ { "CRYO_TEST_SIGNAL_AT_RELEASE", "64" } }).hooks.signal_at_release, 64);
}

TEST(TestHooks, OverrideNestsAndRestores)
{
    bool const from_environment = test_hooks().pagemap_scan;
    {
        TestHooksOverride outer(TestHooks { .pagemap_scan = false });
        EXPECT_FALSE(test_hooks().pagemap_scan);
        {
            TestHooksOverride inner(TestHooks { .kill_at = "frozen" });
            EXPECT_TRUE(test_hooks().pagemap_scan);
            EXPECT_EQ(test_hooks().kill_at, "frozen");
        }
        EXPECT_FALSE(test_hooks().pagemap_scan);
        EXPECT_FALSE(test_hooks().kill_at);
    }
    EXPECT_EQ(test_hooks().pagemap_scan, from_environment);
}

TEST(TestHooks, KillPointKillsAtTheNamedPhaseOnly)
{
    int status = child_status("frozen", { "freeze", "frozen", "collected" });
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
    status = child_status("frozen", { "freeze", "collected", "frozenx", "froze" });
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 3) << status;
}
