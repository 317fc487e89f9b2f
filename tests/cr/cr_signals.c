// Checkpoint/restore workload for signal state: queued signals with their siginfo (process-wide
// and thread-directed, standard and real-time queued twice with different values) kept pending
// by the signal mask, and each thread's sigaltstack. Prints "ready MAIN WORKER" when set up
// (WORKER: the tid of the second thread), then beats; on SIGUSR1 (not blocked) it checks that
// everything is as before and prints "verify ok" or "FAIL: ...", exiting 0 or 1.
// Usage: cr_signals BEATFILE
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t g_verify;
static volatile uintptr_t g_handler_stack;
static char g_main_stack[65536] __attribute__((aligned(16)));
static char g_worker_stack[32768] __attribute__((aligned(16)));
static pthread_barrier_t g_barrier;
static volatile int g_worker_result = -1;
static char g_worker_error[256];
static pid_t g_worker_tid;

static void on_usr1(int sig)
{
    int local;
    (void)sig;
    g_handler_stack = (uintptr_t)&local;
    g_verify = 1;
}

static int check_info(siginfo_t const* info, int sig, int code, int value, char* error, size_t n)
{
    if (info->si_signo != sig || info->si_code != code || info->si_pid != getpid() || info->si_uid != getuid()) {
        snprintf(error, n, "signal %d: got signo %d code %d pid %d uid %d", sig, info->si_signo, info->si_code,
            info->si_pid, info->si_uid);
        return 0;
    }
    if (value >= 0 && info->si_value.sival_int != value) {
        snprintf(error, n, "signal %d: value %d, expected %d", sig, info->si_value.sival_int, value);
        return 0;
    }
    return 1;
}

static int check_altstack(void const* base, size_t size, char* error, size_t n)
{
    stack_t st;
    if (sigaltstack(NULL, &st) != 0 || st.ss_sp != base || st.ss_size != size || (st.ss_flags & SS_DISABLE)) {
        snprintf(error, n, "sigaltstack %p/%zu flags %d, expected %p/%zu", st.ss_sp, st.ss_size, st.ss_flags, base,
            size);
        return 0;
    }
    return 1;
}

static void* worker(void* arg)
{
    (void)arg;
    g_worker_tid = (pid_t)syscall(SYS_gettid);
    stack_t st = { .ss_sp = g_worker_stack, .ss_size = sizeof g_worker_stack, .ss_flags = 0 };
    if (sigaltstack(&st, NULL) != 0)
        return perror("worker sigaltstack"), NULL;
    pthread_barrier_wait(&g_barrier); // set up
    pthread_barrier_wait(&g_barrier); // verify now
    char* e = g_worker_error;
    size_t n = sizeof g_worker_error;
    int ok = check_altstack(g_worker_stack, sizeof g_worker_stack, e, n);
    sigset_t pending;
    sigpending(&pending);
    if (ok && !sigismember(&pending, SIGRTMIN + 2))
        ok = 0, snprintf(e, n, "worker: SIGRTMIN+2 not pending");
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN + 2);
    sigaddset(&set, SIGURG);
    struct timespec zero = { 0, 0 };
    siginfo_t info;
    // The thread-directed SIGURG (tgkill: SI_TKILL) first (lower number), then the RT signal.
    if (ok && sigtimedwait(&set, &info, &zero) != SIGURG)
        ok = 0, snprintf(e, n, "worker: no SIGURG queued (%s)", strerror(errno));
    // tgkill's siginfo names the sender (si_code SI_TKILL or SI_USER depending on the kernel).
    if (ok && ((info.si_code != SI_TKILL && info.si_code != SI_USER) || info.si_pid != getpid()))
        ok = 0, snprintf(e, n, "worker: SIGURG si_code %d si_pid %d", info.si_code, info.si_pid);
    if (ok && sigtimedwait(&set, &info, &zero) != SIGRTMIN + 2)
        ok = 0, snprintf(e, n, "worker: no SIGRTMIN+2 queued");
    if (ok)
        ok = check_info(&info, SIGRTMIN + 2, SI_QUEUE, 333, e, n);
    if (ok && sigtimedwait(&set, &info, &zero) != -1)
        ok = 0, snprintf(e, n, "worker: a signal too many");
    g_worker_result = ok;
    return NULL;
}

int main(int argc, char** argv)
{
    if (argc != 2)
        return fprintf(stderr, "usage: cr_signals BEATFILE\n"), 2;
    setvbuf(stdout, NULL, _IONBF, 0);
    // Everything of interest is blocked in every thread (the mask is inherited); SIGUSR1 is not.
    sigset_t blocked;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGUSR2);
    sigaddset(&blocked, SIGURG);
    sigaddset(&blocked, SIGRTMIN + 1);
    sigaddset(&blocked, SIGRTMIN + 2);
    sigprocmask(SIG_BLOCK, &blocked, NULL);
    struct sigaction sa = { 0 };
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_ONSTACK | SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    stack_t st = { .ss_sp = g_main_stack, .ss_size = sizeof g_main_stack, .ss_flags = 0 };
    if (sigaltstack(&st, NULL) != 0)
        return perror("sigaltstack"), 2;

    pthread_barrier_init(&g_barrier, NULL, 2);
    pthread_t thread;
    pthread_create(&thread, NULL, worker, NULL);
    pthread_barrier_wait(&g_barrier);

    // Process-wide: a standard signal (SI_USER from kill) and one RT signal queued twice.
    union sigval v;
    kill(getpid(), SIGUSR2);
    v.sival_int = 111;
    sigqueue(getpid(), SIGRTMIN + 1, v);
    v.sival_int = 222;
    sigqueue(getpid(), SIGRTMIN + 1, v);
    // Thread-directed: SIGURG by tgkill and an RT signal with a value.
    syscall(SYS_tgkill, getpid(), g_worker_tid, SIGURG);
    v.sival_int = 333;
    pthread_sigqueue(thread, SIGRTMIN + 2, v);

    printf("ready %d %d\n", getpid(), g_worker_tid);
    FILE* beat = fopen(argv[1], "a");
    while (!g_verify) {
        if (beat) {
            fprintf(beat, "beat\n");
            fflush(beat);
        }
        struct timespec ts = { 0, 20 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }

    char error[256] = "";
    int ok = 1;
    if (g_handler_stack < (uintptr_t)g_main_stack || g_handler_stack >= (uintptr_t)g_main_stack + sizeof g_main_stack)
        ok = 0, snprintf(error, sizeof error, "SIGUSR1 handler did not run on the alternate stack");
    if (ok)
        ok = check_altstack(g_main_stack, sizeof g_main_stack, error, sizeof error);
    sigset_t pending;
    sigpending(&pending);
    if (ok && (!sigismember(&pending, SIGUSR2) || !sigismember(&pending, SIGRTMIN + 1)))
        ok = 0, snprintf(error, sizeof error, "SIGUSR2 or SIGRTMIN+1 not pending");
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGRTMIN + 1);
    struct timespec zero = { 0, 0 };
    siginfo_t info;
    if (ok && sigtimedwait(&set, &info, &zero) != SIGUSR2)
        ok = 0, snprintf(error, sizeof error, "SIGUSR2 not queued");
    if (ok)
        ok = check_info(&info, SIGUSR2, SI_USER, -1, error, sizeof error);
    for (int value = 111; ok && value <= 222; value += 111) {
        if (sigtimedwait(&set, &info, &zero) != SIGRTMIN + 1)
            ok = 0, snprintf(error, sizeof error, "SIGRTMIN+1 with value %d not queued", value);
        else
            ok = check_info(&info, SIGRTMIN + 1, SI_QUEUE, value, error, sizeof error);
    }
    if (ok && sigtimedwait(&set, &info, &zero) != -1)
        ok = 0, snprintf(error, sizeof error, "a process-wide signal too many");

    pthread_barrier_wait(&g_barrier);
    pthread_join(thread, NULL);
    if (ok && g_worker_result != 1)
        ok = 0, snprintf(error, sizeof error, "%s", g_worker_error);
    if (ok) {
        printf("verify ok\n");
        return 0;
    }
    printf("FAIL: %s\n", error);
    return 1;
}
