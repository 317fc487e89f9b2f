// Workload of bench/cr.sh: PROCS processes (the root and PROCS-1 children) with THREADS
// threads each; every process fills its share of MIB MiB of anonymous memory with
// pseudo-random (incompressible) words. Every thread keeps a 1 ms heartbeat and records the
// longest gap it saw (the stall a dump caused). The root prints "ready" once all are filled.
//   SIGUSR2 to the root: every process prints "gap <ms>" (its longest gap since the last
//                       SIGUSR2 or since ready) to OUT and resets it;
//   SIGUSR1 to the root: every process checks its memory, prints "verify ok" or "verify FAILED"
//                        to OUT; the root exits once its children have.
// Usage: cr_bench_workload MIB PROCS THREADS OUT
//        cr_bench_workload --reap CMD ARGS...  (bench/cr.sh runs itself under this: a child
//        subreaper that reaps every orphan, since this machine's pid 1 never reaps, so the
//        killed children of a dumped tree stay zombies holding their pids, and the restored
//        root, reparented here by restore -d, is reaped once it exits)
#define _GNU_SOURCE
#include "prng_fill.h" // tests/cr/: the same fill as cr_memory

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t g_verify, g_report;
static void on_usr1(int sig)
{
    (void)sig;
    g_verify = 1;
}
static void on_usr2(int sig)
{
    (void)sig;
    g_report = 1;
}
static _Atomic uint64_t g_max_gap_ns;
static uint64_t* g_mem;
static size_t g_words;
static uint64_t g_seed;
static FILE* g_out;

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

// One 1 ms heartbeat: sleeps, records the gap since `last` if it is the longest yet, and
// returns the new time.
static uint64_t beat_once(uint64_t last)
{
    struct timespec ts = { 0, 1000 * 1000 };
    nanosleep(&ts, NULL);
    uint64_t now = now_ns();
    uint64_t gap = now - last, cur = atomic_load(&g_max_gap_ns);
    while (gap > cur && !atomic_compare_exchange_weak(&g_max_gap_ns, &cur, gap))
        ;
    return now;
}

static void* beat(void* arg)
{
    (void)arg;
    uint64_t last = now_ns();
    for (;;) {
        last = beat_once(last);
    }
    return NULL;
}

static int run(int is_root, pid_t* children, int nchildren, int threads)
{
    for (int i = 1; i < threads; ++i) {
        pthread_t t;
        pthread_create(&t, NULL, beat, NULL);
    }
    // The main thread beats too, and handles the signals.
    uint64_t last = now_ns();
    for (;;) {
        last = beat_once(last);
        if (g_report) {
            g_report = 0;
            if (is_root)
                for (int i = 0; i < nchildren; ++i)
                    kill(children[i], SIGUSR2);
            fprintf(g_out, "gap %.2f\n", atomic_exchange(&g_max_gap_ns, 0) / 1e6);
            fflush(g_out);
            last = now_ns();
        }
        if (g_verify) {
            if (is_root)
                for (int i = 0; i < nchildren; ++i)
                    kill(children[i], SIGUSR1);
            int bad = prng_check(g_mem, g_words, g_seed) >= 0;
            fprintf(g_out, bad ? "verify FAILED\n" : "verify ok\n");
            fflush(g_out);
            if (is_root)
                for (int i = 0; i < nchildren; ++i)
                    waitpid(children[i], NULL, 0);
            _exit(bad);
        }
    }
}

static int reap(char** argv)
{
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
        perror("PR_SET_CHILD_SUBREAPER");
        return 2;
    }
    pid_t cmd = fork();
    if (cmd < 0)
        return 2;
    if (cmd == 0) {
        execvp(argv[0], argv);
        perror(argv[0]);
        _exit(127);
    }
    for (;;) {
        int status;
        pid_t p = waitpid(-1, &status, 0);
        if (p < 0 && errno == EINTR)
            continue;
        if (p < 0)
            return 2;
        if (p == cmd)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
}

int main(int argc, char** argv)
{
    if (argc >= 3 && strcmp(argv[1], "--reap") == 0)
        return reap(argv + 2);
    if (argc != 5) {
        fprintf(stderr, "usage: cr_bench_workload MIB PROCS THREADS OUT\n");
        return 2;
    }
    size_t mib = strtoul(argv[1], NULL, 10);
    int procs = atoi(argv[2]), threads = atoi(argv[3]);
    g_out = fopen(argv[4], "a");
    if (!g_out || procs < 1 || threads < 1)
        return 2;
    signal(SIGUSR1, on_usr1);
    signal(SIGUSR2, on_usr2);
    size_t bytes = (mib << 20) / (size_t)procs;
    g_words = bytes / 8;
    pid_t children[64];
    int nchildren = 0;
    int index = 0;
    for (int i = 1; i < procs && i < 64; ++i) {
        pid_t c = fork();
        if (c == 0) {
            index = i;
            nchildren = 0;
            break;
        }
        children[nchildren++] = c;
    }
    g_seed = (uint64_t)index << 40;
    g_mem = mmap(NULL, bytes ? bytes : 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g_mem == MAP_FAILED)
        return 2;
    prng_fill(g_mem, g_words, g_seed);
    if (index == 0) {
        // Children fill concurrently; wait until their memory is there (their RSS).
        for (int i = 0; i < nchildren; ++i) {
            char path[64];
            snprintf(path, sizeof path, "/proc/%d/statm", children[i]);
            for (;;) {
                FILE* f = fopen(path, "r");
                unsigned long size = 0, rss = 0;
                if (f) {
                    if (fscanf(f, "%lu %lu", &size, &rss) != 2)
                        rss = 0;
                    fclose(f);
                }
                if (rss * 4096 >= bytes)
                    break;
                usleep(10000);
            }
        }
        fprintf(g_out, "ready %d\n", getpid());
        fflush(g_out);
    }
    atomic_store(&g_max_gap_ns, 0);
    return run(index == 0, children, nchildren, threads);
}
