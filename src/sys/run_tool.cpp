#include "sys/run_tool.h"

#include <cstdlib>
#include <spawn.h>
#include <unistd.h>

#include "sys/file.h"
#include "sys/process.h"

extern char** environ;

namespace cryo::sys {

std::string find_tool(std::string const& name)
{
    if (name.find('/') != std::string::npos)
        return ::access(name.c_str(), X_OK) == 0 ? name : std::string();
    std::string path = ::getenv("PATH") ? ::getenv("PATH") : "";
    path += ":/usr/sbin:/sbin:/usr/bin:/bin";
    size_t start = 0;
    while (start <= path.size()) {
        auto colon = path.find(':', start);
        auto dir = path.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
        if (!dir.empty()) {
            auto candidate = dir + "/" + name;
            if (::access(candidate.c_str(), X_OK) == 0)
                return candidate;
        }
        if (colon == std::string::npos)
            break;
        start = colon + 1;
    }
    return {};
}

Result<ToolResult> run_tool(std::vector<std::string> const& argv)
{
    if (argv.empty())
        return Error::make("run: empty command");
    auto program = find_tool(argv[0]);
    if (program.empty())
        return Error::from_errno(ENOENT, fmt::format("run {}", argv[0]));
    auto [read_end, write_end] = TRY(pipe(O_CLOEXEC));
    auto null = TRY(open("/dev/null", O_RDONLY));

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    // dup2 clears CLOEXEC on the copies only; the originals close at exec.
    posix_spawn_file_actions_adddup2(&actions, null.get(), STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDERR_FILENO);

    std::vector<char*> raw_argv;
    raw_argv.reserve(argv.size() + 1);
    for (auto const& arg : argv)
        raw_argv.push_back(const_cast<char*>(arg.c_str()));
    raw_argv.push_back(nullptr);

    pid_t pid = -1;
    int rc = posix_spawn(&pid, program.c_str(), &actions, nullptr, raw_argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0)
        return Error::from_errno(rc, fmt::format("run {}", program));
    write_end.reset(); // read_all sees EOF when the child exits

    auto output = read_all(read_end.ref());
    auto status = TRY(waitpid(pid).context("wait for {}", argv[0]));
    if (output.is_error())
        return output.release_error().add_context(fmt::format("read output of {}", argv[0]));
    return ToolResult { .exit_code = exit_code_of(status), .output = output.release_value() };
}

} // namespace cryo::sys
