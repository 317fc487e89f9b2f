// Whole command lines, including every argv shape real clients send (podman/conmon,
// containerd's runc shim, docker; see shared/docs/CLIENT_ARGV.md), parsed into the runtime's
// option structs. Nothing here runs a container.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "cli/cli.h"
#include "cli/options.h"

using namespace cryo;
using namespace cryo::cli;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> split(std::string const& line)
{
    std::istringstream in(line);
    std::vector<std::string> out;
    for (std::string word; in >> word;)
        out.push_back(word);
    return out;
}

CommandLine parse(std::string const& line)
{
    auto args = split(line);
    auto result = parse_command_line(args);
    EXPECT_TRUE(result) << line << ": " << (result ? "" : result.error().message());
    return result ? result.release_value() : CommandLine {};
}

std::string parse_error(std::string const& line)
{
    auto args = split(line);
    auto result = parse_command_line(args);
    EXPECT_FALSE(result) << line;
    return result ? std::string() : result.error().message();
}

std::string verb_of(CommandLine const& command)
{
    return command.invocation.verb ? std::string(command.invocation.verb->name) : "";
}

// A process.json file for `exec --process`, removed when the test ends.
class ProcessFile {
public:
    ProcessFile()
    {
        char name[] = "/tmp/cryo-unit-cli-process-XXXXXX";
        int fd = mkstemp(name);
        EXPECT_GE(fd, 0);
        if (fd >= 0)
            close(fd);
        m_path = name;
        std::ofstream(m_path) << m_content;
    }
    ~ProcessFile() { std::remove(m_path.c_str()); }
    std::string const& path() const { return m_path; }
    std::string const& content() const { return m_content; }

private:
    std::string m_path;
    std::string m_content { R"({"args":["sh"],"cwd":"/","user":{"uid":0,"gid":0}})" };
};

constexpr char k_id[] = "3f1c0d5e9a7b4c2d8e6f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d";

} // namespace

TEST(CliCommandLine, PodmanCreate)
{
    auto command = parse(fmt::format(
        "--log-format=json --log /run/libpod/ud/oci-log create --bundle /var/lib/ud --pid-file /run/ud/pidfile {}",
        k_id));
    EXPECT_EQ(command.action, CommandLine::Action::Run);
    EXPECT_EQ(verb_of(command), "create");
    EXPECT_EQ(command.log.format, log::Format::Json);
    EXPECT_EQ(command.log.path, "/run/libpod/ud/oci-log");
    EXPECT_EQ(command.invocation.context.root, "/run/cryo");
    auto options = create_options(command.invocation);
    ASSERT_TRUE(options) << options.error().message();
    EXPECT_EQ(options->id, k_id);
    EXPECT_EQ(options->bundle, "/var/lib/ud");
    EXPECT_EQ(options->pid_file, "/run/ud/pidfile");
    EXPECT_EQ(options->console_socket, "");
    EXPECT_FALSE(options->no_subreaper);
    EXPECT_FALSE(options->detach);
}

TEST(CliCommandLine, PodmanCreateWithTerminal)
{
    auto command = parse(fmt::format("--log-format=json --log /rud/oci-log create --bundle /ud --pid-file /rud/pidfile "
                                     "--console-socket /tmp/conmon-term.AB12CD {}",
                                     k_id));
    auto options = create_options(command.invocation);
    ASSERT_TRUE(options) << options.error().message();
    EXPECT_EQ(options->console_socket, "/tmp/conmon-term.AB12CD");
    EXPECT_EQ(options->bundle, "/ud");
}

TEST(CliCommandLine, PodmanWithoutJsonLogging)
{
    // A runtime podman does not know by name gets no --log flags at all.
    auto command = parse(fmt::format("create --bundle /ud --pid-file /rud/pidfile {}", k_id));
    EXPECT_EQ(command.log.format, log::Format::Text);
    EXPECT_EQ(command.log.path, "");
    EXPECT_TRUE(create_options(command.invocation));
}

TEST(CliCommandLine, StartDeletePauseResume)
{
    for (std::string verb : { "start", "pause", "resume", "state" }) {
        auto command = parse(fmt::format("{} {}", verb, k_id));
        EXPECT_EQ(verb_of(command), verb);
        EXPECT_EQ(command.invocation.args.positionals(), std::vector<std::string> { k_id });
    }
    auto forced = delete_options(parse(fmt::format("delete --force {}", k_id)).invocation);
    ASSERT_TRUE(forced);
    EXPECT_TRUE(forced->force);
    EXPECT_EQ(forced->id, k_id);
    auto plain = delete_options(
        parse("--root /run/containerd/runc/default --log /b/log.json --log-format json delete cf-a").invocation);
    ASSERT_TRUE(plain);
    EXPECT_FALSE(plain->force);
    EXPECT_EQ(plain->id, "cf-a");
    // urfave/cli reorders: the flag may follow the id.
    auto after = delete_options(parse("delete cf-a -f").invocation);
    ASSERT_TRUE(after);
    EXPECT_TRUE(after->force);
}

TEST(CliCommandLine, PodmanExec)
{
    ProcessFile process;
    auto command
        = parse(fmt::format("--log-format=json --log /ud/{}/oci-log exec --pid-file /ud/{}/exec_pid --process {} "
                            "--detach {}",
                            k_id, k_id, process.path(), k_id));
    EXPECT_EQ(verb_of(command), "exec");
    auto options = exec_options(command.invocation);
    ASSERT_TRUE(options) << options.error().message();
    EXPECT_EQ(options->id, k_id);
    EXPECT_EQ(options->process_json, process.path());
    EXPECT_TRUE(options->detach);
    EXPECT_FALSE(options->tty);
    EXPECT_EQ(options->pid_file, fmt::format("/ud/{}/exec_pid", k_id));
    EXPECT_TRUE(options->args.empty());
}

TEST(CliCommandLine, PodmanExecWithTerminal)
{
    ProcessFile process;
    auto command = parse(fmt::format("--log-format=json --log /ud/oci-log exec --pid-file /ud/exec_pid --process {} "
                                     "--detach --tty --console-socket /tmp/conmon-term.XY {}",
                                     process.path(), k_id));
    auto options = exec_options(command.invocation);
    ASSERT_TRUE(options) << options.error().message();
    EXPECT_TRUE(options->tty);
    EXPECT_TRUE(options->detach);
    EXPECT_EQ(options->console_socket, "/tmp/conmon-term.XY");
}

TEST(CliCommandLine, ContainerdCreateAndStart)
{
    auto command = parse("--root /run/containerd/runc/default --log /b/log.json --log-format json create --bundle /b "
                         "--pid-file /b/init.pid cf-a");
    EXPECT_EQ(command.invocation.context.root, "/run/containerd/runc/default");
    EXPECT_EQ(command.log.path, "/b/log.json");
    EXPECT_EQ(command.log.format, log::Format::Json);
    auto options = create_options(command.invocation);
    ASSERT_TRUE(options) << options.error().message();
    EXPECT_EQ(options->id, "cf-a");
    EXPECT_EQ(options->bundle, "/b");
    EXPECT_EQ(options->pid_file, "/b/init.pid");

    auto tty = create_options(parse("--root /r --log /b/log.json --log-format json create --bundle /b --pid-file "
                                    "/b/init.pid --console-socket /tmp/pty123/pty.sock cf-b")
                                  .invocation);
    ASSERT_TRUE(tty);
    EXPECT_EQ(tty->console_socket, "/tmp/pty123/pty.sock");

    auto start = parse("--root /run/containerd/runc/default --log /b/log.json --log-format json start cf-a");
    EXPECT_EQ(verb_of(start), "start");
    EXPECT_EQ(start.invocation.args.positionals(), std::vector<std::string> { "cf-a" });
}

TEST(CliCommandLine, ContainerdAndDockerExec)
{
    ProcessFile process;
    auto options = exec_options(parse(fmt::format("--root /r --log /b/log.json --log-format json exec --process {} "
                                                  "--detach --pid-file /b/e1.pid cf-c",
                                                  process.path()))
                                    .invocation);
    ASSERT_TRUE(options) << options.error().message();
    EXPECT_EQ(options->id, "cf-c");
    EXPECT_TRUE(options->detach);
    EXPECT_EQ(options->pid_file, "/b/e1.pid");
    EXPECT_EQ(options->process_json, process.path());

    auto tty = exec_options(parse(fmt::format("--root /moby --log /b/log.json --log-format json exec --process {} "
                                              "--console-socket /tmp/pty9/pty.sock --detach --pid-file /b/{}.pid {}",
                                              process.path(), k_id, k_id))
                                .invocation);
    ASSERT_TRUE(tty) << tty.error().message();
    EXPECT_EQ(tty->console_socket, "/tmp/pty9/pty.sock");
    EXPECT_EQ(tty->id, k_id);
}

TEST(CliCommandLine, Ps)
{
    auto command = parse("--root /r --log /b/log.json --log-format json ps --format json cf-c");
    EXPECT_EQ(verb_of(command), "ps");
    EXPECT_EQ(command.invocation.args.value("format"), "json");
    EXPECT_EQ(command.invocation.args.positionals(), std::vector<std::string> { "cf-c" });
    // ps arguments after the id are left for ps.
    auto table = parse("ps cf-c -o pid,comm");
    EXPECT_EQ(table.invocation.args.positionals(), (std::vector<std::string> { "cf-c", "-o", "pid,comm" }));
    EXPECT_FALSE(table.invocation.args.has("format"));
}

TEST(CliCommandLine, Kill)
{
    auto podman = kill_options(parse(fmt::format("kill {} 15", k_id)).invocation);
    ASSERT_TRUE(podman) << podman.error().message();
    EXPECT_EQ(podman->id, k_id);
    EXPECT_EQ(podman->signal, 15);
    EXPECT_FALSE(podman->all);

    auto containerd = kill_options(parse("--root /r --log /b/log.json --log-format json kill cf-c 9").invocation);
    ASSERT_TRUE(containerd);
    EXPECT_EQ(containerd->signal, 9);

    EXPECT_EQ(kill_options(parse("kill web").invocation)->signal, 15);
    EXPECT_EQ(kill_options(parse("kill web KILL").invocation)->signal, 9);
    EXPECT_EQ(kill_options(parse("kill web SIGKILL").invocation)->signal, 9);
    EXPECT_EQ(kill_options(parse("kill web usr1").invocation)->signal, 10);
    auto all = kill_options(parse("kill --all web HUP").invocation);
    ASSERT_TRUE(all);
    EXPECT_TRUE(all->all);
    EXPECT_EQ(all->signal, 1);
    EXPECT_TRUE(kill_options(parse("kill -a web").invocation)->all);

    EXPECT_EQ(kill_options(parse("kill web FOO").invocation).error().message(), "unknown signal \"FOO\"");
    EXPECT_EQ(kill_options(parse("kill").invocation).error().message(), "\"kill\" requires a minimum of 1 argument(s)");
    EXPECT_EQ(kill_options(parse("kill web 9 extra").invocation).error().message(),
              "\"kill\" requires a maximum of 2 argument(s)");
}

TEST(CliCommandLine, Update)
{
    auto podman = parse(fmt::format("update --resources=/var/tmp/podman123 {}", k_id));
    EXPECT_EQ(verb_of(podman), "update");
    EXPECT_EQ(podman.invocation.args.value("resources"), "/var/tmp/podman123");
    EXPECT_EQ(podman.invocation.args.positionals(), std::vector<std::string> { k_id });

    auto docker = parse(fmt::format("--root /moby --log /b/log.json --log-format json update --resources - {}", k_id));
    EXPECT_EQ(docker.invocation.args.value("resources"), "-");
    EXPECT_EQ(docker.invocation.args.positionals(), std::vector<std::string> { k_id });
}

TEST(CliCommandLine, UpdateSingleFlags)
{
    auto command = parse("update --memory 512m --memory-swap -1 --memory-reservation=256M --cpu-share 512 "
                         "--cpu-quota 50000 --cpu-period 100000 --cpu-rt-runtime -1 --cpuset-cpus 0-1 "
                         "--cpuset-mems 0 --pids-limit 100 --blkio-weight 500 --kernel-memory-tcp 1g web");
    auto resources = update_flag_resources(command.invocation.args);
    ASSERT_TRUE(resources) << resources.error().message();
    ASSERT_TRUE(resources->memory);
    EXPECT_EQ(resources->memory->limit, 512LL << 20);
    EXPECT_EQ(resources->memory->swap, -1);
    EXPECT_EQ(resources->memory->reservation, 256LL << 20);
    EXPECT_EQ(resources->memory->kernel_tcp, 1LL << 30);
    EXPECT_FALSE(resources->memory->kernel);
    ASSERT_TRUE(resources->cpu);
    EXPECT_EQ(resources->cpu->shares, 512u);
    EXPECT_EQ(resources->cpu->quota, 50000);
    EXPECT_EQ(resources->cpu->period, 100000u);
    EXPECT_EQ(resources->cpu->realtime_runtime, -1);
    EXPECT_FALSE(resources->cpu->realtime_period);
    EXPECT_EQ(resources->cpu->cpus, "0-1");
    EXPECT_EQ(resources->cpu->mems, "0");
    ASSERT_TRUE(resources->pids);
    EXPECT_EQ(resources->pids->limit, 100);
    ASSERT_TRUE(resources->block_io);
    EXPECT_EQ(resources->block_io->weight, 500);

    // Only what is named is set: an update of one value touches nothing else.
    auto memory_only = update_flag_resources(parse("update --memory=1g web").invocation.args);
    ASSERT_TRUE(memory_only);
    EXPECT_TRUE(memory_only->memory);
    EXPECT_FALSE(memory_only->cpu);
    EXPECT_FALSE(memory_only->pids);
    EXPECT_FALSE(memory_only->block_io);
    EXPECT_TRUE(update_flag_resources(parse("update web").invocation.args)->empty());

    // Both spellings of the shares flag.
    EXPECT_EQ(update_flag_resources(parse("update --cpu-shares 7 web").invocation.args)->cpu->shares, 7u);

    auto bad = update_flag_resources(parse("update --memory lots web").invocation.args);
    ASSERT_FALSE(bad);
    // The wording of create/run's resource flags (the same parser).
    EXPECT_EQ(bad.error().message(), "--memory lots: not a size");
    // Unlike create, --memory-swap alone is fine: the container has a memory limit already.
    auto swap_only = update_flag_resources(parse("update --memory-swap 1g web").invocation.args);
    ASSERT_TRUE(swap_only) << swap_only.error().message();
    EXPECT_EQ(swap_only->memory->swap, 1LL << 30);
    EXPECT_FALSE(swap_only->memory->limit);
    // --cpus is a quota for --cpu-period (100 ms when not given), and excludes --cpu-quota.
    auto cpus = update_flag_resources(parse("update --cpus 0.5 --cpu-period 200000 web").invocation.args);
    ASSERT_TRUE(cpus) << cpus.error().message();
    EXPECT_EQ(cpus->cpu->quota, 100000);
    EXPECT_EQ(cpus->cpu->period, 200000u);
    auto both = update_flag_resources(parse("update --cpus 0.5 --cpu-quota 1000 web").invocation.args);
    ASSERT_FALSE(both);
    EXPECT_EQ(both.error().message(), "--cpus and --cpu-quota cannot be used together");
    EXPECT_FALSE(update_flag_resources(parse("update --cpuset-mems 0-x web").invocation.args));
    EXPECT_FALSE(update_flag_resources(parse("update --blkio-weight 70000 web").invocation.args));
    EXPECT_FALSE(update_flag_resources(parse("update --cpu-period -5 web").invocation.args));
}

TEST(CliCommandLine, Events)
{
    auto defaults = events_options(parse("events web").invocation);
    ASSERT_TRUE(defaults);
    EXPECT_EQ(defaults->id, "web");
    EXPECT_FALSE(defaults->stats);
    EXPECT_EQ(defaults->interval, 5s);
    auto stats = events_options(parse("events --stats web").invocation);
    ASSERT_TRUE(stats);
    EXPECT_TRUE(stats->stats);
    EXPECT_EQ(events_options(parse("events --interval 100ms web").invocation)->interval, 100ms);
    EXPECT_EQ(events_options(parse("events --interval=1m30s web").invocation)->interval, 90s);
    EXPECT_EQ(events_options(parse("events --interval 0s web").invocation).error().message(),
              "--interval: duration value must be greater than 0");
    EXPECT_EQ(events_options(parse("events --interval 5 web").invocation).error().message(),
              "--interval: time: missing unit in duration \"5\"");
}

TEST(CliCommandLine, CreateAndRunFlags)
{
    auto run = parse("run -d --keep -b /bundle --no-pivot --no-new-keyring --preserve-fds 2 -no-subreaper web");
    EXPECT_EQ(verb_of(run), "run");
    auto options = create_options(run.invocation);
    ASSERT_TRUE(options) << options.error().message();
    EXPECT_TRUE(options->detach);
    EXPECT_TRUE(options->keep);
    EXPECT_EQ(options->bundle, "/bundle");
    EXPECT_TRUE(options->no_pivot);
    EXPECT_TRUE(options->no_new_keyring);
    EXPECT_EQ(options->preserve_fds, 2);
    EXPECT_TRUE(options->no_subreaper);

    auto defaults = create_options(parse("create web").invocation);
    ASSERT_TRUE(defaults);
    EXPECT_EQ(defaults->bundle, ".");
    EXPECT_EQ(defaults->preserve_fds, 0);

    EXPECT_FALSE(create_options(parse("create --preserve-fds=-1 web").invocation));
    EXPECT_FALSE(create_options(parse("create --preserve-fds=x web").invocation));
    EXPECT_EQ(create_options(parse("create a/b").invocation).error().message(), "invalid container id \"a/b\"");
    // create has no --detach: it is a usage error, not silently accepted.
    EXPECT_EQ(parse_error("create -d web"), "create: flag provided but not defined: -d");
}

TEST(CliCommandLine, RestoreFlags)
{
    // podman's restore (conmon runs it): runc's flags only, so the image's network comes back.
    auto podman = parse("--log-format=json --log /run/l restore --bundle /ud --pid-file /run/pidfile --detach "
                        "--image-path /ud/checkpoint --work-path /ud --tcp-established --file-locks web");
    EXPECT_EQ(verb_of(podman), "restore");
    auto options = restore_options(podman.invocation);
    ASSERT_TRUE(options) << options.error().message();
    EXPECT_EQ(options->create.id, "web");
    EXPECT_EQ(options->create.bundle, "/ud");
    EXPECT_EQ(options->create.pid_file, "/run/pidfile");
    EXPECT_TRUE(options->create.detach);
    EXPECT_EQ(options->image_path, "/ud/checkpoint");
    EXPECT_EQ(options->work_path, "/ud");
    EXPECT_EQ(options->create.extras.network, "");

    // cryo's own --network, spelled as run's and create's: the runtime takes it over the image's.
    auto moved = restore_options(parse("restore -d --image-path /i --network bridge:ip=10.89.0.9 web").invocation);
    ASSERT_TRUE(moved) << moved.error().message();
    EXPECT_EQ(moved->create.extras.network, "bridge:ip=10.89.0.9");
    EXPECT_EQ(restore_options(parse("restore --network=none web").invocation)->create.extras.network, "none");

    // A process tree (-D) has no cryo network to replace: refused before anything is restored.
    auto tree = parse("restore -D /img --network bridge");
    ASSERT_NE(tree.invocation.verb, nullptr);
    auto refused = tree.invocation.verb->run(tree.invocation);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().message(),
              "restore /img: --network is for containers; a process tree keeps its own network namespace");
    EXPECT_EQ(restore_options(parse("restore -D /img web").invocation).error().message(),
              "restore web: -D/--images-dir is for process trees; a container's image is --image-path");
}

TEST(CliCommandLine, ExecArguments)
{
    auto command
        = parse("exec -e A=1 --env B=2 -u 1000:1000 -g 10 -g 20 --cap CAP_NET_ADMIN -c CAP_SYS_TIME --cwd /tmp "
                "-t --no-new-privs web sh -c -e --detach");
    auto options = exec_options(command.invocation);
    ASSERT_TRUE(options) << options.error().message();
    EXPECT_EQ(options->id, "web");
    EXPECT_EQ(options->args, (std::vector<std::string> { "sh", "-c", "-e", "--detach" }));
    EXPECT_EQ(options->env, (std::vector<std::string> { "A=1", "B=2" }));
    EXPECT_EQ(options->user, "1000:1000");
    EXPECT_EQ(options->additional_gids, (std::vector<std::string> { "10", "20" }));
    EXPECT_EQ(options->caps, (std::vector<std::string> { "CAP_NET_ADMIN", "CAP_SYS_TIME" }));
    EXPECT_EQ(options->cwd, "/tmp");
    EXPECT_TRUE(options->tty);
    EXPECT_TRUE(options->no_new_privs);
    EXPECT_FALSE(options->detach); // it belongs to the command, after the id
    EXPECT_EQ(options->process_json, "");
    EXPECT_FALSE(options->user.has_value() && options->user->empty());

    auto dashes = exec_options(parse("exec web -- ls -l --").invocation);
    ASSERT_TRUE(dashes) << dashes.error().message();
    EXPECT_EQ(dashes->args, (std::vector<std::string> { "ls", "-l", "--" }));
    EXPECT_FALSE(exec_options(parse("exec web").invocation));
    EXPECT_FALSE(exec_options(parse("exec web --").invocation));
    EXPECT_EQ(exec_options(parse("exec -g abc web true").invocation).error().message(),
              "invalid additional-gids value \"abc\"");
    // The path goes to the runtime as given; with it, no command is needed.
    auto path_only = exec_options(parse("exec --process /nonexistent/cryo.json web").invocation);
    ASSERT_TRUE(path_only) << path_only.error().message();
    EXPECT_EQ(path_only->process_json, "/nonexistent/cryo.json");
    EXPECT_EQ(exec_options(parse("exec --process= web").invocation).error().message(), "--process: empty path");
}

TEST(CliCommandLine, GlobalFlags)
{
    auto command = parse("--root=/tmp/r --debug --systemd-cgroup --criu /usr/sbin/criu --rootless auto list");
    EXPECT_EQ(command.invocation.context.root, "/tmp/r");
    EXPECT_TRUE(command.invocation.context.debug);
    EXPECT_TRUE(command.invocation.context.systemd_cgroup);
    EXPECT_EQ(command.log.min_level, log::Level::Debug);
    EXPECT_EQ(verb_of(command), "list");

    // Single dashes for globals too (Go flag).
    EXPECT_EQ(parse("-root /x list").invocation.context.root, "/x");
    // Globals belong before the verb.
    EXPECT_EQ(parse_error("list --root /x"), "list: flag provided but not defined: -root");
}

TEST(CliCommandLine, LogFormatIsCheckedButTheLogFileIsKnownFirst)
{
    std::vector<std::string> args { "--log", "/tmp/x.log", "--log-format", "xml", "list" };
    log::Config config;
    auto result = parse_command_line(args, &config);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().message(), "unknown log-format \"xml\"");
    EXPECT_EQ(config.path, "/tmp/x.log");
}

TEST(CliCommandLine, HelpAndVersion)
{
    EXPECT_EQ(parse("").action, CommandLine::Action::ProgramHelp);
    EXPECT_EQ(parse("--help").action, CommandLine::Action::ProgramHelp);
    EXPECT_EQ(parse("-h").action, CommandLine::Action::ProgramHelp);
    EXPECT_EQ(parse("help").action, CommandLine::Action::ProgramHelp);
    EXPECT_EQ(parse("--version").action, CommandLine::Action::Version);
    EXPECT_EQ(parse("-v").action, CommandLine::Action::Version);

    // podman probes `RUNTIME checkpoint --help`; every verb answers --help without other args.
    for (auto const* verb : all_verbs()) {
        for (std::string help : { "--help", "-h" }) {
            auto command = parse(fmt::format("{} {}", verb->name, help));
            EXPECT_EQ(command.action, CommandLine::Action::VerbHelp) << verb->name;
            EXPECT_EQ(command.invocation.verb, verb);
        }
        auto text = verb_help(*verb);
        EXPECT_NE(text.find(fmt::format("cryo {} - ", verb->name)), std::string::npos) << text;
        for (auto const& flag : verb->flags)
            EXPECT_NE(text.find(fmt::format("--{}", flag.name)), std::string::npos) << verb->name << " " << flag.name;
    }
    auto help_create = parse("help create");
    EXPECT_EQ(help_create.action, CommandLine::Action::VerbHelp);
    EXPECT_EQ(verb_of(help_create), "create");
    // Flags before --help are parsed normally; --help still wins.
    EXPECT_EQ(parse("create --bundle /b --help").action, CommandLine::Action::VerbHelp);

    auto version = version_text();
    EXPECT_TRUE(version.starts_with("cryo version ")) << version;
    EXPECT_NE(version.find("\nspec: 1."), std::string::npos) << version;
    auto program = program_help();
    for (auto const* verb : all_verbs())
        EXPECT_NE(program.find(fmt::format("   {} ", verb->name)), std::string::npos) << verb->name;
}

TEST(CliCommandLine, UsageErrorsNameTheProblem)
{
    EXPECT_EQ(parse_error("bogus"), "unknown command \"bogus\" (see cryo --help)");
    EXPECT_EQ(parse_error("help bogus"), "unknown command \"bogus\" (see cryo --help)");
    EXPECT_EQ(parse_error("--bogus list"), "flag provided but not defined: -bogus");
    EXPECT_EQ(parse_error("create --foo x"), "create: flag provided but not defined: -foo");
    EXPECT_EQ(parse_error("create --bundle"), "create: flag needs an argument: -bundle");
    EXPECT_EQ(parse_error("--root= list"), "--root cannot be empty");
}

TEST(CliCommandLine, VerbTableIsConsistent)
{
    std::set<std::string_view> names;
    for (auto const* verb : all_verbs()) {
        EXPECT_TRUE(names.insert(verb->name).second) << "duplicate verb " << verb->name;
        EXPECT_NE(verb->run, nullptr) << verb->name;
        EXPECT_FALSE(verb->summary.empty()) << verb->name;
        EXPECT_EQ(find_verb(verb->name), verb);
        std::set<std::string_view> flags;
        for (auto const& flag : verb->flags) {
            EXPECT_TRUE(flags.insert(flag.name).second) << verb->name << " --" << flag.name;
            if (!flag.alias.empty()) {
                EXPECT_TRUE(flags.insert(flag.alias).second) << verb->name << " -" << flag.alias;
            }
        }
    }
    for (std::string_view expected : { "create", "start", "run", "exec", "kill", "delete", "state", "list", "ps",
                                       "pause", "resume", "update", "events", "features", "spec" })
        EXPECT_TRUE(names.count(expected)) << expected;
}
