#include "sys/spawn.h"

#include <spawn.h>
#include <unistd.h>

#include "sys/file.h"
#include "sys/process.h"

extern char** environ;

namespace cryo::sys {

Result<std::string> run_capture(std::vector<std::string> const& argv)
{
    if (argv.empty())
        return Error::make("run: empty command");
    auto [read_end, write_end] = TRY(pipe(O_CLOEXEC));

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    // dup2 onto stdout clears CLOEXEC on the copy only; the pipe's own fds close at exec.
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDOUT_FILENO);

    std::vector<char*> raw_argv;
    raw_argv.reserve(argv.size() + 1);
    for (auto const& arg : argv)
        raw_argv.push_back(const_cast<char*>(arg.c_str()));
    raw_argv.push_back(nullptr);

    pid_t pid = -1;
    int rc = posix_spawnp(&pid, argv[0].c_str(), &actions, nullptr, raw_argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0)
        return Error::from_errno(rc, fmt::format("run {}", argv[0]));
    write_end.reset(); // so that read_all sees EOF when the child exits

    auto output = read_all(read_end.ref());
    auto status = TRY(waitpid(pid).context("wait for {}", argv[0]));
    if (output.is_error())
        return output.release_error().add_context(fmt::format("read output of {}", argv[0]));
    int code = exit_code_of(status);
    if (code != 0)
        return Error::format("{} exited with status {}", argv[0], code);
    return output.release_value();
}

} // namespace cryo::sys
