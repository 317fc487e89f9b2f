// Test helper: runs a function in a forked child and brings back its failure message, so
// that tests which change process-wide state (seccomp, credentials, mounts) leave the
// test runner untouched.
#pragma once

#include <fcntl.h>
#include <functional>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include "base/error.h"

namespace cryo::test {

struct ChildOutcome {
    int wait_status { 0 };
    std::string failure; // empty when the function succeeded

    bool ok() const { return WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0 && failure.empty(); }
    bool killed_by(int signal) const { return WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == signal; }
};

// `body` returns "" on success or a description of what went wrong.
inline ChildOutcome run_in_child(std::function<std::string()> const& body)
{
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) < 0)
        return { 0, "pipe failed" };
    pid_t pid = ::fork();
    if (pid < 0)
        return { 0, "fork failed" };
    if (pid == 0) {
        ::close(fds[0]);
        std::string failure = body();
        if (!failure.empty()) {
            (void)!::write(fds[1], failure.data(), failure.size());
            ::_exit(1);
        }
        ::_exit(0);
    }
    ::close(fds[1]);
    ChildOutcome outcome;
    char buffer[4096];
    for (;;) {
        ssize_t n = ::read(fds[0], buffer, sizeof buffer);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        outcome.failure.append(buffer, static_cast<size_t>(n));
    }
    ::close(fds[0]);
    while (::waitpid(pid, &outcome.wait_status, 0) < 0 && errno == EINTR) { }
    return outcome;
}

template<typename T>
std::string failure_of(Result<T> const& result, std::string_view what)
{
    if (result.has_value())
        return {};
    return std::string(what) + ": " + result.error().message();
}

} // namespace cryo::test
