// Checkpoint/restore workload: fills anonymous memory with a pattern derived from each
// page's index, plus heap, stack, a PROT_NONE region, a read-only region and a written page
// of a private file mapping; prints a heartbeat line every 10 ms to argv[2]; on SIGUSR1 it
// verifies everything and prints "verify ok" (exit 0) or what differs (exit 1).
// Usage: cr_memory MIB HEARTBEAT_FILE [socket]   (socket: also hold an unsupported fd)
#define _GNU_SOURCE
#include "prng_fill.h"

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t g_verify;
static void on_usr1(int sig) { (void)sig; g_verify = 1; }

int main(int argc, char** argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: cr_memory MIB HEARTBEAT_FILE [socket]\n");
        return 2;
    }
    size_t bytes = (size_t)atol(argv[1]) << 20;
    size_t words = bytes / 8;
    uint64_t stack_data[512];
    prng_fill(stack_data, 512, 7);

    uint64_t* big = mmap(NULL, bytes ? bytes : 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (big == MAP_FAILED)
        return perror("mmap"), 2;
    prng_fill(big, words, 1);

    uint64_t* heap = malloc(1 << 20);
    prng_fill(heap, (1 << 20) / 8, 2);

    // A region touched then made inaccessible, and one made read-only.
    uint64_t* none = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    prng_fill(none, 8192 / 8, 3);
    mprotect(none, 8192, PROT_NONE);
    uint64_t* ro = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    prng_fill(ro, 8192 / 8, 4);
    mprotect(ro, 8192, PROT_READ);
    // A never-touched region: must stay zero (and not be in the image).
    uint64_t* untouched = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    // Private mapping of our own executable with one written page (copy-on-write).
    int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    uint64_t* filemap = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, self, 0);
    close(self);
    uint64_t file_second_page_word = filemap[512];
    prng_fill(filemap, 512, 5);

    int sock[2] = { -1, -1 };
    if (argc > 3 && strcmp(argv[3], "socket") == 0) // a TCP socket: unix socketpairs are supported now
        sock[0] = socket(AF_INET, SOCK_STREAM, 0);
    (void)sock;

    FILE* beat = fopen(argv[2], "a");
    if (!beat)
        return perror("heartbeat"), 2;
    setvbuf(beat, NULL, _IOLBF, 0);
    signal(SIGUSR1, on_usr1);
    printf("ready %d\n", getpid());
    fflush(stdout);

    unsigned long counter = 0;
    struct timespec last;
    clock_gettime(CLOCK_MONOTONIC, &last);
    double max_gap_ms = 0;
    while (!g_verify) {
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        nanosleep(&ts, NULL);
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double gap = (now.tv_sec - last.tv_sec) * 1e3 + (now.tv_nsec - last.tv_nsec) / 1e6;
        if (gap > max_gap_ms)
            max_gap_ms = gap;
        last = now;
        fprintf(beat, "beat %lu\n", ++counter);
    }

    int bad = 0;
    long at;
    if ((at = prng_check(big, words, 1)) >= 0)
        printf("big differs at word %ld\n", at), bad = 1;
    if ((at = prng_check(heap, (1 << 20) / 8, 2)) >= 0)
        printf("heap differs at word %ld\n", at), bad = 1;
    if ((at = prng_check(stack_data, 512, 7)) >= 0)
        printf("stack differs at word %ld\n", at), bad = 1;
    mprotect(none, 8192, PROT_READ);
    if ((at = prng_check(none, 8192 / 8, 3)) >= 0)
        printf("PROT_NONE region differs at word %ld\n", at), bad = 1;
    if ((at = prng_check(ro, 8192 / 8, 4)) >= 0)
        printf("read-only region differs at word %ld\n", at), bad = 1;
    for (size_t i = 0; i < (1 << 20) / 8; ++i)
        if (untouched[i] != 0) {
            printf("untouched region not zero at word %zu\n", i), bad = 1;
            break;
        }
    if ((at = prng_check(filemap, 512, 5)) >= 0)
        printf("file mapping written page differs at word %ld\n", at), bad = 1;
    if (filemap[512] != file_second_page_word)
        printf("file mapping clean page differs\n"), bad = 1;
    printf("max heartbeat gap %.1f ms\n", max_gap_ms);
    printf(bad ? "verify FAILED\n" : "verify ok\n");
    fflush(stdout);
    return bad;
}
