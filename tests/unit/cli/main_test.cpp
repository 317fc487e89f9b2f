// cryo_main end to end for the verbs that need no container: exit codes, what reaches
// stdout, stderr and the --log file.
#include <gtest/gtest.h>

#include <cstdio>
#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/log.h"
#include "cli/cli.h"
#include "sys/file.h"

using namespace cryo;

namespace {

class TempDir {
public:
    TempDir()
    {
        char name[] = "/tmp/cryo-unit-cli-main-XXXXXX";
        EXPECT_NE(mkdtemp(name), nullptr);
        m_path = name;
    }
    ~TempDir() { (void)sys::remove_all(m_path); }
    std::string const& path() const { return m_path; }

private:
    std::string m_path;
};

struct Outcome {
    int status { -1 };
    std::string out;
    std::string err;
};

// Runs cryo_main with stdout and stderr sent to files, then puts them back.
Outcome run(TempDir const& dir, std::vector<std::string> args)
{
    args.insert(args.begin(), "cryo");
    std::vector<char*> argv;
    for (auto& arg : args)
        argv.push_back(arg.data());
    argv.push_back(nullptr);

    fflush(stdout);
    fflush(stderr);
    int saved_out = dup(STDOUT_FILENO);
    int saved_err = dup(STDERR_FILENO);
    std::string out_path = dir.path() + "/stdout";
    std::string err_path = dir.path() + "/stderr";
    int out_fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int err_fd = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    dup2(out_fd, STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    close(out_fd);
    close(err_fd);

    Outcome outcome;
    outcome.status = cli::cryo_main(static_cast<int>(args.size()), argv.data());

    dup2(saved_out, STDOUT_FILENO);
    dup2(saved_err, STDERR_FILENO);
    close(saved_out);
    close(saved_err);
    log::configure({}); // back to stderr/text for the next test
    outcome.out = sys::read_file(out_path).value_or("");
    outcome.err = sys::read_file(err_path).value_or("");
    return outcome;
}

} // namespace

TEST(CliMain, VersionAndHelpExitZero)
{
    TempDir dir;
    auto version = run(dir, { "--version" });
    EXPECT_EQ(version.status, 0);
    EXPECT_TRUE(version.out.starts_with("cryo version ")) << version.out;
    EXPECT_EQ(version.err, "");
    EXPECT_EQ(run(dir, { "-v" }).out, version.out);

    auto help = run(dir, {});
    EXPECT_EQ(help.status, 0);
    EXPECT_NE(help.out.find("COMMANDS:"), std::string::npos);

    // podman's probe: `RUNTIME checkpoint --help` must exit 0.
    for (std::string verb : { "create", "run", "exec", "kill", "delete", "update", "events", "checkpoint" }) {
        auto verb_help = run(dir, { verb, "--help" });
        EXPECT_EQ(verb_help.status, 0) << verb;
        EXPECT_NE(verb_help.out.find("USAGE:"), std::string::npos) << verb;
        EXPECT_EQ(verb_help.err, "") << verb;
    }
}

TEST(CliMain, UsageErrorsAreOneLineAndExitOne)
{
    TempDir dir;
    auto unknown = run(dir, { "bogus" });
    EXPECT_EQ(unknown.status, 1);
    EXPECT_EQ(unknown.err, "cryo: unknown command \"bogus\" (see cryo --help)\n");
    EXPECT_EQ(unknown.out, "");

    auto flag = run(dir, { "create", "--foo", "x" });
    EXPECT_EQ(flag.status, 1);
    EXPECT_EQ(flag.err, "cryo: create: flag provided but not defined: -foo\n");

    auto args = run(dir, { "--root", dir.path(), "state" });
    EXPECT_EQ(args.status, 1);
    EXPECT_EQ(args.err, "cryo: \"state\" requires exactly 1 argument(s)\n");
}

TEST(CliMain, ErrorsGoToTheJsonLogTooAsShimsReadThem)
{
    TempDir dir;
    std::string log_path = dir.path() + "/log.json";
    auto missing = run(dir, { "--root", dir.path(), "--log", log_path, "--log-format", "json", "state", "nosuch" });
    EXPECT_EQ(missing.status, 1);
    EXPECT_EQ(missing.err, "cryo: container nosuch does not exist\n");
    auto line = nlohmann::json::parse(MUST(sys::read_file(log_path)));
    EXPECT_EQ(line["level"], "error");
    EXPECT_EQ(line["msg"], "container nosuch does not exist");
    EXPECT_TRUE(line.contains("time"));

    // Even a usage error in the verb's flags reaches the log (podman's --log-format=json form).
    std::string log2 = dir.path() + "/log2.json";
    EXPECT_EQ(run(dir, { "--log-format=json", "--log", log2, "create", "--nope", "x" }).status, 1);
    EXPECT_EQ(nlohmann::json::parse(MUST(sys::read_file(log2)))["msg"], "create: flag provided but not defined: -nope");
}

TEST(CliMain, ListOnAnEmptyRoot)
{
    TempDir dir;
    auto table = run(dir, { "--root", dir.path() + "/none", "list" });
    EXPECT_EQ(table.status, 0);
    EXPECT_EQ(table.out, "ID          PID         STATUS      BUNDLE      CREATED     OWNER\n");
    auto json = run(dir, { "--root", dir.path(), "list", "--format", "json" });
    EXPECT_EQ(json.status, 0);
    EXPECT_EQ(json.out, "[]\n");
    auto quiet = run(dir, { "--root", dir.path(), "list", "-q" });
    EXPECT_EQ(quiet.out, "");
    auto bad = run(dir, { "--root", dir.path(), "list", "-f", "yaml" });
    EXPECT_EQ(bad.status, 1);
    EXPECT_EQ(bad.err, "cryo: invalid format option \"yaml\" (table or json)\n");
}

TEST(CliMain, SpecWritesOnceAndRefusesToOverwrite)
{
    TempDir dir;
    auto first = run(dir, { "spec", "--bundle", dir.path() });
    EXPECT_EQ(first.status, 0) << first.err;
    auto config = nlohmann::json::parse(MUST(sys::read_file(dir.path() + "/config.json")));
    EXPECT_EQ(config["process"]["args"], nlohmann::json({ "sh" }));
    EXPECT_TRUE(config["linux"]["namespaces"].is_array());

    auto again = run(dir, { "spec", "-b", dir.path(), "--rootless" });
    EXPECT_EQ(again.status, 1);
    EXPECT_EQ(again.err, "cryo: File config.json exists. Remove it first\n");
    // The first file is untouched.
    EXPECT_EQ(nlohmann::json::parse(MUST(sys::read_file(dir.path() + "/config.json"))), config);

    std::string rootless_dir = dir.path() + "/rootless";
    ASSERT_TRUE(sys::mkdir_all(rootless_dir, 0755));
    EXPECT_EQ(run(dir, { "spec", "--rootless", "-b", rootless_dir }).status, 0);
    auto rootless = nlohmann::json::parse(MUST(sys::read_file(rootless_dir + "/config.json")));
    bool has_user_ns = false;
    for (auto const& ns : rootless["linux"]["namespaces"])
        has_user_ns |= ns["type"] == "user";
    EXPECT_TRUE(has_user_ns);
}

TEST(CliMain, FeaturesIsJson)
{
    TempDir dir;
    auto features = run(dir, { "features" });
    EXPECT_EQ(features.status, 0) << features.err;
    auto json = nlohmann::json::parse(features.out);
    EXPECT_EQ(json["ociVersionMin"], "1.0.0");
    EXPECT_TRUE(json["linux"]["cgroup"]["v1"].get<bool>());
    EXPECT_TRUE(json["linux"]["cgroup"]["v2"].get<bool>());
    EXPECT_FALSE(json["linux"]["cgroup"]["systemd"].get<bool>());
}

TEST(CliMain, SystemdCgroupWithoutSystemdIsAClearError)
{
    if (sys::exists("/run/systemd/system"))
        GTEST_SKIP() << "systemd runs here";
    TempDir dir;
    auto result = run(dir, { "--root", dir.path(), "--systemd-cgroup", "create", "-b", dir.path(), "web" });
    EXPECT_EQ(result.status, 1);
    EXPECT_NE(result.err.find("--systemd-cgroup: systemd is not running"), std::string::npos) << result.err;
    EXPECT_FALSE(sys::exists(dir.path() + "/web")); // nothing left behind
    // Verbs that create no cgroup accept the flag.
    EXPECT_EQ(run(dir, { "--root", dir.path(), "--systemd-cgroup", "list", "-q" }).status, 0);
}
