// Checkpoint/restore workload for sleeps and timed waits the dump interrupts (syscalls the
// kernel continues through restart_syscall; the table is in src/checkpoint/syscall_reentry.cpp).
// One thread per call, each started at about the same moment and timed on CLOCK_MONOTONIC:
//   nanosleep_rem    nanosleep(S, &rem) (raw syscall 35)
//   nanosleep_null   nanosleep(S, NULL)
//   mono_rem         clock_nanosleep(CLOCK_MONOTONIC, 0, S, &rem)
//   abs_realtime     clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, start + S, NULL)
//   futex_rel        futex(FUTEX_WAIT_PRIVATE, S relative) on a word nobody changes
//   futex_abs        futex(FUTEX_WAIT_BITSET_PRIVATE, start + S on CLOCK_MONOTONIC)
//   poll_timeout     poll(pipe nobody writes, S)
//   ppoll_timeout    ppoll(pipe nobody writes, S)
//   poll_infinite    poll(pipe, -1): the main thread writes a byte once the others are done
// Prints "ready PID" once every thread is inside its call (and 200 ms more), then per thread,
// when all are done, "result NAME RET ERRNO ELAPSED_MS" (RET the raw return, ERRNO 0 or the
// errno name, ELAPSED_MS from the common start), then "done". tests/cr/cr_sleep.sh judges.
// Usage: cr_sleep S_MS
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { kCalls = 9 };
static char const* const g_names[kCalls]
    = { "nanosleep_rem", "nanosleep_null", "mono_rem",      "abs_realtime", "futex_rel",
        "futex_abs",     "poll_timeout",   "ppoll_timeout", "poll_infinite" };
static long g_ms;
static struct timespec g_start_mono, g_start_real;
static uint32_t g_word; // never changed: the futex waits end by timeout (or early wakeup)
static int g_idle[2]; // nobody writes: the timed polls end by timeout
static int g_wake[2]; // written once the timed calls are over: ends poll_infinite
static int volatile g_entering[kCalls];
static long g_ret[kCalls];
static int g_errno[kCalls];
static long g_elapsed_ms[kCalls];

static struct timespec add_ms(struct timespec t, long ms)
{
    t.tv_sec += ms / 1000;
    t.tv_nsec += (ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec += 1;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

static long ms_since_start(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - g_start_mono.tv_sec) * 1000 + (now.tv_nsec - g_start_mono.tv_nsec) / 1000000;
}

static void* run(void* arg)
{
    int i = (int)(intptr_t)arg;
    struct timespec rel = add_ms((struct timespec) { 0, 0 }, g_ms), rem = { 0, 0 };
    struct timespec abs_real = add_ms(g_start_real, g_ms), abs_mono = add_ms(g_start_mono, g_ms);
    struct pollfd idle = { .fd = g_idle[0], .events = POLLIN }, wake = { .fd = g_wake[0], .events = POLLIN };
    long r = -1;
    errno = 0;
    g_entering[i] = 1;
    switch (i) {
    case 0:
        r = syscall(SYS_nanosleep, &rel, &rem);
        break;
    case 1:
        r = syscall(SYS_nanosleep, &rel, NULL);
        break;
    case 2:
        r = clock_nanosleep(CLOCK_MONOTONIC, 0, &rel, &rem);
        if (r != 0)
            errno = (int)r, r = -1;
        break;
    case 3:
        r = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &abs_real, NULL);
        if (r != 0)
            errno = (int)r, r = -1;
        break;
    case 4:
        r = syscall(SYS_futex, &g_word, FUTEX_WAIT_PRIVATE, 0, &rel, NULL, 0);
        break;
    case 5:
        r = syscall(SYS_futex, &g_word, FUTEX_WAIT_BITSET_PRIVATE, 0, &abs_mono, NULL, FUTEX_BITSET_MATCH_ANY);
        break;
    case 6:
        r = syscall(SYS_poll, &idle, 1, (int)g_ms);
        break;
    case 7:
        r = ppoll(&idle, 1, &rel, NULL);
        break;
    case 8:
        r = syscall(SYS_poll, &wake, 1, -1);
        if (r == 1 && wake.revents != POLLIN)
            r = 100 + wake.revents;
        break;
    }
    g_errno[i] = r < 0 ? errno : 0;
    g_ret[i] = r;
    g_elapsed_ms[i] = ms_since_start();
    return NULL;
}

int main(int argc, char** argv)
{
    if (argc != 2 || (g_ms = atol(argv[1])) <= 0)
        return fprintf(stderr, "usage: cr_sleep S_MS\n"), 2;
    setvbuf(stdout, NULL, _IONBF, 0);
    if (pipe(g_idle) != 0 || pipe(g_wake) != 0)
        return perror("pipe"), 1;
    clock_gettime(CLOCK_MONOTONIC, &g_start_mono);
    clock_gettime(CLOCK_REALTIME, &g_start_real);
    pthread_t threads[kCalls];
    for (int i = 0; i < kCalls; ++i)
        if (pthread_create(&threads[i], NULL, run, (void*)(intptr_t)i) != 0)
            return fprintf(stderr, "pthread_create failed\n"), 1;
    for (int i = 0; i < kCalls; ++i)
        while (!g_entering[i])
            usleep(1000);
    usleep(200000); // from g_entering to inside the syscall
    printf("ready %d\n", getpid());
    for (int i = 0; i < kCalls - 1; ++i)
        pthread_join(threads[i], NULL);
    if (write(g_wake[1], "x", 1) != 1)
        return perror("write"), 1;
    pthread_join(threads[kCalls - 1], NULL);
    for (int i = 0; i < kCalls; ++i)
        printf("result %s %ld %s %ld\n", g_names[i], g_ret[i], g_errno[i] ? strerrorname_np(g_errno[i]) : "0",
               g_elapsed_ms[i]);
    printf("done\n");
    return 0;
}
