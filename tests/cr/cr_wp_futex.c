// Workload of tests/cr/cr_wp_futex.sh: futexes the kernel itself writes, under a
// `dump --leave-running` write-protect snapshot. Some kernel paths fault user memory in
// without being allowed to wait for the userfaultfd handler (futex's fault_in_user_writeable,
// the exit-time robust-list and clear_child_tid writes): on a page that is still
// write-protected they fail with EFAULT instead of waiting. Each scenario keeps its futex
// word on a page of its own that no user-space code writes, so the kernel is that page's
// first writer after the thaw:
//  pi:     3 threads contend on a PTHREAD_PRIO_INHERIT mutex and hold it 300 us, so at any
//          instant two of them are blocked in FUTEX_LOCK_PI (entered again after the thaw).
//          With ctl byte 3 set, the next owner holds it until byte 3 is cleared: the two
//          others stay blocked in FUTEX_LOCK_PI and, after the thaw, their re-entry is the
//          first write to the mutex's page (an owner unlocking first would write it from user
//          space, which unprotects it, and hide the harm).
//  robust: a thread takes a robust mutex and exits holding it (the kernel marks it
//          FUTEX_OWNER_DIED at exit); the thread that joins it then locks it and must get
//          EOWNERDEAD within 2 s; over and over. Nobody else touches the mutex meanwhile
//          (a waiter's shared-futex FUTEX_WAIT would fault the page in for writing, in a
//          way that does wait for the handler, and hide the harm).
//  wakeop: a thread calls FUTEX_WAKE_OP in a loop, as condition variables did: it wakes one
//          of 2 threads waiting (FUTEX_WAIT) on a word and the kernel adds 1 to a second
//          word of the same page, which user space only reads: it must equal the calls.
//  lone:   wakeop, plus a second FUTEX_WAKE_OP per call whose added word is on a page nobody
//          waits on (what cryo cannot see coming: docs/checkpoint-engine.md).
// Every pthread/futex return value is checked ("error: ..." lines, at once) and mutual
// exclusion is checked with a flag and a counter updated non-atomically inside the lock.
// A watchdog reports a scenario that makes no progress for 3 s ("error: ... stuck").
// BALLAST_MIB of random memory makes the dump's write-protect window last.
//
// Control: CTL_FILE (4 KiB, mapped shared). Byte 0 != 0: robust owners unlock instead of
// dying (set before a restore: cryo does not re-register a restored thread's robust list).
// Byte 2 != 0: a robust owner holds the mutex until byte 1 changes (instead of 2 ms), and
// each death prints "death N seen M". Byte 3 != 0: a PI owner holds the mutex until it is 0
// again (printing "pi held TID" once it does). Reports, written by the workload (the test
// waits on them to know a kernel write happened): u32 at CTL_WAKEOP_CALLS, FUTEX_WAKE_OP
// calls returned (with or without error); u32 at CTL_ROBUST_JOINED, robust owners joined.
// SIGUSR2: prints "progress PI ROBUST DEATHS WAKEOP ERRORS". SIGUSR1: stops every thread,
// then verifies (after a restore too): counters, every death seen once, the kernel-written
// word; then a new thread dies holding the robust mutex and must be seen; prints
// "verify ok ..." or "verify: ..." and exits 0 or 1.
// Usage: cr_wp_futex CTL_FILE MODE(pi|robust|wakeop|lone|all) [BALLAST_MIB]
#define _GNU_SOURCE
#include "cr_workload.h"
#include "prng_fill.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096
#define PI_THREADS 3
// Offsets in the control file of the counters the workload reports (see above).
#define CTL_WAKEOP_CALLS 8
#define CTL_ROBUST_JOINED 12

// One page each, so that user space never writes the page of a word the kernel writes.
struct pages {
    _Alignas(PAGE) pthread_mutex_t pi;
    _Alignas(PAGE) pthread_mutex_t robust;
    _Alignas(PAGE) uint32_t wake_word; // FUTEX_WAKE_OP's uaddr: the waiters wait on it
    uint32_t added_word; // its uaddr2: the kernel adds 1 at every call
    _Alignas(PAGE) uint32_t lone_word; // "lone": uaddr2 of a second FUTEX_WAKE_OP per call
    // Data the locks protect; user space writes these.
    _Alignas(PAGE) int volatile pi_inside;
    volatile uint64_t pi_counter;
    _Alignas(PAGE) int volatile robust_inside;
    volatile uint64_t robust_counter;
    volatile uint64_t deaths_seen;
};

static struct pages* g;
static uint8_t volatile* g_ctl;
static int volatile g_stop;
static volatile sig_atomic_t g_verify, g_progress;
static uint64_t g_errors;
static uint64_t g_pi_done[PI_THREADS];
static uint64_t g_robust_done[1];
static uint64_t g_deaths; // threads that exited holding the robust mutex (joined)
static uint64_t g_wake_calls;

static void on_usr1(int sig)
{
    (void)sig;
    g_verify = 1;
}
static void on_usr2(int sig)
{
    (void)sig;
    g_progress = 1;
}

static void error(char const* what, int err)
{
    __atomic_add_fetch(&g_errors, 1, __ATOMIC_SEQ_CST);
    printf("error: %s: %s\n", what, strerror(err));
    fflush(stdout);
}

// A read-modify-write that another thread inside at the same time would break.
static void critical_section(int volatile* inside, uint64_t volatile* counter, char const* name, int hold_us)
{
    if (__atomic_exchange_n(inside, 1, __ATOMIC_SEQ_CST) != 0) {
        __atomic_add_fetch(&g_errors, 1, __ATOMIC_SEQ_CST);
        printf("error: %s: two threads inside the mutex\n", name);
        fflush(stdout);
    }
    uint64_t v = *counter;
    if (hold_us)
        usleep(hold_us);
    *counter = v + 1;
    __atomic_store_n(inside, 0, __ATOMIC_SEQ_CST);
}

// Adds 1 to the u32 at `offset` of the control file (a shared file mapping: the test reads it
// while the process runs).
static void report(size_t offset)
{
    // SAFETY: offset is one of the aligned CTL_* counters, inside the 4 KiB mapping.
    __atomic_add_fetch((uint32_t volatile*)(g_ctl + offset), 1, __ATOMIC_SEQ_CST);
}

static void* pi_thread(void* arg)
{
    uint64_t* done = arg;
    while (!g_stop) {
        int r = pthread_mutex_lock(&g->pi);
        if (r) {
            error("pi: pthread_mutex_lock", r);
            usleep(1000);
            continue;
        }
        critical_section(&g->pi_inside, &g->pi_counter, "pi", 300);
        if (g_ctl[3] && !g_stop) {
            // Nothing here writes the mutex's page: its waiters stay in FUTEX_LOCK_PI.
            printf("pi held %ld\n", (long)gettid());
            fflush(stdout);
            while (g_ctl[3] && !g_stop)
                usleep(1000);
        }
        r = pthread_mutex_unlock(&g->pi);
        if (r)
            error("pi: pthread_mutex_unlock", r);
        __atomic_add_fetch(done, 1, __ATOMIC_SEQ_CST);
    }
    return NULL;
}

// Locks the robust mutex (waiting at most `seconds` if not 0); EOWNERDEAD (its owner exited
// holding it) is counted and repaired.
static int robust_lock(int seconds)
{
    int r;
    if (seconds) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += seconds;
        r = pthread_mutex_timedlock(&g->robust, &deadline);
    } else {
        r = pthread_mutex_lock(&g->robust);
    }
    if (r == EOWNERDEAD) {
        g->deaths_seen = g->deaths_seen + 1;
        int c = pthread_mutex_consistent(&g->robust);
        if (c)
            error("robust: pthread_mutex_consistent", c);
        return 0;
    }
    if (r == ETIMEDOUT)
        error("robust: the mutex of an owner that died holding it is not released", r);
    else if (r)
        error("robust: pthread_mutex_lock", r);
    return r;
}

static void robust_unlock(void)
{
    int r = pthread_mutex_unlock(&g->robust);
    if (r)
        error("robust: pthread_mutex_unlock", r);
}

// Takes the robust mutex and exits holding it, unless told not to (ctl byte 0, or stopping).
// Holds it 2 ms, or with ctl byte 2 set until ctl byte 1 changes (the test picks the moment).
static void* robust_owner(void* arg)
{
    (void)arg;
    if (robust_lock(0))
        return (void*)1;
    uint8_t generation = g_ctl[1];
    critical_section(&g->robust_inside, &g->robust_counter, "robust", 2000);
    while (g_ctl[2] && g_ctl[1] == generation && !g_stop)
        usleep(1000);
    __atomic_add_fetch(&g_robust_done[0], 1, __ATOMIC_SEQ_CST);
    if (g_ctl[0] || g_stop) {
        robust_unlock();
        return (void*)1;
    }
    return NULL; // exits holding it: the kernel must mark it FUTEX_OWNER_DIED
}

// Returns 1 if the joined owner died holding the mutex.
static int run_robust_owner(void)
{
    pthread_t t;
    int r = pthread_create(&t, NULL, robust_owner, NULL);
    if (r) {
        error("robust: pthread_create", r);
        return 0;
    }
    void* result;
    r = pthread_join(t, &result);
    if (r) {
        error("robust: pthread_join", r);
        return 0;
    }
    report(CTL_ROBUST_JOINED); // the kernel has walked its robust list
    return result == NULL;
}

// Runs owners one after the other; after each death, nobody has touched the mutex since the
// owner took it: the spawner's own lock must get EOWNERDEAD at once (within 2 s).
static void* robust_spawner(void* arg)
{
    (void)arg;
    while (!g_stop) {
        if (run_robust_owner()) {
            __atomic_add_fetch(&g_deaths, 1, __ATOMIC_SEQ_CST);
            if (robust_lock(2) == 0) {
                critical_section(&g->robust_inside, &g->robust_counter, "robust", 0);
                __atomic_add_fetch(&g_robust_done[0], 1, __ATOMIC_SEQ_CST);
                robust_unlock();
            }
            if (g_ctl[2]) {
                printf("death %lu seen %lu\n", g_deaths, g->deaths_seen);
                fflush(stdout);
            }
        }
        usleep(500);
    }
    return NULL;
}

// FUTEX_WAKE_OP the way condition variables used it (glibc before 2.25): wake a waiter of
// one word and update a second word of the same object. With "lone", also one whose uaddr2
// is on a page no thread waits on.
static int g_lone;
static void* wakeop_thread(void* arg)
{
    (void)arg;
    int op = FUTEX_OP(FUTEX_OP_ADD, 1, FUTEX_OP_CMP_EQ, 0);
    while (!g_stop) {
        long r = syscall(SYS_futex, &g->wake_word, FUTEX_WAKE_OP_PRIVATE, 1, (void*)0, &g->added_word, op);
        report(CTL_WAKEOP_CALLS);
        if (r < 0) {
            error("wakeop: FUTEX_WAKE_OP", errno);
            usleep(1000);
            continue;
        }
        if (g_lone) {
            r = syscall(SYS_futex, &g->wake_word, FUTEX_WAKE_OP_PRIVATE, 0, (void*)0, &g->lone_word, op);
            if (r < 0) {
                error("wakeop: lone FUTEX_WAKE_OP", errno);
                usleep(1000);
                continue;
            }
        }
        __atomic_add_fetch(&g_wake_calls, 1, __ATOMIC_SEQ_CST);
        usleep(100);
    }
    // The waiters stop at their next wakeup.
    syscall(SYS_futex, &g->wake_word, FUTEX_WAKE_PRIVATE, 100, NULL, NULL, 0);
    return NULL;
}

static void* wakeop_waiter(void* arg)
{
    (void)arg;
    struct timespec timeout = { 0, 20 * 1000 * 1000 };
    while (!g_stop) {
        long r = syscall(SYS_futex, &g->wake_word, FUTEX_WAIT_PRIVATE, 0, &timeout, NULL, 0);
        if (r < 0 && errno != EAGAIN && errno != EINTR && errno != ETIMEDOUT) {
            error("wakeop: FUTEX_WAIT", errno);
            usleep(1000);
        }
    }
    return NULL;
}

static uint64_t sum(uint64_t const* v, int n)
{
    uint64_t s = 0;
    for (int i = 0; i < n; ++i)
        s += __atomic_load_n(&v[i], __ATOMIC_SEQ_CST);
    return s;
}

static void print_progress(void)
{
    printf("progress %lu %lu %lu %lu %lu\n", sum(g_pi_done, PI_THREADS), sum(g_robust_done, 1),
           __atomic_load_n(&g_deaths, __ATOMIC_SEQ_CST), __atomic_load_n(&g_wake_calls, __ATOMIC_SEQ_CST),
           __atomic_load_n(&g_errors, __ATOMIC_SEQ_CST));
    fflush(stdout);
}

static pthread_t g_threads[16];
static char const* g_names[16];
static int g_nthreads;

static void spawn(char const* name, void* (*fn)(void*), void* arg)
{
    int r = pthread_create(&g_threads[g_nthreads], NULL, fn, arg);
    if (r) {
        fprintf(stderr, "pthread_create %s: %s\n", name, strerror(r));
        exit(2);
    }
    g_names[g_nthreads++] = name;
}

static int verify(int pi, int robust, int wakeop)
{
    g_stop = 1;
    int stuck = 0;
    for (int i = 0; i < g_nthreads; ++i) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 3;
        if (pthread_timedjoin_np(g_threads[i], NULL, &deadline) != 0) {
            printf("verify: thread %s did not stop within 3 s (blocked for ever?)\n", g_names[i]);
            stuck = 1;
        }
    }
    if (stuck)
        return 1;
    if (pi && g->pi_counter != sum(g_pi_done, PI_THREADS))
        return printf("verify: pi counter %lu, %lu critical sections\n", g->pi_counter, sum(g_pi_done, PI_THREADS)), 1;
    if (robust) {
        // The last death may not have been seen yet: see it now.
        if (robust_lock(2) == 0)
            robust_unlock();
        if (g->robust_counter != sum(g_robust_done, 1))
            return printf("verify: robust counter %lu, %lu critical sections\n", g->robust_counter,
                          sum(g_robust_done, 1)),
                   1;
        if (g->deaths_seen != g_deaths)
            return printf("verify: %lu owners died holding the robust mutex, %lu seen as EOWNERDEAD\n", g_deaths,
                          g->deaths_seen),
                   1;
        // A thread of this run (with its own robust list) dies holding it: seen at once.
        g_ctl[0] = 0;
        g_ctl[2] = 0;
        g_stop = 0;
        int died = run_robust_owner();
        g_stop = 1;
        uint64_t before = g->deaths_seen;
        if (robust_lock(2) == 0)
            robust_unlock();
        if (!died || g->deaths_seen != before + 1)
            return printf("verify: a new owner's death was not seen (died %d)\n", died), 1;
        g_deaths += 1;
    }
    if (wakeop && g->added_word != (uint32_t)g_wake_calls)
        return printf("verify: FUTEX_WAKE_OP made %lu calls, the kernel-written word is %u\n", g_wake_calls,
                      g->added_word),
               1;
    if (g_lone && g->lone_word != (uint32_t)g_wake_calls)
        return printf("verify: FUTEX_WAKE_OP made %lu calls, the lone kernel-written word is %u\n", g_wake_calls,
                      g->lone_word),
               1;
    if (g_errors)
        return printf("verify: %lu errors\n", g_errors), 1;
    printf("verify ok: pi %lu, robust %lu with %lu deaths seen, wakeop %lu\n", g->pi_counter, g->robust_counter,
           g->deaths_seen, (uint64_t)g->added_word);
    return 0;
}

int main(int argc, char** argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: cr_wp_futex CTL_FILE pi|robust|wakeop|lone|all [BALLAST_MIB]\n");
        return 2;
    }
    g_ctl = map_ctl(argv[1], PAGE);
    char const* mode = argv[2];
    int all = strcmp(mode, "all") == 0;
    int pi = all || strcmp(mode, "pi") == 0;
    int robust = all || strcmp(mode, "robust") == 0;
    g_lone = strcmp(mode, "lone") == 0;
    int wakeop = all || g_lone || strcmp(mode, "wakeop") == 0;
    if (!pi && !robust && !wakeop)
        return fprintf(stderr, "unknown mode %s\n", mode), 2;
    size_t ballast = (size_t)(argc > 3 ? atoi(argv[3]) : 64) << 20;
    g = mmap(NULL, sizeof *g, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint64_t* mem = mmap(NULL, ballast, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g == MAP_FAILED || mem == MAP_FAILED)
        return perror("mmap"), 2;
    madvise(g, sizeof *g, MADV_NOHUGEPAGE);
    prng_fill(mem, ballast / 8, 42);

    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
    if (pthread_mutex_init(&g->pi, &a))
        return fprintf(stderr, "PI mutex\n"), 2;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    if (pthread_mutex_init(&g->robust, &a))
        return fprintf(stderr, "robust mutex\n"), 2;

    signal(SIGUSR1, on_usr1);
    signal(SIGUSR2, on_usr2);
    if (pi)
        for (int i = 0; i < PI_THREADS; ++i)
            spawn("pi", pi_thread, &g_pi_done[i]);
    if (robust) {
        spawn("robust-spawner", robust_spawner, NULL);
    }
    if (wakeop) {
        spawn("wakeop-waiter", wakeop_waiter, NULL);
        spawn("wakeop-waiter", wakeop_waiter, NULL);
        spawn("wakeop", wakeop_thread, NULL);
    }
    printf("ready %d\n", getpid());
    fflush(stdout);

    // Watchdog: a scenario without progress for 3 s has a thread blocked for ever.
    uint64_t last[3] = { 0, 0, 0 };
    int still[3] = { 0, 0, 0 };
    while (!g_verify) {
        usleep(100000);
        if (g_progress) {
            g_progress = 0;
            print_progress();
        }
        uint64_t now[3]
            = { sum(g_pi_done, PI_THREADS), sum(g_robust_done, 1), __atomic_load_n(&g_wake_calls, __ATOMIC_SEQ_CST) };
        int on[3] = { pi && !g_ctl[3], robust && !g_ctl[2], wakeop };
        char const* names[3] = { "pi", "robust", "wakeop" };
        for (int i = 0; i < 3; ++i) {
            still[i] = on[i] && now[i] == last[i] ? still[i] + 1 : 0;
            last[i] = now[i];
            if (still[i] == 30) {
                __atomic_add_fetch(&g_errors, 1, __ATOMIC_SEQ_CST);
                printf("error: %s: stuck, no progress for 3 s\n", names[i]);
                fflush(stdout);
            }
        }
    }
    int r = verify(pi, robust, wakeop);
    fflush(stdout);
    return r;
}
