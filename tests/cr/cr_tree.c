// Checkpoint/restore workload for process trees and threads. The root starts two threads (one
// blocked in a condition variable, i.e. a futex; one ticking with its own TLS value) and two
// children: A makes its own process group and forks grandchild B into it; C starts a new
// session. Everyone keeps a heartbeat file in DIR. On SIGUSR1 the root wakes and joins its
// threads (pthread_join needs each thread's clear_child_tid), tells the children to check
// themselves (parent pid, group, session, memory), waits for them and prints "verify ok".
// Usage: cr_tree DIR
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t g_stop;
static void on_usr1(int sig) { (void)sig; g_stop = 1; }
static char const* g_dir;
static uint64_t g_pattern[4096];
static __thread uint64_t t_value;

static void fill(uint64_t seed)
{
    for (int i = 0; i < 4096; ++i)
        g_pattern[i] = seed * 0x9E3779B97F4A7C15ULL + (uint64_t)i;
}
static int pattern_ok(uint64_t seed)
{
    for (int i = 0; i < 4096; ++i)
        if (g_pattern[i] != seed * 0x9E3779B97F4A7C15ULL + (uint64_t)i)
            return 0;
    return 1;
}

static void beat(char const* role)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/beat-%s", g_dir, role);
    FILE* f = fopen(path, "a");
    if (f) {
        fprintf(f, "beat\n");
        fclose(f);
    }
}

static void report(char const* role, int ok, char const* what)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/result-%s", g_dir, role);
    FILE* f = fopen(path, "w");
    if (f) {
        fprintf(f, "%s %s\n", ok ? "ok" : "FAIL", what);
        fclose(f);
    }
}

static void sleep_ms(int ms)
{
    struct timespec ts = { 0, ms * 1000000L };
    nanosleep(&ts, NULL);
}

// A child: beats until SIGUSR1, then checks its ids and memory.
static void child_loop(char const* role, uint64_t seed, pid_t want_ppid, pid_t want_pgid, pid_t want_sid)
{
    fill(seed);
    while (!g_stop) {
        beat(role);
        sleep_ms(20);
    }
    char what[256];
    int ok = getppid() == want_ppid && getpgrp() == want_pgid && getsid(0) == want_sid && pattern_ok(seed);
    snprintf(what, sizeof what, "ppid %d/%d pgid %d/%d sid %d/%d memory %d", getppid(), want_ppid, getpgrp(), want_pgid,
        getsid(0), want_sid, pattern_ok(seed));
    report(role, ok, what);
    exit(ok ? 0 : 1);
}

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;
static int g_wake;
static volatile uint64_t g_ticks;

static void* waiter(void* arg)
{
    (void)arg;
    t_value = 111;
    pthread_mutex_lock(&g_lock);
    while (!g_wake)
        pthread_cond_wait(&g_cond, &g_lock);
    pthread_mutex_unlock(&g_lock);
    return (void*)(uintptr_t)(t_value == 111);
}

static void* ticker(void* arg)
{
    (void)arg;
    t_value = 222;
    while (!g_wake) {
        g_ticks = g_ticks + 1;
        sleep_ms(5);
    }
    return (void*)(uintptr_t)(t_value == 222);
}

int main(int argc, char** argv)
{
    if (argc < 2)
        return 2;
    g_dir = argv[1];
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    pid_t root = getpid();
    pid_t root_pgid = getpgrp(), root_sid = getsid(0);

    pid_t a = fork();
    if (a == 0) {
        setpgid(0, 0);
        pid_t self = getpid();
        pid_t b = fork();
        if (b == 0)
            child_loop("b", 3, self, self, root_sid);
        fill(2);
        while (!g_stop) {
            beat("a");
            sleep_ms(20);
        }
        kill(b, SIGUSR1);
        int status = 0;
        int waited = waitpid(b, &status, 0) == b && WIFEXITED(status) && WEXITSTATUS(status) == 0;
        char what[128];
        int ok = waited && getppid() == root && getpgrp() == self && pattern_ok(2);
        snprintf(what, sizeof what, "ppid %d pgid %d child b %s", getppid(), getpgrp(), waited ? "ok" : "bad");
        report("a", ok, what);
        exit(ok ? 0 : 1);
    }
    pid_t c = fork();
    if (c == 0) {
        setsid();
        child_loop("c", 4, root, getpid(), getpid());
    }
    pthread_t tw, tt;
    pthread_create(&tw, NULL, waiter, NULL);
    pthread_create(&tt, NULL, ticker, NULL);
    t_value = 333;
    fill(1);
    printf("ready %d %d %d\n", root, a, c);
    fflush(stdout);
    while (!g_stop) {
        beat("root");
        sleep_ms(20);
    }
    uint64_t ticks = g_ticks;
    sleep_ms(50);
    int ticking = g_ticks > ticks;
    pthread_mutex_lock(&g_lock);
    g_wake = 1;
    pthread_cond_broadcast(&g_cond);
    pthread_mutex_unlock(&g_lock);
    void *rw = NULL, *rt = NULL;
    pthread_join(tw, &rw);
    pthread_join(tt, &rt);
    kill(a, SIGUSR1);
    kill(c, SIGUSR1);
    int sa_status = 0, sc_status = 0;
    int wa = waitpid(a, &sa_status, 0) == a && WIFEXITED(sa_status) && WEXITSTATUS(sa_status) == 0;
    int wc = waitpid(c, &sc_status, 0) == c && WIFEXITED(sc_status) && WEXITSTATUS(sc_status) == 0;
    int ok = ticking && rw && rt && t_value == 333 && wa && wc && pattern_ok(1) && getpgrp() == root_pgid
        && getsid(0) == root_sid;
    printf("threads ticking %d waiter %d ticker %d tls %d children a %d c %d memory %d\n", ticking, rw != NULL,
        rt != NULL, t_value == 333, wa, wc, pattern_ok(1));
    printf(ok ? "verify ok\n" : "verify FAILED\n");
    fflush(stdout);
    return ok ? 0 : 1;
}
