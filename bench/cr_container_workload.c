// Workload of bench/cr_container.sh: fills MIB MiB of anonymous memory with pseudo-random
// words (incompressible, every page written), prints "ready" to OUT, then sleeps. On SIGUSR1
// it checks every word and prints "verify ok" or "verify FAILED" to OUT and exits. Built
// static so the same binary runs in a busybox container and on the host.
// Usage: cr_container_workload MIB OUT
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static volatile sig_atomic_t g_verify;
static void on_usr1(int sig)
{
    (void)sig;
    g_verify = 1;
}

static uint64_t next(uint64_t* s)
{
    // xorshift64*: cheap, and no two pages alike.
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

int main(int argc, char** argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s MIB OUT\n", argv[0]);
        return 2;
    }
    size_t words = (size_t)atol(argv[1]) << 17; // MiB / 8 bytes
    uint64_t* mem = mmap(NULL, words * 8, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return 1;
    uint64_t s = 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; i < words; ++i)
        mem[i] = next(&s);
    signal(SIGUSR1, on_usr1);
    FILE* out = fopen(argv[2], "a");
    if (!out)
        return 1;
    fprintf(out, "ready\n");
    fflush(out);
    while (!g_verify)
        pause();
    s = 0x9e3779b97f4a7c15ULL;
    size_t bad = 0;
    for (size_t i = 0; i < words; ++i)
        bad += mem[i] != next(&s);
    fprintf(out, bad ? "verify FAILED\n" : "verify ok\n");
    fclose(out);
    return bad != 0;
}
