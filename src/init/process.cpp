// cryo-init's signals, spawning and reaping (see process.h).
#include "init/process.h"

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fd.h"

extern char** environ;

namespace cryo::init {

void say(char const* format, ...)
{
    char buffer[1024];
    int used = std::snprintf(buffer, sizeof buffer, "cryo-init: ");
    va_list args;
    va_start(args, format);
    int n = std::vsnprintf(buffer + used, sizeof buffer - static_cast<size_t>(used) - 1, format, args);
    va_end(args);
    size_t length = static_cast<size_t>(used) + (n < 0 ? 0 : static_cast<size_t>(n));
    length = std::min(length, sizeof buffer - 2);
    buffer[length++] = '\n';
    // One write per line, so lines of the init and of its services do not interleave.
    (void)!::write(STDERR_FILENO, buffer, length);
}

sigset_t block_signals()
{
    sigset_t set;
    sigfillset(&set);
    // Faults are delivered to the thread that caused them; blocking them would hide a crash.
    for (int fault : { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT })
        sigdelset(&set, fault);
    ::sigprocmask(SIG_SETMASK, &set, nullptr);
    return set;
}

int next_signal(sigset_t const& set, std::optional<Clock::time_point> deadline)
{
    for (;;) {
        siginfo_t info;
        int signal;
        if (deadline) {
            auto left = *deadline - Clock::now();
            if (left <= Clock::duration::zero())
                return 0;
            auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
            timespec timeout { .tv_sec = static_cast<time_t>(ns / 1000000000),
                               .tv_nsec = static_cast<long>(ns % 1000000000) };
            signal = ::sigtimedwait(&set, &info, &timeout);
        } else {
            signal = ::sigwaitinfo(&set, &info);
        }
        if (signal > 0)
            return signal;
        if (errno == EAGAIN)
            return 0;
        // EINTR: a stop/continue of the init itself; wait again.
    }
}

std::vector<Exited> reap_all()
{
    std::vector<Exited> exited;
    for (;;) {
        int status = 0;
        pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            break; // 0: children left, none ended; -1 ECHILD: no children at all
        exited.push_back({ pid, status });
    }
    return exited;
}

int exit_code_of(int wait_status)
{
    if (WIFEXITED(wait_status))
        return WEXITSTATUS(wait_status);
    if (WIFSIGNALED(wait_status))
        return 128 + WTERMSIG(wait_status);
    return 255;
}

std::string describe_status(int wait_status)
{
    if (WIFEXITED(wait_status))
        return "exited with status " + std::to_string(WEXITSTATUS(wait_status));
    if (WIFSIGNALED(wait_status))
        return std::string("was killed by signal ") + std::to_string(WTERMSIG(wait_status)) + " ("
            + signal_name(WTERMSIG(wait_status)) + ")";
    return "ended with wait status " + std::to_string(wait_status);
}

char const* signal_name(int signal)
{
    char const* name = ::sigabbrev_np(signal);
    return name ? name : "?";
}

namespace {

// NAME=VALUE pairs of the init's environment with `extra` overriding same-named ones.
std::vector<std::string> merged_environment(std::vector<std::string> const& extra)
{
    std::vector<std::string> env;
    auto name_of = [](std::string const& entry) { return entry.substr(0, entry.find('=')); };
    for (char** e = environ; e && *e; ++e) {
        std::string entry(*e);
        bool overridden = false;
        for (auto const& x : extra)
            overridden = overridden || name_of(x) == name_of(entry);
        if (!overridden)
            env.push_back(std::move(entry));
    }
    env.insert(env.end(), extra.begin(), extra.end());
    return env;
}

[[noreturn]] void child_fail(char const* what, std::string const& detail)
{
    say("%s %s: %s", what, detail.c_str(), std::strerror(errno));
    ::_exit(127);
}

} // namespace

pid_t spawn(SpawnOptions const& options, std::string& error)
{
    // Everything the child needs is built before fork; the child only makes syscalls.
    std::vector<std::string> env_strings = merged_environment(options.extra_env);
    std::vector<char*> argv;
    for (auto const& a : options.argv)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto const& e : env_strings)
        envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);

    pid_t pid = ::fork();
    if (pid < 0) {
        error = std::string("fork: ") + std::strerror(errno);
        return -1;
    }
    if (pid > 0) {
        // Also in the parent, so a signal forwarded right after spawn finds the group.
        if (options.grouping == Grouping::ForegroundGroup)
            (void)::setpgid(pid, pid);
        return pid;
    }

    if (options.grouping == Grouping::ForegroundGroup) {
        (void)::setpgid(0, 0);
        // Job control and ^C go to the process's group, not to the init. SIGTTOU is still
        // blocked here, so a background group may take the terminal; no tty: ENOTTY, fine.
        (void)::tcsetpgrp(STDIN_FILENO, ::getpid());
    } else {
        (void)::setsid();
        Fd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        if (null.valid())
            (void)::dup2(null.get(), STDIN_FILENO);
    }
    if (options.gid) {
        if (::setgroups(0, nullptr) < 0)
            child_fail("setgroups", "for " + options.argv[0]);
        if (::setgid(*options.gid) < 0)
            child_fail("setgid", std::to_string(*options.gid));
    }
    if (options.uid && ::setuid(*options.uid) < 0)
        child_fail("setuid", std::to_string(*options.uid));
    std::string directory = options.directory.empty() ? std::string("/") : options.directory;
    if (!options.directory.empty() && ::chdir(directory.c_str()) < 0)
        child_fail("chdir", directory);
    // A clean slate, as from a machine's init: signals ignored by whoever started the
    // container (bash ignores SIGINT and SIGQUIT for `cmd &`) would otherwise be inherited
    // through every exec, and a shell cannot even trap a signal ignored on entry.
    struct sigaction default_action { };
    default_action.sa_handler = SIG_DFL;
    for (int signal = 1; signal < NSIG; ++signal)
        if (signal != SIGKILL && signal != SIGSTOP)
            (void)::sigaction(signal, &default_action, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execvpe(argv[0], argv.data(), envp.data());
    child_fail("exec", options.argv[0]);
}

void signal_group(pid_t pgid, int signal)
{
    if (::kill(-pgid, signal) < 0 && errno == ESRCH)
        (void)::kill(pgid, signal);
}

} // namespace cryo::init
