// What list and ps print: runc's layouts, byte for byte where runc's are known.
#include <gtest/gtest.h>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "cli/options.h"
#include "sys/spawn.h"

using namespace cryo;
using namespace cryo::cli;

TEST(CliOutput, ListTableOfNothingIsRuncsHeader)
{
    // Exactly what `runc list` prints for an empty root.
    EXPECT_EQ(list_table({}), "ID          PID         STATUS      BUNDLE      CREATED     OWNER\n");
}

TEST(CliOutput, ListTableColumnsGrowWithTheirWidestCell)
{
    std::vector<runtime::ContainerSummary> containers {
        { .id = "web",
          .pid = 4242,
          .status = "running",
          .bundle = "/srv/bundles/web",
          .created = "2026-11-27T20:00:00.123456789Z",
          .owner = "root" },
        { .id = "a-much-longer-container-id",
          .pid = 0,
          .status = "stopped",
          .bundle = "/b",
          .created = "2026-11-27T20:00:01Z",
          .owner = "" },
    };
    auto table = list_table(containers);
    std::vector<std::string> lines;
    for (size_t start = 0; start < table.size();) {
        auto end = table.find('\n', start);
        lines.push_back(table.substr(start, end - start));
        start = end + 1;
    }
    ASSERT_EQ(lines.size(), 3u);
    // ID column: widest id (26) + 3; BUNDLE: 16 + 3; CREATED: 30 + 3.
    EXPECT_EQ(lines[0], fmt::format("{:<29}{:<12}{:<12}{:<19}{:<33}OWNER", "ID", "PID", "STATUS", "BUNDLE", "CREATED"));
    EXPECT_EQ(lines[1],
              fmt::format("{:<29}{:<12}{:<12}{:<19}{:<33}root", "web", "4242", "running", "/srv/bundles/web",
                          "2026-11-27T20:00:00.123456789Z"));
    EXPECT_EQ(lines[2],
              fmt::format("{:<29}{:<12}{:<12}{:<19}{:<33}", "a-much-longer-container-id", "0", "stopped", "/b",
                          "2026-11-27T20:00:01Z"));
}

TEST(CliOutput, ListJsonParsesBack)
{
    EXPECT_EQ(list_json({}), "[]\n");
    auto json = nlohmann::json::parse(list_json({
        { .id = "web",
          .pid = 7,
          .status = "paused",
          .bundle = "/b \"q\"",
          .created = "2026-11-27T20:00:00Z",
          .owner = "" },
    }));
    ASSERT_EQ(json.size(), 1u);
    EXPECT_EQ(json[0]["id"], "web");
    EXPECT_EQ(json[0]["pid"], 7);
    EXPECT_EQ(json[0]["status"], "paused");
    EXPECT_EQ(json[0]["bundle"], "/b \"q\"");
    EXPECT_EQ(json[0]["created"], "2026-11-27T20:00:00Z");
}

TEST(CliOutput, PsTableKeepsHeaderAndTheContainersLines)
{
    std::string ps = "UID          PID    PPID  C STIME TTY          TIME CMD\n"
                     "root           1       0  0 20:00 ?        00:00:01 /sbin/init\n"
                     "root         100       1  0 20:00 ?        00:00:00 sleep 100\n"
                     "root        1000     100  0 20:00 ?        00:00:00 sh -c echo 100\n"
                     "\n"
                     "root        1001     100  0 20:00 ?        00:00:00 top\n";
    auto out = filter_ps_output(ps, { 100, 1001 });
    ASSERT_TRUE(out) << out.error().message();
    EXPECT_EQ(*out,
              "UID          PID    PPID  C STIME TTY          TIME CMD\n"
              "root         100       1  0 20:00 ?        00:00:00 sleep 100\n"
              "root        1001     100  0 20:00 ?        00:00:00 top\n");
    // The PID column is found by name, wherever `ps -o` put it.
    auto custom = filter_ps_output("COMMAND PID\nsleep 100\ninit 1\n", { 100 });
    ASSERT_TRUE(custom);
    EXPECT_EQ(*custom, "COMMAND PID\nsleep 100\n");
    EXPECT_EQ(filter_ps_output("COMMAND\nsleep\n", { 1 }).error().message(), "couldn't find PID field in ps output");
}

TEST(CliOutput, RunCaptureReturnsStdoutAndReportsFailures)
{
    auto echoed = sys::run_capture({ "sh", "-c", "echo out; echo err >&2" });
    ASSERT_TRUE(echoed) << echoed.error().message();
    EXPECT_EQ(*echoed, "out\n");
    auto failed = sys::run_capture({ "sh", "-c", "exit 3" });
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().message(), "sh exited with status 3");
    auto missing = sys::run_capture({ "/nonexistent/cryo-ps" });
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().message(), "run /nonexistent/cryo-ps: No such file or directory");
    // Real ps output filtered to our own pid keeps exactly one line besides the header.
    auto ps = sys::run_capture({ "ps", "-ef" });
    ASSERT_TRUE(ps) << ps.error().message();
    auto mine = filter_ps_output(*ps, { getpid() });
    ASSERT_TRUE(mine) << mine.error().message();
    EXPECT_EQ(std::count(mine->begin(), mine->end(), '\n'), 2);
}
