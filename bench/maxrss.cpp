// maxrss: runs a command and prints its peak resident set size (wait4's ru_maxrss, KiB).
//
//   maxrss CMD ARG...      prints "maxrss_kib=N" on stderr, exits with CMD's status
//
// Why a separate, tiny, static program (C headers only): the kernel folds the pre-exec address space's
// high-water RSS into ru_maxrss at execve, so a forked child starts with its parent's RSS as a
// floor. runbench (C++, libstdc++) would put that floor near 2.7 MiB; this program keeps it at
// a few hundred KiB, below any runtime's own peak.

#include <cstdio>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char** argv)
{
    if (argc < 2) {
        fputs("usage: maxrss CMD ARG...\n", stderr);
        return 2;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("maxrss: fork");
        return 2;
    }
    if (pid == 0) {
        execvp(argv[1], argv + 1);
        perror(argv[1]);
        _exit(127);
    }
    int status = 0;
    rusage usage {};
    if (wait4(pid, &status, 0, &usage) < 0) {
        perror("maxrss: wait4");
        return 2;
    }
    fprintf(stderr, "maxrss_kib=%ld\n", usage.ru_maxrss);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}
