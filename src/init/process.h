// cryo-init's process plumbing: one signal mask for the whole program (every catchable,
// asynchronous signal is blocked and taken with sigtimedwait, so there are no handlers and
// no races with them), spawning children into their own process group or session, and
// reaping every child, adopted orphans included. Plain libc only: cryo-init links nothing of
// cryo's libraries and is static.
#pragma once

#include <chrono>
#include <csignal>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace cryo::init {

using Clock = std::chrono::steady_clock;

// "cryo-init: " + printf-style message + newline, on stderr (the container's).
[[gnu::format(printf, 1, 2)]] void say(char const* format, ...);

// Blocks every signal except the synchronous faults (SEGV, BUS, FPE, ILL, TRAP, SYS, ABRT)
// and returns the blocked set, which next_signal waits on. Children get an empty mask back.
sigset_t block_signals();

// The next pending signal of `set`, waiting until `deadline` (forever if none); 0 on timeout.
int next_signal(sigset_t const& set, std::optional<Clock::time_point> deadline);

struct Exited {
    pid_t pid;
    int status; // wait status
};
// Every child that has ended, without blocking.
std::vector<Exited> reap_all();

// The exit code a shell would report for a wait status: the code, or 128 + signal.
int exit_code_of(int wait_status);

// "exited with status 3" / "was killed by signal 9 (Killed)".
std::string describe_status(int wait_status);

enum class Grouping {
    ForegroundGroup, // own process group, made the terminal's foreground group (wrap mode)
    Session, // own session, stdin from /dev/null (services)
};

struct SpawnOptions {
    std::vector<std::string> argv {}; // argv[0] is looked up in PATH
    std::vector<std::string> extra_env {};
    std::string directory {};
    std::optional<uint32_t> uid {};
    std::optional<uint32_t> gid {};
    Grouping grouping { Grouping::ForegroundGroup };
};

// Forks and execs; returns the pid (which is also the child's process group id), or -1 with
// `error` set when fork fails. A failed exec is reported by the child and exits 127.
pid_t spawn(SpawnOptions const& options, std::string& error);

// Sends `signal` to the process group `pgid`, falling back to the process itself while it
// may not have made its group yet.
void signal_group(pid_t pgid, int signal);

char const* signal_name(int signal);

} // namespace cryo::init
