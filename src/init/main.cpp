// cryo-init: a small static pid 1 for containers (docs/cryo-init.md).
//   cryo-init [--] CMD [ARGS...]             wrap mode: runs CMD in its own process group,
//                                            forwards signals to that group, reaps orphans,
//                                            exits with CMD's status (128+N if killed by N)
//   cryo-init --system [--services FILE]     system mode: supervises the services of FILE
//                                            (default /etc/cryo-init/services)
// It links nothing of cryo (plain C++ and libc) so that it can be static and run in any
// root file system.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <string_view>
#include <sys/prctl.h>
#include <unistd.h>
#include <vector>

#include "base/fd.h"
#include "init/process.h"
#include "init/services.h"
#include "init/supervisor.h"

namespace cryo::init {

namespace {

constexpr char k_default_services[] = "/etc/cryo-init/services";

constexpr char k_usage[] = "usage: cryo-init [--] COMMAND [ARGS...]\n"
                           "       cryo-init --system [--services FILE]\n"
                           "       cryo-init --check FILE\n"
                           "A pid 1 for containers: reaps orphans, forwards signals to COMMAND's process group\n"
                           "and exits with its status; with --system, supervises the services of FILE\n"
                           "(default /etc/cryo-init/services). --check parses FILE and prints the services.\n";

struct Arguments {
    bool system { false };
    std::string services_file { k_default_services };
    std::string check_file;
    std::vector<std::string> command;
};

// Returns the exit code to end with (usage errors: 2) or -1 to go on.
int parse_arguments(int argc, char** argv, Arguments& out)
{
    int i = 1;
    for (; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--") {
            ++i;
            break;
        }
        if (arg == "-h" || arg == "--help") {
            std::fputs(k_usage, stdout);
            return 0;
        }
        if (arg == "--system") {
            out.system = true;
        } else if (arg == "--services" || arg == "--check") {
            if (i + 1 >= argc) {
                say("%s needs a file", argv[i]);
                return 2;
            }
            (arg == "--services" ? out.services_file : out.check_file) = argv[++i];
        } else if (arg.starts_with("-")) {
            say("unknown option %s (see cryo-init --help)", argv[i]);
            return 2;
        } else {
            break;
        }
    }
    for (; i < argc; ++i)
        out.command.emplace_back(argv[i]);
    if (!out.check_file.empty())
        return -1;
    if (out.system && !out.command.empty()) {
        say("--system takes no command: the services come from %s", out.services_file.c_str());
        return 2;
    }
    if (!out.system && out.command.empty()) {
        std::fputs(k_usage, stderr);
        return 2;
    }
    return -1;
}

bool read_whole_file(std::string const& path, std::string& text, std::string& error)
{
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        error = std::strerror(errno);
        return false;
    }
    char buffer[8192];
    for (;;) {
        ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            error = std::strerror(errno);
            return false;
        }
        if (n == 0)
            return true;
        text.append(buffer, static_cast<size_t>(n));
        if (text.size() > (1u << 20)) {
            error = "larger than 1 MiB";
            return false;
        }
    }
}

Parsed<std::vector<ServiceSpec>> load_services(std::string const& path)
{
    std::string text, error;
    if (!read_whole_file(path, text, error))
        return Parsed<std::vector<ServiceSpec>>::fail("read " + path + ": " + error);
    auto services = parse_services(text);
    if (!services)
        return Parsed<std::vector<ServiceSpec>>::fail(path + ": " + services.error);
    return services;
}

int check(std::string const& path)
{
    auto services = load_services(path);
    if (!services) {
        say("%s", services.error.c_str());
        return 1;
    }
    for (auto const& s : *services.value) {
        std::printf("%s: restart=%s order=%d stop_signal=%s stop_timeout=%lldms restart_delay=%lldms command=",
                    s.name.c_str(), policy_name(s.restart), s.order, signal_name(s.stop_signal),
                    static_cast<long long>(s.stop_timeout.count()), static_cast<long long>(s.restart_delay.count()));
        for (size_t i = 0; i < s.command.size(); ++i)
            std::printf("%s[%s]", i ? " " : "", s.command[i].c_str());
        std::printf("\n");
    }
    return 0;
}

// Wrap mode: one child; its group gets every signal; its status is ours.
int wrap(std::vector<std::string> const& command, sigset_t const& signals)
{
    std::string error;
    pid_t child = spawn(SpawnOptions { .argv = command, .grouping = Grouping::ForegroundGroup }, error);
    if (child < 0) {
        say("start %s: %s", command[0].c_str(), error.c_str());
        return 127;
    }
    for (;;) {
        int signal = next_signal(signals, std::nullopt);
        if (signal != SIGCHLD) {
            signal_group(child, signal);
            continue;
        }
        for (auto const& exited : reap_all()) {
            // Orphans that were adopted are reaped with the rest; only the child ends us. The
            // kernel kills what is left in the pid namespace when its init exits.
            if (exited.pid == child)
                return exit_code_of(exited.status);
        }
    }
}

} // namespace

int main(int argc, char** argv)
{
    Arguments arguments;
    if (int code = parse_arguments(argc, argv, arguments); code >= 0)
        return code;
    if (!arguments.check_file.empty())
        return check(arguments.check_file);
    // Outside a new pid namespace we are not pid 1: become the subreaper of our subtree so
    // orphans still come to us.
    if (::getpid() != 1)
        (void)::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    sigset_t signals = block_signals();
    if (!arguments.system)
        return wrap(arguments.command, signals);
    auto services = load_services(arguments.services_file);
    if (!services) {
        say("%s", services.error.c_str());
        return 1;
    }
    if (services.value->empty()) {
        say("%s: no services", arguments.services_file.c_str());
        return 1;
    }
    return supervise(*services.value, signals);
}

} // namespace cryo::init

int main(int argc, char** argv)
{
    return cryo::init::main(argc, argv);
}
