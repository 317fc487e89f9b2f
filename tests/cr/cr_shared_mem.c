// Checkpoint/restore workload for memory that needs a memory object or special care: shared
// anonymous memory inherited over fork (partly written, the rest never touched), a shared
// mapping of a regular file, a file deleted while mapped (shared and private, the private one
// with a written page), a memfd mapped shared with its fd closed, and a 2 MiB-aligned private
// area with MADV_HUGEPAGE backed by transparent huge pages. Prints "ready PARENT CHILD".
// On SIGUSR1 the child writes new tokens into every shared area and exits 0; the parent waits
// for it, then checks that it sees those tokens (the areas are still shared), that all old
// contents are intact, that the huge area still has AnonHugePages, and prints "verify ok" or
// "FAIL: ...". Usage: cr_shared_mem DIR (a directory for its files)
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SHM_SIZE (4 << 20)
#define HUGE_SIZE (4 << 20)

static volatile sig_atomic_t g_verify;
static void on_usr1(int sig) { (void)sig; g_verify = 1; }

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) { }
}

static uint64_t value(int area, uint64_t i) { return (uint64_t)area << 56 | (i * 0x9E3779B97F4A7C15ULL >> 8); }

static void fill(uint64_t* p, size_t bytes, int area)
{
    for (size_t i = 0; i < bytes / 8; ++i)
        p[i] = value(area, i);
}

static int check(uint64_t const* p, size_t bytes, int area)
{
    for (size_t i = 0; i < bytes / 8; ++i)
        if (p[i] != value(area, i))
            return 0;
    return 1;
}

static void* map_file(char const* path, size_t size, int flags, int area)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0 || ftruncate(fd, (off_t)size) != 0)
        perror(path), exit(2);
    uint64_t* buffer = malloc(size);
    fill(buffer, size, area);
    if (write(fd, buffer, size) != (ssize_t)size)
        perror("write"), exit(2);
    free(buffer);
    void* p = mmap(NULL, size, PROT_READ | PROT_WRITE, flags, fd, 0);
    if (p == MAP_FAILED)
        perror("mmap"), exit(2);
    close(fd);
    return p;
}

static long anon_huge_kib(void const* start)
{
    FILE* f = fopen("/proc/self/smaps", "r");
    char line[512];
    int inside = 0;
    long kib = -1;
    while (f && fgets(line, sizeof line, f)) {
        unsigned long a, b;
        if (sscanf(line, "%lx-%lx ", &a, &b) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            inside = a <= (uintptr_t)start && (uintptr_t)start < b;
            continue;
        }
        if (inside && sscanf(line, "AnonHugePages: %ld kB", &kib) == 1)
            break;
    }
    if (f)
        fclose(f);
    return kib;
}

int main(int argc, char** argv)
{
    if (argc != 2)
        return fprintf(stderr, "usage: cr_shared_mem DIR\n"), 2;
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa = { 0 };
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    char path[4096];

    // Shared anonymous: the first half written, the second never touched.
    uint64_t* shm = mmap(NULL, SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    fill(shm, SHM_SIZE / 2, 1);
    // A regular file mapped shared (stays on disk).
    snprintf(path, sizeof path, "%s/shared.bin", argv[1]);
    uint64_t* file_shared = map_file(path, 65536, MAP_SHARED, 2);
    // A file deleted while mapped, shared and private (the private one with a written page).
    snprintf(path, sizeof path, "%s/deleted-shared.bin", argv[1]);
    uint64_t* deleted_shared = map_file(path, 65536, MAP_SHARED, 3);
    unlink(path);
    snprintf(path, sizeof path, "%s/deleted-private.bin", argv[1]);
    uint64_t* deleted_private = map_file(path, 65536, MAP_PRIVATE, 4);
    unlink(path);
    deleted_private[0] = 0xdeadbeef; // a copy-on-write page of its own
    // A memfd, mapped shared; its fd closed.
    int mfd = memfd_create("cr-shared", MFD_CLOEXEC);
    if (mfd < 0 || ftruncate(mfd, 65536) != 0)
        return perror("memfd"), 2;
    uint64_t* memfd = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    close(mfd);
    fill(memfd, 65536, 5);
    // Read-only shared anonymous memory (mprotect'ed after writing).
    uint64_t* shm_ro = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    fill(shm_ro, 65536, 6);
    mprotect(shm_ro, 65536, PROT_READ);
    // Transparent huge pages: a 2 MiB-aligned private area with MADV_HUGEPAGE.
    uint8_t* raw = mmap(NULL, HUGE_SIZE + (2 << 20), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint64_t* huge = (uint64_t*)(((uintptr_t)raw + (2 << 20) - 1) & ~(uintptr_t)((2 << 20) - 1));
    madvise(huge, HUGE_SIZE, MADV_HUGEPAGE);
    fill(huge, HUGE_SIZE, 7);
    long huge_before = anon_huge_kib(huge);

    pid_t child = fork();
    if (child == 0) {
        while (!g_verify)
            sleep_ms(10);
        // Tokens for the parent to see through the shared areas.
        shm[SHM_SIZE / 8 - 1] = 0x1111;
        shm[0] = 0x2222;
        file_shared[1] = 0x3333;
        deleted_shared[2] = 0x4444;
        memfd[3] = 0x5555;
        deleted_private[0] = 0x6666; // private: the parent must not see this
        _exit(0);
    }
    printf("ready %d %d %ld\n", getpid(), child, huge_before);
    while (!g_verify)
        sleep_ms(20);

    char error[256] = "";
    int ok = 1;
    // Before the child writes: every old content intact.
    if (!check(shm, SHM_SIZE / 2, 1) || shm[SHM_SIZE / 8 - 1] != 0)
        ok = 0, snprintf(error, sizeof error, "shared anonymous memory differs");
    else if (!check(file_shared, 65536, 2) || !check(deleted_shared, 65536, 3) || !check(memfd, 65536, 5)
        || !check(shm_ro, 65536, 6))
        ok = 0, snprintf(error, sizeof error, "a shared file/memfd mapping differs");
    if (ok && (deleted_private[0] != 0xdeadbeef || deleted_private[1] != value(4, 1)))
        ok = 0, snprintf(error, sizeof error, "deleted private mapping differs");
    if (ok && !check(huge, HUGE_SIZE, 7))
        ok = 0, snprintf(error, sizeof error, "huge page area differs");
    long huge_after = anon_huge_kib(huge);
    if (ok && huge_before > 0 && huge_after <= 0)
        ok = 0, snprintf(error, sizeof error, "AnonHugePages %ld kB before, %ld kB after", huge_before, huge_after);
    kill(child, SIGUSR1);
    int status = 0;
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        ok = ok ? (snprintf(error, sizeof error, "child: status %#x", status), 0) : 0;
    if (ok && (shm[SHM_SIZE / 8 - 1] != 0x1111 || shm[0] != 0x2222))
        ok = 0, snprintf(error, sizeof error, "shared anonymous memory no longer shared with the child");
    if (ok && (file_shared[1] != 0x3333 || deleted_shared[2] != 0x4444 || memfd[3] != 0x5555))
        ok = 0, snprintf(error, sizeof error, "file/memfd mapping no longer shared (%lx %lx %lx)",
            (unsigned long)file_shared[1], (unsigned long)deleted_shared[2], (unsigned long)memfd[3]);
    if (ok && deleted_private[0] != 0xdeadbeef)
        ok = 0, snprintf(error, sizeof error, "the child's private write shows in the parent");
    if (ok) {
        printf("verify ok (AnonHugePages %ld kB before, %ld kB after)\n", huge_before, huge_after);
        return 0;
    }
    printf("FAIL: %s\n", error);
    return 1;
}
