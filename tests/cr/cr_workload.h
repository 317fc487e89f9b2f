// Small setups shared by the tests/cr workloads (C, header only, static inline): the control
// file a test drives a workload through, mapped shared (cr_wp_futex.c, cr_wp_snapshot.c), and
// a set of threads each making one blocking call, started together and timed from one start,
// with "inside" meaning every thread has reached its call (cr_eintr.c, cr_sleep.c).
// The including file defines _GNU_SOURCE first (strerrorname_np).
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

// Maps the first `bytes` of the control file PATH shared and writable (a zero-filled file the
// test made; it writes commands there and may read what the workload reports). Exits 2 if it
// cannot.
inline static uint8_t volatile* map_ctl(char const* path, size_t bytes)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        perror("ctl");
        exit(2);
    }
    void* ctl = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (ctl == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    return ctl;
}

// One blocking call made by a thread of its own.
struct blocking_call {
    char const* name;
    pthread_t thread;
    int volatile entering; // set by the thread right before its call
    long ret; // the raw return
    int err; // errno if ret < 0, else 0
    long elapsed_ms; // from the common start to the call's end
};

static struct timespec g_calls_start; // CLOCK_MONOTONIC when the threads were started

inline static long ms_since_calls_start(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - g_calls_start.tv_sec) * 1000 + (now.tv_nsec - g_calls_start.tv_nsec) / 1000000;
}

// Records the start and starts one thread per call, running run((void*)(intptr_t)i) for call
// i. Exits 1 if a thread cannot be made.
inline static void start_calls(struct blocking_call* calls, int n, void* (*run)(void*))
{
    clock_gettime(CLOCK_MONOTONIC, &g_calls_start);
    for (int i = 0; i < n; ++i)
        if (pthread_create(&calls[i].thread, NULL, run, (void*)(intptr_t)i) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            exit(1);
        }
}

// Returns once every thread has set its `entering` flag, plus 200 ms to get from the flag
// into the kernel (a thread cannot say it is inside a blocking call; it can only say it is
// about to make it).
inline static void wait_calls_inside(struct blocking_call const* calls, int n)
{
    for (int i = 0; i < n; ++i)
        while (!calls[i].entering)
            usleep(1000);
    usleep(200000);
}

// Called by a call's thread right after its call: keeps its result (errno as the call left it).
inline static void end_call(struct blocking_call* call, long ret)
{
    call->err = ret < 0 ? errno : 0;
    call->ret = ret;
    call->elapsed_ms = ms_since_calls_start();
}

// "result NAME RET ERRNO ELAPSED_MS" per call (ERRNO 0 or the errno's name), for the test.
inline static void print_call_results(struct blocking_call const* calls, int n)
{
    for (int i = 0; i < n; ++i)
        printf("result %s %ld %s %ld\n", calls[i].name, calls[i].ret,
               calls[i].err ? strerrorname_np(calls[i].err) : "0", calls[i].elapsed_ms);
}
