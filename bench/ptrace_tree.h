// Runs a command under ptrace and follows its whole tree, for the bench tracers (rss_probe,
// text_coverage): the start (the child stops itself before its exec, so no instruction of
// the command runs untraced) and the wait loop (every task, threads included, until the last
// one is gone). What a stop means and how the task resumes stay with the caller.
#pragma once

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

// Forks and execs argv[0] (PATH searched) as a tracee with `options` set, then resumes it
// with `resume` (PTRACE_CONT or PTRACE_SYSCALL). Returns its pid, or -1 if the fork failed.
inline pid_t ptrace_tree_start(char** argv, long options, __ptrace_request resume)
{
    pid_t child = fork();
    if (child < 0) {
        perror("fork");
        return -1;
    }
    if (child == 0) {
        ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
        raise(SIGSTOP);
        execvp(argv[0], argv);
        perror(argv[0]);
        _exit(127);
    }
    int status = 0;
    waitpid(child, &status, 0);
    // SAFETY: PTRACE_SETOPTIONS takes the option bits in the data argument, not a pointer.
    ptrace(PTRACE_SETOPTIONS, child, nullptr, reinterpret_cast<void*>(options));
    ptrace(resume, child, nullptr, nullptr);
    return child;
}

// Waits for every tracee until none is left: on_stop(pid, signal, event) for each
// ptrace-stop (event: the PTRACE_EVENT_* in status >> 16, 0 for none; it must resume the
// task), on_exit(pid) for each task that exited or was killed. Returns the exit status of
// `root` (128 + signal if it was killed), the status of the traced command.
template<typename OnStop, typename OnExit>
int ptrace_tree_wait(pid_t root, OnStop on_stop, OnExit on_exit)
{
    int exit_status = 0;
    for (;;) {
        int status = 0;
        pid_t pid = waitpid(-1, &status, __WALL);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            return exit_status; // ECHILD: the last tracee is gone
        }
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
            if (pid == root)
                exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            on_exit(pid);
            continue;
        }
        if (WIFSTOPPED(status))
            on_stop(pid, WSTOPSIG(status), status >> 16);
    }
}
