// Checkpoint/restore workload for syscalls interrupted by the dump: it installs a SIGUSR1
// handler without SA_RESTART, prints "ready PID", then blocks in one syscall chosen by MODE:
// pause, sigsuspend (SIGUSR1 blocked outside it, empty mask inside), sigsuspend_unblocked
// (SIGUSR1 never blocked), nanosleep (60 s; nanosleep_rem: with a rem pointer) or read (of a
// pipe nobody writes). The SIGUSR1 sent after restore must end that syscall with EINTR, as it
// would have without the dump; after sigsuspend the mask must again block SIGUSR1; after
// nanosleep_rem the time left must be in rem. nanosleep is dumped inside a restart block,
// which a restored task does not have: restore enters it again (src/checkpoint/
// syscall_reentry.cpp), so it too must still be asleep when the signal comes
// (tests/cr/cr_sleep.sh checks the times).
// Prints "verify ok MODE" or "FAIL: ..." and exits 0 or 1.
// Usage: cr_restart MODE
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t g_caught;

static void on_usr1(int sig)
{
    (void)sig;
    g_caught = 1;
}

int main(int argc, char** argv)
{
    if (argc != 2)
        return fprintf(stderr,
                       "usage: cr_restart pause|sigsuspend|sigsuspend_unblocked|nanosleep|nanosleep_rem|read\n"),
               2;
    char const* mode = argv[1];
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1; // no SA_RESTART: a handler run ends the syscall with EINTR
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, NULL) != 0)
        return perror("sigaction"), 1;
    int fds[2];
    if (pipe(fds) != 0)
        return perror("pipe"), 1;
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    printf("ready %d\n", getpid());

    long r;
    if (strcmp(mode, "pause") == 0) {
        r = pause();
    } else if (strcmp(mode, "sigsuspend") == 0) {
        sigprocmask(SIG_BLOCK, &usr1, NULL);
        sigset_t none;
        sigemptyset(&none);
        r = sigsuspend(&none);
    } else if (strcmp(mode, "sigsuspend_unblocked") == 0) {
        sigset_t none;
        sigemptyset(&none);
        r = sigsuspend(&none);
    } else if (strcmp(mode, "nanosleep") == 0) {
        struct timespec ts = { .tv_sec = 60, .tv_nsec = 0 };
        r = nanosleep(&ts, NULL);
    } else if (strcmp(mode, "nanosleep_rem") == 0) {
        // Entered again at restore with the time left as its request: the signal must still
        // end it with EINTR and the time left written back (less than asked, more than 0).
        struct timespec ts = { .tv_sec = 60, .tv_nsec = 0 }, rem = { 0, 0 };
        r = nanosleep(&ts, &rem);
        if (r == -1 && errno == EINTR && (rem.tv_sec >= 60 || (rem.tv_sec == 0 && rem.tv_nsec == 0)))
            return printf("FAIL: nanosleep_rem: rem %ld.%09ld s after EINTR\n", (long)rem.tv_sec, rem.tv_nsec), 1;
    } else if (strcmp(mode, "read") == 0) {
        char c;
        r = read(fds[0], &c, 1);
    } else {
        return fprintf(stderr, "unknown mode %s\n", mode), 2;
    }
    int e = errno;
    if (r != -1 || e != EINTR)
        return printf("FAIL: %s returned %ld (%s), expected EINTR\n", mode, r, strerror(e)), 1;
    if (!g_caught)
        return printf("FAIL: %s ended with EINTR but the handler did not run\n", mode), 1;
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    int blocked = sigismember(&now, SIGUSR1);
    if (strcmp(mode, "sigsuspend") == 0 && !blocked)
        return printf("FAIL: after sigsuspend SIGUSR1 is unblocked: the mask is sigsuspend's, not the thread's\n"), 1;
    if (strcmp(mode, "sigsuspend") != 0 && blocked)
        return printf("FAIL: after %s SIGUSR1 is blocked\n", mode), 1;
    printf("verify ok %s\n", mode);
    return 0;
}
