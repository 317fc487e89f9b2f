// Checkpoint/restore workload: guard pages (madvise MADV_GUARD_INSTALL, Linux 6.13) in an
// anonymous area (its first page, two in the middle, its last page), next to a lone written
// page in a mostly untouched area, in a private file mapping (next to a written copy and a
// page still read from the file), in shared anonymous memory and in a shared file mapping. Prints "ready PID", then waits for SIGUSR1 and verifies:
// the data around the guards is intact, each guard page is still one (pagemap bit 58, and a
// read of it raises SIGSEGV at its address, caught here), the other pages are not, and
// MADV_GUARD_REMOVE turns a guard back into an ordinary page that can be written: zero in
// private anonymous memory, else what the file or shared memory holds there (a guard only
// hides a shared page, it does not drop it). Prints "verify ok" (exit 0) or what differs (exit 1).
// Usage: cr_guard           (cwd: a directory it may write a data file into)
//        cr_guard probe     exit 0 if this kernel has guard pages, 77 otherwise
#define _GNU_SOURCE
#include "prng_fill.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
#ifndef MADV_GUARD_REMOVE
#define MADV_GUARD_REMOVE 103
#endif

#define PAGE 4096UL
#define WORDS (PAGE / 8)

static volatile sig_atomic_t g_verify;
static void on_usr1(int sig) { (void)sig; g_verify = 1; }

static sigjmp_buf g_jump;
static void* volatile g_fault_address;
static void on_segv(int sig, siginfo_t* info, void* context)
{
    (void)sig;
    (void)context;
    g_fault_address = info->si_addr;
    siglongjmp(g_jump, 1);
}

static int g_bad;
#define BAD(...) (printf(__VA_ARGS__), printf("\n"), g_bad = 1)

// Whether a read of `page` faults with SIGSEGV at that address.
static int read_faults(char* page)
{
    g_fault_address = NULL;
    if (sigsetjmp(g_jump, 1) == 0) {
        (void)*(char volatile*)page;
        return 0;
    }
    return g_fault_address == page;
}

static uint64_t pagemap_entry(int pagemap, void* page)
{
    uint64_t entry = 0;
    if (pread(pagemap, &entry, sizeof entry, (off_t)((uintptr_t)page / PAGE * 8)) != sizeof entry)
        BAD("pagemap read at %p: %s", page, strerror(errno));
    return entry;
}

static int is_guard_entry(uint64_t entry) { return (entry >> 58) & 1; }

// A region of `pages` pages at `base`; guard[i] says whether page i is a guard page; `under`
// what a guard page reads as once removed (NULL: zero).
struct Region {
    char const* name;
    char* base;
    size_t pages;
    char const* guard;
    uint64_t const* under;
};

// A file of `pages` pages filled with `seed` in the cwd, mapped with `flags`.
static char* map_file(char const* name, size_t pages, uint64_t* data, uint64_t seed, int flags)
{
    int fd = open(name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    prng_fill(data, pages * WORDS, seed);
    if (fd < 0 || write(fd, data, pages * PAGE) != (ssize_t)(pages * PAGE))
        return perror(name), NULL;
    char* p = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, flags, fd, 0);
    close(fd);
    return p == MAP_FAILED ? (perror(name), NULL) : p;
}

// Checks that exactly the pages marked in `guard` are guard pages, by pagemap and by fault.
static void check_guards(int pagemap, struct Region const* r)
{
    for (size_t i = 0; i < r->pages; ++i) {
        char* page = r->base + i * PAGE;
        int marked = is_guard_entry(pagemap_entry(pagemap, page));
        if (marked != (r->guard[i] == 'G'))
            BAD("%s page %zu: pagemap guard bit %d", r->name, i, marked);
        if (r->guard[i] == 'G' && !read_faults(page))
            BAD("%s page %zu: a guard page that reads without SIGSEGV", r->name, i);
    }
}

static int guard(char* page, size_t pages)
{
    return madvise(page, pages * PAGE, MADV_GUARD_INSTALL);
}

int main(int argc, char** argv)
{
    if (argc > 1 && strcmp(argv[1], "probe") == 0) {
        char* p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return p != MAP_FAILED && guard(p, 1) == 0 ? 0 : 77;
    }

    // Anonymous: 16 pages written, then guards on page 0, pages 6-7 and page 15.
    char* anon = mmap(NULL, 16 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    // Mostly untouched: page 3 written, page 4 (next to it) and page 6 guards.
    char* sparse = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (anon == MAP_FAILED || sparse == MAP_FAILED)
        return perror("mmap"), 2;
    prng_fill((uint64_t*)anon, 16 * WORDS, 100);
    prng_fill((uint64_t*)(sparse + 3 * PAGE), WORDS, 200);
    if (guard(anon, 1) || guard(anon + 6 * PAGE, 2) || guard(anon + 15 * PAGE, 1) || guard(sparse + 4 * PAGE, 1)
        || guard(sparse + 6 * PAGE, 1))
        return perror("madvise MADV_GUARD_INSTALL"), 2;

    // A private file mapping of 4 pages of a file of ours: page 0 read (the file's page),
    // page 1 written (a copy), page 2 a guard, page 3 untouched.
    static uint64_t file_data[4 * WORDS];
    char* file = map_file("guard-data", 4, file_data, 300, MAP_PRIVATE);
    if (!file)
        return 2;
    volatile uint64_t sink = *(uint64_t*)file;
    (void)sink;
    prng_fill((uint64_t*)(file + PAGE), WORDS, 400);
    if (guard(file + 2 * PAGE, 1))
        return perror("madvise MADV_GUARD_INSTALL (file)"), 2;

    // Shared anonymous memory, all written, page 1 a guard; a shared file mapping, page 2.
    static uint64_t shared_data[4 * WORDS];
    prng_fill(shared_data, 4 * WORDS, 500);
    char* shared = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    static uint64_t shared_file_data[4 * WORDS];
    char* shared_file = map_file("guard-shared", 4, shared_file_data, 600, MAP_SHARED);
    if (shared == MAP_FAILED || !shared_file)
        return perror("mmap shared"), 2;
    memcpy(shared, shared_data, sizeof shared_data);
    if (guard(shared + PAGE, 1) || guard(shared_file + 2 * PAGE, 1))
        return perror("madvise MADV_GUARD_INSTALL (shared)"), 2;

    struct Region const regions[] = {
        { "anonymous", anon, 16, "G-----GG-------G", NULL },
        { "sparse", sparse, 8, "----G-G-", NULL },
        { "file", file, 4, "--G-", file_data },
        { "shared", shared, 4, "-G--", shared_data },
        { "shared file", shared_file, 4, "--G-", shared_file_data },
    };

    struct sigaction sa = { 0 };
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);
    signal(SIGUSR1, on_usr1);
    printf("ready %d\n", getpid());
    fflush(stdout);
    while (!g_verify) {
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }

    int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (pagemap < 0)
        return perror("pagemap"), 1;
    for (size_t i = 0; i < sizeof regions / sizeof regions[0]; ++i)
        check_guards(pagemap, &regions[i]);

    // The data around the guards.
    for (size_t i = 0; i < 16; ++i)
        if (regions[0].guard[i] != 'G' && prng_check((uint64_t*)(anon + i * PAGE), WORDS, 100 + i * WORDS) >= 0)
            BAD("anonymous page %zu differs", i);
    if (prng_check((uint64_t*)(sparse + 3 * PAGE), WORDS, 200) >= 0)
        BAD("sparse page 3 (written) differs");
    for (size_t i = 0; i < 8; ++i)
        if (i != 3 && regions[1].guard[i] != 'G')
            for (size_t w = 0; w < WORDS; ++w)
                if (((uint64_t*)(sparse + i * PAGE))[w] != 0) {
                    BAD("sparse page %zu (untouched) not zero", i);
                    break;
                }
    if (memcmp(file, file_data, PAGE) != 0)
        BAD("file page 0 (read) is not the file's");
    if (prng_check((uint64_t*)(file + PAGE), WORDS, 400) >= 0)
        BAD("file page 1 (written) differs");
    if (memcmp(file + 3 * PAGE, file_data + 3 * WORDS, PAGE) != 0)
        BAD("file page 3 (untouched) is not the file's");
    for (size_t r = 3; r < 5; ++r)
        for (size_t i = 0; i < 4; ++i)
            if (regions[r].guard[i] != 'G' && memcmp(regions[r].base + i * PAGE, regions[r].under + i * WORDS, PAGE))
                BAD("%s page %zu differs", regions[r].name, i);

    // MADV_GUARD_REMOVE: ordinary pages again, zero (or the file's), writable.
    for (size_t r = 0; r < sizeof regions / sizeof regions[0]; ++r)
        for (size_t i = 0; i < regions[r].pages; ++i) {
            if (regions[r].guard[i] != 'G')
                continue;
            char* page = regions[r].base + i * PAGE;
            if (madvise(page, PAGE, MADV_GUARD_REMOVE) != 0) {
                BAD("%s page %zu: madvise MADV_GUARD_REMOVE: %s", regions[r].name, i, strerror(errno));
                continue;
            }
            if (is_guard_entry(pagemap_entry(pagemap, page)))
                BAD("%s page %zu: still a guard after MADV_GUARD_REMOVE", regions[r].name, i);
            if (read_faults(page)) {
                BAD("%s page %zu: faults after MADV_GUARD_REMOVE", regions[r].name, i);
                continue;
            }
            static char const zero[PAGE];
            void const* want = regions[r].under ? (void const*)(regions[r].under + i * WORDS) : (void const*)zero;
            if (memcmp(page, want, PAGE) != 0)
                BAD("%s page %zu: after MADV_GUARD_REMOVE not %s", regions[r].name, i,
                    regions[r].under ? "what it held" : "zero");
            // Writable again; the same byte, so that a shared file keeps its contents (the
            // --leave-running image is restored after the original ran this).
            ((char volatile*)page)[0] = page[0];
        }
    printf(g_bad ? "verify FAILED\n" : "verify ok\n");
    fflush(stdout);
    return g_bad;
}
