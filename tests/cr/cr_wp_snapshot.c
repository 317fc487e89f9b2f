// Workload of tests/cr/cr_wp_snapshot.sh: memory that changes while `dump --leave-running`
// copies it. Two threads (main and one more) keep rewriting random pages of 48 MiB of
// anonymous memory (32 MiB of small pages, 16 MiB with MADV_HUGEPAGE), each write taking a
// new generation from one shared counter; thread t writes only the pages p with p % 2 == t,
// so a page is never written by two threads at once.
// A page written with generation g holds g, its index p, then words derived from (p, g). A
// table holds the generation last written to each page, and each thread's slot the page and
// generation it is writing (set before the page, "done" after the table). So any state of
// the memory at one instant satisfies, for every page p: its words match (p, its g), table[p]
// is its g, g is at most the counter, no generation is in two pages, and each thread's last
// page holds that thread's last generation -- except the page a thread was in the middle of
// writing (its slot says so), which the restored thread completes before it stops.
// A restored image mixing instants (a page copied after the process wrote it again, or a
// table page older than the pages) breaks one of these.
//
// Control: CTL_FILE is mapped shared (4 KiB of zeros made by the test). Byte 0 != 0 stops the
// writers (the test sets it before a restore: the restored threads stop at once, so the
// verified state is the image's). Byte 8 = N asks the main thread to write one word into
// every page ("sweep N MS" printed when done: no page stayed write-protected).
// SIGUSR2: prints "progress W0 W1" (writes done by each thread). SIGUSR1: stops the writers,
// verifies, prints "verify ok ..." or the first inconsistency, exits.
// Prints "ready PID" and "huge ADDR" (the MADV_HUGEPAGE region) at start.
// With "unmap": a third thread holds 32 MiB of written memory more and unmaps it when the test
// sets ctl byte 16 (after the dump's thaw, while cryo holds its copy), printing "unmapped":
// memory a snapshot has not copied yet disappears under it.
// Usage: cr_wp_snapshot CTL_FILE [unmap]
#define _GNU_SOURCE
#include "cr_workload.h"
#include "prng_fill.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096
#define SMALL_PAGES (32 * 256)
#define HUGE_BYTES (16 << 20)
#define PAGES (SMALL_PAGES + HUGE_BYTES / PAGE)
#define THREADS 2

struct slot {
    volatile uint64_t page;
    volatile uint64_t gen;
    volatile uint64_t done;
    volatile uint64_t writes;
    volatile int stopped;
};

static uint8_t* g_small;
static uint8_t* g_huge;
static volatile uint8_t* g_ctl;
static uint64_t g_counter;
static uint64_t g_table[PAGES];
static struct slot g_slots[THREADS];
static volatile sig_atomic_t g_verify, g_progress, g_quit;

static void on_usr1(int sig) { (void)sig; g_verify = 1; }
static void on_usr2(int sig) { (void)sig; g_progress = 1; }

static uint64_t* page_at(uint64_t p)
{
    uint8_t* base = p < SMALL_PAGES ? g_small + p * PAGE : g_huge + (p - SMALL_PAGES) * PAGE;
    return (uint64_t*)base;
}

static uint64_t word_of(uint64_t p, uint64_t g, unsigned k) { return prng_word((p << 40) ^ (g << 9) ^ k); }

static void fill_page(uint64_t p, uint64_t g)
{
    uint64_t* w = page_at(p);
    w[0] = g;
    w[1] = p;
    for (unsigned k = 2; k < PAGE / 8; ++k)
        w[k] = word_of(p, g, k);
}

static void write_one(int t, uint64_t* rng)
{
    struct slot* s = &g_slots[t];
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    uint64_t p = (*rng % (PAGES / THREADS)) * THREADS + (uint64_t)t;
    uint64_t g = __atomic_add_fetch(&g_counter, 1, __ATOMIC_SEQ_CST);
    s->page = p;
    s->gen = g;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    fill_page(p, g);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    g_table[p] = g;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    s->done = g;
    s->writes = s->writes + 1;
}

static void* writer(void* arg)
{
    (void)arg;
    uint64_t rng = 0x9e3779b97f4a7c15ULL;
    while (!g_quit) {
        if (g_ctl[0]) {
            g_slots[1].stopped = 1;
            usleep(1000);
            continue;
        }
        write_one(1, &rng);
    }
    g_slots[1].stopped = 1;
    return NULL;
}

static void* unmapper(void* arg)
{
    (void)arg;
    size_t bytes = 32 << 20;
    uint8_t* region = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (region == MAP_FAILED)
        return NULL;
    madvise(region, bytes, MADV_NOHUGEPAGE);
    memset(region, 0x5a, bytes);
    // The test sets ctl byte 16 once the dump has thawed the tree (it holds the copy until we
    // have unmapped: CRYO_TEST_SNAPSHOT_HOLD).
    while (!g_ctl[16] && !g_quit)
        usleep(100);
    munmap(region, bytes);
    printf("unmapped\n");
    fflush(stdout);
    return NULL;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// Every invariant of the header; returns 0 and prints "verify ok" or prints the first failure.
static int verify(void)
{
    uint64_t top = g_counter;
    uint8_t* seen = calloc(top / 8 + 1, 1);
    if (!seen)
        return printf("verify: no memory\n"), 1;
    uint64_t written = 0;
    for (uint64_t p = 0; p < PAGES; ++p) {
        uint64_t* w = page_at(p);
        uint64_t g = w[0];
        if (w[1] != p)
            return printf("verify: page %lu holds index %lu (generation %lu)\n", p, w[1], g), 1;
        for (unsigned k = 2; k < PAGE / 8; ++k)
            if (w[k] != word_of(p, g, k))
                return printf("verify: page %lu generation %lu: word %u is wrong (a torn page)\n", p, g, k), 1;
        if (g_table[p] != g)
            return printf("verify: page %lu holds generation %lu, the table says %lu\n", p, g, g_table[p]), 1;
        if (g > top)
            return printf("verify: page %lu holds generation %lu, the counter is %lu\n", p, g, top), 1;
        if (g == 0)
            continue;
        if (seen[g / 8] & (1 << (g % 8)))
            return printf("verify: generation %lu is in two pages\n", g), 1;
        seen[g / 8] |= (uint8_t)(1 << (g % 8));
        ++written;
    }
    free(seen);
    for (int t = 0; t < THREADS; ++t) {
        struct slot* s = &g_slots[t];
        if (s->gen == 0)
            continue;
        if (s->done != s->gen)
            return printf("verify: thread %d did not complete generation %lu\n", t, s->gen), 1;
        if (s->gen > top)
            return printf("verify: thread %d wrote generation %lu, the counter is %lu\n", t, s->gen, top), 1;
        if (page_at(s->page)[0] != s->gen)
            return printf("verify: thread %d last wrote page %lu with generation %lu, it holds %lu\n", t, s->page,
                       s->gen, page_at(s->page)[0]),
                   1;
    }
    printf("verify ok: %lu pages written, counter %lu, writes %lu+%lu\n", written, top, g_slots[0].writes,
        g_slots[1].writes);
    return 0;
}

int main(int argc, char** argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: cr_wp_snapshot CTL_FILE\n");
        return 2;
    }
    g_ctl = map_ctl(argv[1], PAGE);
    g_small = mmap(NULL, (size_t)SMALL_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint8_t* raw = mmap(NULL, HUGE_BYTES + (2 << 20), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g_small == MAP_FAILED || raw == MAP_FAILED)
        return perror("mmap"), 2;
    madvise(g_small, (size_t)SMALL_PAGES * PAGE, MADV_NOHUGEPAGE);
    g_huge = (uint8_t*)(((uintptr_t)raw + (2 << 20) - 1) & ~(uintptr_t)((2 << 20) - 1));
    madvise(g_huge, HUGE_BYTES, MADV_HUGEPAGE);
    for (uint64_t p = 0; p < PAGES; ++p)
        fill_page(p, 0);

    signal(SIGUSR1, on_usr1);
    signal(SIGUSR2, on_usr2);
    pthread_t thread;
    if (pthread_create(&thread, NULL, writer, NULL) != 0)
        return perror("pthread_create"), 2;
    pthread_t unmap_thread;
    int unmapping = argc > 2 && strcmp(argv[2], "unmap") == 0;
    if (unmapping && pthread_create(&unmap_thread, NULL, unmapper, NULL) != 0)
        return perror("pthread_create"), 2;
    usleep(unmapping ? 100000 : 0); // its region written before "ready"
    printf("ready %d\nhuge %lx\n", getpid(), (unsigned long)(uintptr_t)g_huge);
    fflush(stdout);

    uint64_t rng = 0x2545f4914f6cdd1dULL;
    uint8_t swept = 0;
    while (!g_verify) {
        if (g_progress) {
            g_progress = 0;
            printf("progress %lu %lu\n", g_slots[0].writes, g_slots[1].writes);
            fflush(stdout);
        }
        if (g_ctl[8] != swept) {
            swept = g_ctl[8];
            double t0 = now_ms();
            for (uint64_t p = 0; p < PAGES; ++p)
                __atomic_fetch_add(&page_at(p)[PAGE / 8 - 1], 0, __ATOMIC_RELAXED); // a write fault
            printf("sweep %u %.1f\n", swept, now_ms() - t0);
            fflush(stdout);
        }
        if (g_ctl[0]) {
            g_slots[0].stopped = 1;
            usleep(1000);
            continue;
        }
        write_one(0, &rng);
    }
    g_quit = 1;
    while (!g_slots[1].stopped)
        usleep(1000);
    pthread_join(thread, NULL);
    if (unmapping)
        pthread_join(unmap_thread, NULL);
    int r = verify();
    fflush(stdout);
    return r;
}
