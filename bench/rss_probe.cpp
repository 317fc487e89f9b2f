// rss_probe: where a command's peak resident memory goes. Runs CMD under ptrace and, in every
// process of its tree, copies /proc/PID/{status,smaps_rollup,smaps} into DIR at two moments:
// just before an execve/execveat (the moment the kernel folds the old address space's
// high-water mark into ru_maxrss) and at exit (PTRACE_EVENT_EXIT, the address space still
// whole). The files are named PID.exec.N.* and PID.exit.*; bench/rss_breakdown.sh sums the
// smaps per mapping.
//
//   rss_probe DIR CMD ARG...      exits with CMD's status
//
// Static, like maxrss: what it measures is the traced processes' own memory (a tracer adds
// nothing to a tracee's RSS).

#include "ptrace_tree.h"

#include <cstdio>
#include <fcntl.h>
#include <map>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <unistd.h>

namespace {

char const* g_dir = nullptr;

void copy_file(pid_t pid, char const* name, char const* tag)
{
    char from[64];
    char to[512];
    snprintf(from, sizeof from, "/proc/%d/%s", pid, name);
    snprintf(to, sizeof to, "%s/%d.%s.%s", g_dir, pid, tag, name);
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return;
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out >= 0) {
        char buffer[65536];
        ssize_t n;
        while ((n = read(in, buffer, sizeof buffer)) > 0)
            if (write(out, buffer, static_cast<size_t>(n)) != n)
                break;
        close(out);
    }
    close(in);
}

void snapshot(pid_t pid, char const* tag)
{
    for (char const* name : { "status", "smaps_rollup", "smaps", "cmdline" })
        copy_file(pid, name, tag);
}

} // namespace

int main(int argc, char** argv)
{
    if (argc < 3) {
        fputs("usage: rss_probe DIR CMD ARG...\n", stderr);
        return 2;
    }
    g_dir = argv[1];
    long options = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE
        | PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL;
    pid_t child = ptrace_tree_start(argv + 2, options, PTRACE_SYSCALL);
    if (child < 0)
        return 2;

    std::map<pid_t, bool> in_syscall;
    std::map<pid_t, int> execs;
    execs[child] = -1; // its own execvp of CMD is not of interest
    auto on_stop = [&](pid_t pid, int signal, int event) {
        int deliver = 0;
        if (signal == (SIGTRAP | 0x80)) {
            bool entering = !in_syscall[pid];
            in_syscall[pid] = entering;
            if (entering) {
                user_regs_struct regs {};
                ptrace(PTRACE_GETREGS, pid, nullptr, &regs);
                if (regs.orig_rax == SYS_execve || regs.orig_rax == SYS_execveat) {
                    int n = ++execs[pid];
                    if (n > 0) {
                        char tag[32];
                        snprintf(tag, sizeof tag, "exec.%d", n);
                        snapshot(pid, tag);
                    }
                }
            }
        } else if (signal == SIGTRAP && event == PTRACE_EVENT_EXIT) {
            snapshot(pid, "exit");
        } else if (signal == SIGTRAP && event != 0) {
            // fork/vfork/clone events: the new task starts traced and stopped.
        } else if (signal == SIGSTOP && event == 0 && in_syscall.find(pid) == in_syscall.end()) {
            // The initial stop of a new traced task.
            in_syscall[pid] = false;
        } else if (signal != SIGTRAP) {
            deliver = signal;
        }
        if (signal == SIGTRAP && event == PTRACE_EVENT_EXEC)
            in_syscall[pid] = false;
        ptrace(PTRACE_SYSCALL, pid, nullptr, reinterpret_cast<void*>(static_cast<long>(deliver)));
    };
    return ptrace_tree_wait(child, on_stop, [&](pid_t pid) { in_syscall.erase(pid); });
}
