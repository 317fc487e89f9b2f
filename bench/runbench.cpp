// runbench: times command sequences precisely (posix_spawn + wait4, CLOCK_MONOTONIC) and reports
// each timed phase's median/mean/min/p90/max wall time and peak RSS (wait4's ru_maxrss).
//
//   runbench [-n RUNS] [-w WARMUP] [-o SAMPLES] -- NAME CMD ARG... [-- NAME CMD ARG...]...
//
// Every iteration runs the phases in order; "{i}" in any argument becomes the iteration number
// (warm-up iterations included, so ids stay unique). A NAME starting with '@' is run but not
// timed (e.g. waiting for a container to stop). A non-zero exit aborts with the command's
// stderr. -o appends every timed sample to SAMPLES as "NAME MS RSS_KIB" lines (so several
// interleaved invocations can be pooled). Output, one line per timed phase:
//   PHASE name runs=N median_ms=.. mean_ms=.. min_ms=.. p90_ms=.. max_ms=.. total_ms=..
//         median_rss_kib=.. max_rss_kib=..
#include <fcntl.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

extern char** environ;

namespace {

struct Phase {
    std::string name;
    std::vector<std::string> argv;
    bool timed { true };
    std::vector<double> ms;
    std::vector<long> rss_kib;
};

struct Outcome {
    int status { 0 };
    double ms { 0 };
    long rss_kib { 0 };
};

double now_ms()
{
    timespec ts {};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

std::string substitute(std::string arg, long iteration)
{
    auto const number = std::to_string(iteration);
    for (auto pos = arg.find("{i}"); pos != std::string::npos; pos = arg.find("{i}", pos + number.size()))
        arg.replace(pos, 3, number);
    return arg;
}

// Runs argv with stdin/stdout on /dev/null and stderr into err_fd; returns the wait status,
// wall time and the child's peak RSS.
Outcome run_once(std::vector<std::string> const& args, int err_fd)
{
    std::vector<char*> argv;
    for (auto const& arg : args)
        argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, err_fd, 2);

    Outcome outcome;
    pid_t pid = 0;
    double const start = now_ms();
    int const rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        std::fprintf(stderr, "runbench: spawn %s: %s\n", argv[0], std::strerror(rc));
        std::exit(2);
    }
    int status = 0;
    rusage usage {};
    while (wait4(pid, &status, 0, &usage) < 0) {
        if (errno != EINTR) {
            std::perror("runbench: wait4");
            std::exit(2);
        }
    }
    outcome.ms = now_ms() - start;
    outcome.status = status;
    outcome.rss_kib = usage.ru_maxrss;
    return outcome;
}

double percentile(std::vector<double> values, double p)
{
    std::sort(values.begin(), values.end());
    auto const index = static_cast<size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
    return values[std::min(index, values.size() - 1)];
}

double median(std::vector<double> values)
{
    std::sort(values.begin(), values.end());
    auto const n = values.size();
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

void usage()
{
    std::fputs("usage: runbench [-n RUNS] [-w WARMUP] [-o SAMPLES] -- NAME CMD ARG... [-- NAME CMD ARG...]...\n"
               "  {i} in arguments = iteration number; NAME starting with @ = not timed\n",
               stderr);
    std::exit(2);
}

} // namespace

int main(int argc, char** argv)
{
    long runs = 20;
    long warmup = 2;
    FILE* samples = nullptr;
    int i = 1;
    for (; i < argc && std::strcmp(argv[i], "--") != 0; i++) {
        std::string const arg = argv[i];
        if (arg == "-o" && i + 1 < argc) {
            samples = std::fopen(argv[++i], "ae");
            if (!samples) {
                std::perror(argv[i]);
                return 2;
            }
        } else if ((arg == "-n" || arg == "-w") && i + 1 < argc) {
            long const value = std::strtol(argv[++i], nullptr, 10);
            (arg == "-n" ? runs : warmup) = value;
        } else {
            usage();
        }
    }
    std::vector<Phase> phases;
    for (; i < argc; i++) {
        if (std::strcmp(argv[i], "--") == 0) {
            if (i + 2 >= argc)
                usage();
            Phase phase;
            phase.name = argv[++i];
            phase.timed = phase.name[0] != '@';
            phases.push_back(phase);
            continue;
        }
        phases.back().argv.emplace_back(argv[i]);
    }
    if (phases.empty() || runs < 1 || warmup < 0)
        usage();

    // stderr of every command lands in one memfd, rewound per run, shown on failure.
    int const err_fd = memfd_create("runbench-stderr", MFD_CLOEXEC);
    if (err_fd < 0) {
        std::perror("runbench: memfd_create");
        return 2;
    }
    for (long iteration = 0; iteration < warmup + runs; iteration++) {
        for (auto& phase : phases) {
            std::vector<std::string> args;
            for (auto const& arg : phase.argv)
                args.push_back(substitute(arg, iteration));
            if (ftruncate(err_fd, 0) != 0 || lseek(err_fd, 0, SEEK_SET) != 0) {
                std::perror("runbench: reset stderr buffer");
                return 2;
            }
            auto const outcome = run_once(args, err_fd);
            if (!WIFEXITED(outcome.status) || WEXITSTATUS(outcome.status) != 0) {
                char buffer[2048] {};
                auto const n = pread(err_fd, buffer, sizeof buffer - 1, 0);
                std::string command;
                for (auto const& arg : args)
                    command += (command.empty() ? "" : " ") + arg;
                std::fprintf(stderr, "runbench: %s (run %ld): `%s` %s %d: %s\n", phase.name.c_str(), iteration,
                             command.c_str(), WIFEXITED(outcome.status) ? "exited with" : "killed by signal",
                             WIFEXITED(outcome.status) ? WEXITSTATUS(outcome.status) : WTERMSIG(outcome.status),
                             n > 0 ? buffer : "(no stderr)");
                return 1;
            }
            if (phase.timed && iteration >= warmup) {
                phase.ms.push_back(outcome.ms);
                phase.rss_kib.push_back(outcome.rss_kib);
                if (samples)
                    std::fprintf(samples, "%s %.3f %ld\n", phase.name.c_str(), outcome.ms, outcome.rss_kib);
            }
        }
    }
    for (auto const& phase : phases) {
        if (!phase.timed)
            continue;
        double total = 0;
        for (auto const ms : phase.ms)
            total += ms;
        std::vector<double> rss(phase.rss_kib.begin(), phase.rss_kib.end());
        std::printf("PHASE %s runs=%zu median_ms=%.3f mean_ms=%.3f min_ms=%.3f p90_ms=%.3f max_ms=%.3f total_ms=%.3f "
                    "median_rss_kib=%.0f max_rss_kib=%.0f\n",
                    phase.name.c_str(), phase.ms.size(), median(phase.ms), total / static_cast<double>(phase.ms.size()),
                    percentile(phase.ms, 0), percentile(phase.ms, 0.9), percentile(phase.ms, 1), total, median(rss),
                    percentile(rss, 1));
    }
    if (samples)
        std::fclose(samples);
    return 0;
}
