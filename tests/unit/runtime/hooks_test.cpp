#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>

#include "runtime/hooks.h"
#include "sys/file.h"

using namespace cryo;
using namespace cryo::runtime;

// The hook gets the state on stdin, its own args and env (nothing else).
TEST(RuntimeHooks, StateOnStdinArgsAndEnv)
{
    char t[] = "/tmp/cryo-unit-hook-XXXXXX";
    std::string dir = mkdtemp(t);
    auto out = dir + "/out";
    oci::Hook hook { .path = "/bin/sh",
                     .args = { "sh", "-c", "cat > \"$OUT\"; echo \"$1 $X ${HOME:-nohome}\" >> \"$OUT\"", "sh", "arg1" },
                     .env = { "OUT=" + out, "X=y" } };
    ASSERT_TRUE(run_hook(hook, R"({"id":"web"})"));
    auto text = sys::read_file(out);
    ASSERT_TRUE(text);
    EXPECT_EQ(*text, "{\"id\":\"web\"}arg1 y nohome\n");
    (void)sys::remove_all(dir);
}

TEST(RuntimeHooks, FailureNamesHookStatusAndOutput)
{
    oci::Hook hook { .path = "/bin/sh", .args = { "sh", "-c", "echo no network >&2; exit 3" } };
    auto r = run_hook(hook, "{}");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "hook /bin/sh: exited with status 3: no network");
    oci::Hook missing { .path = "/nonexistent/hook" };
    auto m = run_hooks(std::span(&missing, 1), "prestart", "{}");
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().message(),
              "prestart hook 0: hook /nonexistent/hook: exited with status 127: cannot execute hook");
}

// A hook that exits without reading its stdin must neither block cryo nor kill it with SIGPIPE,
// whatever the size of the state; one that reads gets all of it.
TEST(RuntimeHooks, StateLargerThanAPipeNeedNotBeRead)
{
    std::string big(1 << 20, 'x');
    for (int i = 0; i < 20; ++i) {
        oci::Hook quick { .path = "/bin/sh", .args = { "sh", "-c", "exit 0" } };
        ASSERT_TRUE(run_hook(quick, big)) << "round " << i;
    }
    oci::Hook count { .path = "/bin/sh", .args = { "sh", "-c", "test \"$(wc -c)\" = 1048576" } };
    EXPECT_TRUE(run_hook(count, big));
}

TEST(RuntimeHooks, TimeoutKillsTheHook)
{
    oci::Hook hook { .path = "/bin/sleep", .args = { "sleep", "30" }, .timeout = 1 };
    auto start = std::chrono::steady_clock::now();
    auto r = run_hook(hook, "{}");
    auto took = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "hook /bin/sleep: timed out after 1 s");
    EXPECT_LT(took, std::chrono::seconds(5));
}

// poststart/poststop failures are warnings: every hook still runs.
TEST(RuntimeHooks, WarnRunsEveryHook)
{
    char t[] = "/tmp/cryo-unit-hook-XXXXXX";
    std::string dir = mkdtemp(t);
    std::vector<oci::Hook> hooks {
        { .path = "/bin/false", .args = { "false" } },
        { .path = "/bin/sh", .args = { "sh", "-c", "touch \"$1\"", "sh", dir + "/ran" } },
    };
    run_hooks_warn(hooks, "poststop", "{}");
    EXPECT_TRUE(sys::exists(dir + "/ran"));
    (void)sys::remove_all(dir);
}
