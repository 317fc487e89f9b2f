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
#include "cr_workload.h"

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
static struct blocking_call g_calls[kCalls]
    = { { .name = "nanosleep_rem" }, { .name = "nanosleep_null" }, { .name = "mono_rem" },
        { .name = "abs_realtime" },  { .name = "futex_rel" },      { .name = "futex_abs" },
        { .name = "poll_timeout" },  { .name = "ppoll_timeout" },  { .name = "poll_infinite" } };
static long g_ms;
static struct timespec g_start_real; // the monotonic start is the calls' (g_calls_start)
static uint32_t g_word; // never changed: the futex waits end by timeout (or early wakeup)
static int g_idle[2]; // nobody writes: the timed polls end by timeout
static int g_wake[2]; // written once the timed calls are over: ends poll_infinite

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

static void* run(void* arg)
{
    int i = (int)(intptr_t)arg;
    struct timespec rel = add_ms((struct timespec) { 0, 0 }, g_ms), rem = { 0, 0 };
    struct timespec abs_real = add_ms(g_start_real, g_ms), abs_mono = add_ms(g_calls_start, g_ms);
    struct pollfd idle = { .fd = g_idle[0], .events = POLLIN }, wake = { .fd = g_wake[0], .events = POLLIN };
    long r = -1;
    errno = 0;
    g_calls[i].entering = 1;
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
    end_call(&g_calls[i], r);
    return NULL;
}

int main(int argc, char** argv)
{
    if (argc != 2 || (g_ms = atol(argv[1])) <= 0)
        return fprintf(stderr, "usage: cr_sleep S_MS\n"), 2;
    setvbuf(stdout, NULL, _IONBF, 0);
    if (pipe(g_idle) != 0 || pipe(g_wake) != 0)
        return perror("pipe"), 1;
    clock_gettime(CLOCK_REALTIME, &g_start_real);
    start_calls(g_calls, kCalls, run);
    wait_calls_inside(g_calls, kCalls);
    printf("ready %d\n", getpid());
    for (int i = 0; i < kCalls - 1; ++i)
        pthread_join(g_calls[i].thread, NULL);
    if (write(g_wake[1], "x", 1) != 1)
        return perror("write"), 1;
    pthread_join(g_calls[kCalls - 1].thread, NULL);
    print_call_results(g_calls, kCalls);
    printf("done\n");
    return 0;
}
