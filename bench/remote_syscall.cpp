// remote_syscall: the cost of one remote syscall (sys::Tracee::syscall, the step every dump and
// restore repeats hundreds of times), on an idle machine and with busy loops competing for the
// CPUs. Run as root (or with ptrace rights over its own children):
//
//   remote_syscall [--calls N] [--rounds R] [--busy K] [--sleep-us U]
//
// A forked child sleeping in pause() is seized; each round runs N remote getppid() in it (or,
// with --sleep-us, N remote nanosleeps of U microseconds: a syscall that takes a while, like a
// big munmap); the median and best rounds are printed per call, with cryo's own CPU time per
// call (a waiting strategy that spins shows up there: it is CPU the tracee and everything else
// cannot use). --busy K forks K processes spinning in user space for the whole measurement.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <sys/auxv.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "sys/tracee.h"

namespace {

// The remote nanosleep's argument: the forked child has its copy at the same address.
timespec g_sleep {};

double cpu_seconds()
{
    rusage usage {};
    ::getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// A `syscall` instruction in our vDSO: a forked child has the same vDSO at the same address.
uint64_t vdso_syscall()
{
    auto base = ::getauxval(AT_SYSINFO_EHDR);
    // SAFETY: the vDSO is mapped readable for at least its first two pages.
    auto const* p = reinterpret_cast<unsigned char const*>(base);
    for (size_t i = 0; i + 1 < 8192; ++i)
        if (p[i] == 0x0f && p[i + 1] == 0x05)
            return base + i;
    return 0;
}

pid_t fork_child(bool spin)
{
    pid_t pid = ::fork();
    if (pid == 0) {
        if (spin)
            for (;;)
                asm volatile("" ::: "memory"); // spin in user space
        for (;;)
            ::pause();
    }
    return pid;
}

} // namespace

int main(int argc, char** argv)
{
    int calls = 200;
    int rounds = 25;
    int busy = 0;
    int sleep_us = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string_view a = argv[i];
        int v = std::atoi(argv[i + 1]);
        if (a == "--calls")
            calls = v;
        else if (a == "--rounds")
            rounds = v;
        else if (a == "--busy")
            busy = v;
        else if (a == "--sleep-us")
            sleep_us = v;
        else {
            std::fprintf(stderr, "usage: remote_syscall [--calls N] [--rounds R] [--busy K] [--sleep-us U]\n");
            return 2;
        }
    }
    uint64_t address = vdso_syscall();
    if (address == 0) {
        std::fprintf(stderr, "remote_syscall: no syscall instruction in the vDSO\n");
        return 1;
    }
    g_sleep.tv_sec = sleep_us / 1000000;
    g_sleep.tv_nsec = static_cast<long>(sleep_us % 1000000) * 1000;
    std::vector<pid_t> children;
    for (int i = 0; i < busy; ++i)
        children.push_back(fork_child(true));
    pid_t target = fork_child(false);
    children.push_back(target);
    ::usleep(100000); // let the busy loops get going and the target reach pause()

    std::vector<double> per_call;
    double cpu_per_call = 0;
    {
        auto tracee = cryo::sys::Tracee::seize(target, target, {});
        if (!tracee) {
            std::fprintf(stderr, "remote_syscall: seize: %s\n", tracee.error().message().c_str());
            for (pid_t c : children)
                ::kill(c, SIGKILL);
            return 1;
        }
        tracee->set_syscall_address(address);
        for (int i = 0; i < 50; ++i)
            (void)tracee->syscall(SYS_getppid);
        double cpu0 = cpu_seconds();
        for (int r = 0; r < rounds; ++r) {
            auto t0 = std::chrono::steady_clock::now();
            for (int i = 0; i < calls; ++i) {
                // SAFETY: &g_sleep is a valid timespec in the child too (forked copy).
                auto got = sleep_us ? tracee->syscall(SYS_nanosleep, { reinterpret_cast<uint64_t>(&g_sleep), 0 })
                                    : tracee->syscall(SYS_getppid);
                if (!got || *got != (sleep_us ? 0 : ::getpid())) {
                    std::fprintf(stderr, "remote_syscall: remote syscall in %d: %s\n", target,
                                 got ? "wrong result" : got.error().message().c_str());
                    for (pid_t c : children)
                        ::kill(c, SIGKILL);
                    return 1;
                }
            }
            std::chrono::duration<double, std::micro> d = std::chrono::steady_clock::now() - t0;
            per_call.push_back(d.count() / calls);
        }
        cpu_per_call = (cpu_seconds() - cpu0) * 1e6 / (static_cast<double>(calls) * rounds);
    }
    for (pid_t c : children) {
        ::kill(c, SIGKILL);
        ::waitpid(c, nullptr, 0);
    }
    std::sort(per_call.begin(), per_call.end());
    std::printf(
        "remote_syscall busy=%d sleep_us=%d calls=%d rounds=%d median_us=%.2f best_us=%.2f worst_us=%.2f cpu_us=%.2f\n",
        busy, sleep_us, calls, rounds, per_call[per_call.size() / 2], per_call.front(), per_call.back(), cpu_per_call);
    return 0;
}
