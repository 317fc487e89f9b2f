#include "runtime/hooks.h"

#include <chrono>
#include <csignal>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "sys/clone.h"
#include "sys/file.h"
#include "sys/file_kinds.h"
#include "sys/process.h"

namespace cryo::runtime {

namespace {

std::vector<char*> c_strings(std::vector<std::string> const& in)
{
    std::vector<char*> out;
    out.reserve(in.size() + 1);
    for (auto const& s : in)
        out.push_back(const_cast<char*>(s.c_str()));
    out.push_back(nullptr);
    return out;
}

std::string first_line(std::string const& text)
{
    auto end = text.find('\n');
    std::string line = text.substr(0, end == std::string::npos ? text.size() : end);
    if (line.size() > 200)
        line.resize(200);
    return line;
}

} // namespace

Result<void> run_hook(oci::Hook const& hook, std::string_view state_json)
{
    // The state goes in through a memfd rather than a pipe: written before the hook starts,
    // it can neither block on a hook that never reads stdin nor raise SIGPIPE (which would
    // kill cryo) when the hook exits before reading.
    auto state = TRY(sys::memfd_create("hook-state", 0).context("hook {}", hook.path));
    TRY(sys::write_all(state, state_json).context("hook {}: write state", hook.path));
    if (::lseek(state.get(), 0, SEEK_SET) != 0)
        return Error::from_errno(fmt::format("hook {}: rewind state", hook.path));
    auto [out_read, out_write] = TRY(sys::pipe());
    auto args = hook.args.empty() ? std::vector<std::string> { hook.path } : hook.args;
    auto argv = c_strings(args);
    auto envp = c_strings(hook.env);

    auto cloned = TRY(sys::fork_with_pidfd().context("start hook {}", hook.path));
    if (cloned.is_child()) {
        // dup2 clears CLOEXEC on the targets; every other fd we hold is CLOEXEC.
        if (::dup2(state.get(), 0) < 0 || ::dup2(out_write.get(), 1) < 0 || ::dup2(out_write.get(), 2) < 0)
            sys::exit_now(127);
        ::execve(hook.path.c_str(), argv.data(), envp.data());
        char const message[] = "cannot execute hook\n";
        (void)!::write(2, message, sizeof message - 1);
        sys::exit_now(127);
    }
    sys::ChildProcess child(cloned.pid, std::move(cloned.pidfd));
    state.reset();
    out_write.reset();

    using Clock = std::chrono::steady_clock;
    auto deadline = hook.timeout ? Clock::now() + std::chrono::seconds(*hook.timeout) : Clock::time_point::max();
    std::string output;
    bool out_open = true;
    bool timed_out = false;
    for (;;) {
        pollfd fds[2] = { { child.pidfd().get(), POLLIN, 0 }, { out_read.get(), POLLIN, 0 } };
        int timeout_ms = -1;
        if (hook.timeout) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
            timeout_ms = left > 0 ? static_cast<int>(left) : 0;
        }
        int n = ::poll(fds, out_open ? 2 : 1, timeout_ms);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return Error::from_errno("poll hook");
        if (n == 0) {
            timed_out = true;
            break;
        }
        if (out_open && (fds[1].revents & (POLLIN | POLLHUP))) {
            char buffer[4096];
            auto got = sys::read(out_read, buffer, sizeof buffer);
            if (!got || *got == 0)
                out_open = false;
            else if (output.size() < 65536)
                output.append(buffer, *got);
        }
        if ((fds[0].revents & POLLIN) && !out_open)
            break;
        if ((fds[0].revents & POLLIN) && out_open) {
            // Exited; drain what is buffered without waiting for grandchildren holding it.
            int flags = ::fcntl(out_read.get(), F_GETFL);
            ::fcntl(out_read.get(), F_SETFL, flags | O_NONBLOCK);
            char buffer[4096];
            for (;;) {
                auto got = sys::read(out_read, buffer, sizeof buffer);
                if (!got || *got == 0)
                    break;
                if (output.size() < 65536)
                    output.append(buffer, *got);
            }
            break;
        }
    }
    if (timed_out) {
        (void)sys::pidfd_send_signal(child.pidfd(), SIGKILL);
        (void)child.wait();
        return Error::format("hook {}: timed out after {} s", hook.path, *hook.timeout);
    }
    int status = TRY(child.wait());
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return {};
    auto line = first_line(output);
    if (WIFSIGNALED(status))
        return Error::format("hook {}: killed by signal {}{}{}", hook.path, WTERMSIG(status), line.empty() ? "" : ": ",
                             line);
    return Error::format("hook {}: exited with status {}{}{}", hook.path, WEXITSTATUS(status), line.empty() ? "" : ": ",
                         line);
}

Result<void> run_hooks(std::span<oci::Hook const> hooks, std::string_view phase, std::string_view state_json)
{
    for (size_t i = 0; i < hooks.size(); ++i)
        TRY(run_hook(hooks[i], state_json).context("{} hook {}", phase, i));
    return {};
}

void run_hooks_warn(std::span<oci::Hook const> hooks, std::string_view phase, std::string_view state_json)
{
    for (size_t i = 0; i < hooks.size(); ++i) {
        auto result = run_hook(hooks[i], state_json);
        if (!result)
            log::warn("{} hook {}: {}", phase, i, result.error().message());
    }
}

} // namespace cryo::runtime
