/* dos_hog: the workloads of the DoS containment tests (tests/integration/dos_*.sh), built
 * static into a busybox bundle by the test itself.
 *   dos_hog fds              open /dev/null until it fails; print "opened N errno NAME"; pause
 *   dos_hog mem MIB          allocate and touch MIB MiB; print "touched MIB" (if it survives)
 *   dos_hog spin SECONDS [THREADS]
 *                            count loop iterations for SECONDS of wall time (0 = forever,
 *                            printing nothing) in THREADS threads; print "iterations N"
 *   dos_hog fill PATH        write 1 MiB blocks to PATH until it fails; print
 *                            "wrote BYTES errno NAME"
 * Output goes to stdout, one line, flushed before any pause. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char const* errno_name(int e)
{
    switch (e) {
    case EMFILE:
        return "EMFILE";
    case ENFILE:
        return "ENFILE";
    case ENOSPC:
        return "ENOSPC";
    case EDQUOT:
        return "EDQUOT";
    case ENOMEM:
        return "ENOMEM";
    default:
        return strerror(e);
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double spin_seconds;
static void* spin(void* arg)
{
    unsigned long long volatile* count = arg;
    double end = now() + spin_seconds;
    for (;;) {
        /* Check the clock every 64k iterations: cheap next to the loop. */
        for (int i = 0; i < 65536; ++i)
            ++*count;
        if (spin_seconds > 0 && now() >= end)
            break;
    }
    return NULL;
}

int main(int argc, char** argv)
{
    if (argc >= 2 && strcmp(argv[1], "fds") == 0) {
        long opened = 0;
        for (;;) {
            int fd = open("/dev/null", O_RDONLY);
            if (fd < 0) {
                printf("opened %ld errno %s\n", opened, errno_name(errno));
                fflush(stdout);
                break;
            }
            ++opened;
        }
        for (;;)
            pause();
    }
    if (argc >= 3 && strcmp(argv[1], "mem") == 0) {
        long mib = atol(argv[2]);
        for (long i = 0; i < mib; ++i) {
            char* block = malloc(1 << 20);
            if (!block) {
                printf("malloc failed at %ld MiB\n", i);
                return 1;
            }
            memset(block, 0x5a, 1 << 20);
        }
        printf("touched %ld\n", mib);
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "spin") == 0) {
        spin_seconds = atof(argv[2]);
        int threads = argc >= 4 ? atoi(argv[3]) : 1;
        if (threads < 1 || threads > 64)
            threads = 1;
        static unsigned long long volatile counts[64 * 8]; /* one cache line apart */
        pthread_t ids[64];
        for (int i = 0; i < threads; ++i)
            pthread_create(&ids[i], NULL, spin, (void*)&counts[i * 8]);
        unsigned long long total = 0;
        for (int i = 0; i < threads; ++i) {
            pthread_join(ids[i], NULL);
            total += counts[i * 8];
        }
        printf("iterations %llu\n", total);
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "fill") == 0) {
        int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
            printf("open failed errno %s\n", errno_name(errno));
            return 1;
        }
        static char block[1 << 20];
        memset(block, 'x', sizeof block);
        long long written = 0;
        for (;;) {
            ssize_t n = write(fd, block, sizeof block);
            if (n < 0) {
                printf("wrote %lld errno %s\n", written, errno_name(errno));
                break;
            }
            written += n;
        }
        fsync(fd);
        close(fd);
        return 0;
    }
    fprintf(stderr, "usage: dos_hog fds | mem MIB | spin SECONDS [THREADS] | fill PATH\n");
    return 2;
}
