// Checkpoint/restore workload for timers. Interval timers: ITIMER_REAL every 20 ms (counted by
// its SIGALRM handler), ITIMER_VIRTUAL (100 s, interval 7 s) and ITIMER_PROF (200 s, once).
// POSIX timers with sparse ids (some created and deleted first): a periodic CLOCK_MONOTONIC
// one signalling the process with a value, a one-shot CLOCK_REALTIME one aimed at the worker
// thread (SIGEV_THREAD_ID), and an armed SIGEV_NONE one. Prints "ready PID" once set up, then
// beats; on SIGUSR1 it checks that the same timer ids exist with the same settings, that the
// periodic timers still fire, and prints "verify ok" or "FAIL: ..." (exit 0 or 1).
// Usage: cr_timers BEATFILE
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t g_verify;
static volatile sig_atomic_t g_alarms;
static volatile sig_atomic_t g_ticks;
static volatile sig_atomic_t g_bad_value;
static volatile sig_atomic_t g_worker_hits;
static pid_t g_worker_tid;
static volatile int g_stop_worker;

static void on_usr1(int sig) { (void)sig; g_verify = 1; }
static void on_alarm(int sig) { (void)sig; g_alarms++; }
static void on_tick(int sig, siginfo_t* info, void* ctx)
{
    (void)sig;
    (void)ctx;
    if (info->si_code != SI_TIMER || info->si_value.sival_int != 0x1234)
        g_bad_value = 1;
    g_ticks++;
}
static void on_worker(int sig, siginfo_t* info, void* ctx)
{
    (void)sig;
    (void)ctx;
    if ((pid_t)syscall(SYS_gettid) == g_worker_tid && info->si_value.sival_int == 0x5678)
        g_worker_hits++;
}

static void* worker(void* arg)
{
    (void)arg;
    g_worker_tid = (pid_t)syscall(SYS_gettid);
    while (!g_stop_worker) {
        struct timespec ts = { 0, 5 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static timer_t create(clockid_t clock, int notify, int signo, int value, pid_t tid)
{
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = notify;
    ev.sigev_signo = signo;
    ev.sigev_value.sival_int = value;
    ev._sigev_un._tid = tid;
    timer_t t;
    if (timer_create(clock, &ev, &t) != 0)
        perror("timer_create"), exit(2);
    return t;
}

static void arm(timer_t t, long value_ms, long interval_ms)
{
    struct itimerspec spec = { { interval_ms / 1000, (interval_ms % 1000) * 1000000 },
        { value_ms / 1000, (value_ms % 1000) * 1000000 } };
    if (timer_settime(t, 0, &spec, NULL) != 0)
        perror("timer_settime"), exit(2);
}

static long ms_of(struct timespec ts) { return ts.tv_sec * 1000 + ts.tv_nsec / 1000000; }
static long ms_of_tv(struct timeval tv) { return tv.tv_sec * 1000 + tv.tv_usec / 1000; }

static void burn_cpu(int ms)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do
        clock_gettime(CLOCK_MONOTONIC, &now);
    while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 < ms);
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) { }
}

int main(int argc, char** argv)
{
    if (argc != 2)
        return fprintf(stderr, "usage: cr_timers BEATFILE\n"), 2;
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa = { 0 };
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    sa.sa_handler = SIG_IGN; // ITIMER_VIRTUAL/PROF never expire here, but be safe
    sigaction(SIGVTALRM, &sa, NULL);
    sigaction(SIGPROF, &sa, NULL);
    sa.sa_sigaction = on_tick;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGRTMIN + 3, &sa, NULL);
    sa.sa_sigaction = on_worker;
    sigaction(SIGRTMIN + 4, &sa, NULL);

    pthread_t thread;
    pthread_create(&thread, NULL, worker, NULL);
    while (!g_worker_tid)
        sleep_ms(1);

    struct itimerval real = { { 0, 20000 }, { 0, 20000 } };
    struct itimerval virt = { { 7, 0 }, { 100, 0 } };
    struct itimerval prof = { { 0, 0 }, { 200, 0 } };
    setitimer(ITIMER_REAL, &real, NULL);
    setitimer(ITIMER_VIRTUAL, &virt, NULL);
    setitimer(ITIMER_PROF, &prof, NULL);

    // Sparse ids: create five, keep the 3rd and 5th, add a sixth.
    timer_t all[5];
    for (int i = 0; i < 5; ++i)
        all[i] = create(CLOCK_MONOTONIC, SIGEV_NONE, 0, 0, 0);
    timer_delete(all[0]);
    timer_delete(all[1]);
    timer_delete(all[3]);
    timer_delete(all[2]);
    timer_delete(all[4]);
    timer_t tick = create(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGRTMIN + 3, 0x1234, 0);
    timer_t dummy = create(CLOCK_MONOTONIC, SIGEV_NONE, 0, 0, 0);
    timer_t aimed = create(CLOCK_REALTIME, SIGEV_THREAD_ID, SIGRTMIN + 4, 0x5678, g_worker_tid);
    timer_t quiet = create(CLOCK_BOOTTIME, SIGEV_NONE, 0, 0, 0);
    timer_delete(dummy);
    arm(tick, 10, 10);
    arm(aimed, 100000, 0);
    arm(quiet, 50000, 3000);
    burn_cpu(30);

    printf("ready %d\n", getpid());
    FILE* beat = fopen(argv[1], "a");
    while (!g_verify) {
        if (beat) {
            fprintf(beat, "beat\n");
            fflush(beat);
        }
        sleep_ms(20);
    }

    char error[256] = "";
    int ok = 1;
    int alarms = g_alarms, ticks = g_ticks;
    sleep_ms(200);
    burn_cpu(20);
    if (g_alarms < alarms + 3)
        ok = 0, snprintf(error, sizeof error, "ITIMER_REAL does not fire any more (%d -> %d)", alarms, (int)g_alarms);
    if (ok && g_ticks < ticks + 5)
        ok = 0, snprintf(error, sizeof error, "POSIX timer %ld does not fire any more (%d -> %d)", (long)(intptr_t)tick,
            ticks, (int)g_ticks);
    if (ok && g_bad_value)
        ok = 0, snprintf(error, sizeof error, "POSIX timer signal with a wrong si_code or value");
    struct itimerval v;
    getitimer(ITIMER_REAL, &v);
    if (ok && ms_of_tv(v.it_interval) != 20)
        ok = 0, snprintf(error, sizeof error, "ITIMER_REAL interval %ld ms", ms_of_tv(v.it_interval));
    getitimer(ITIMER_VIRTUAL, &v);
    if (ok && (ms_of_tv(v.it_interval) != 7000 || ms_of_tv(v.it_value) > 100000 || ms_of_tv(v.it_value) < 99000))
        ok = 0, snprintf(error, sizeof error, "ITIMER_VIRTUAL %ld/%ld ms", ms_of_tv(v.it_value), ms_of_tv(v.it_interval));
    getitimer(ITIMER_PROF, &v);
    if (ok && (ms_of_tv(v.it_interval) != 0 || ms_of_tv(v.it_value) > 200000 || ms_of_tv(v.it_value) < 199000))
        ok = 0, snprintf(error, sizeof error, "ITIMER_PROF %ld/%ld ms", ms_of_tv(v.it_value), ms_of_tv(v.it_interval));

    struct itimerspec spec;
    if (ok && (timer_gettime(tick, &spec) != 0 || ms_of(spec.it_interval) != 10))
        ok = 0, snprintf(error, sizeof error, "tick timer: %s, interval %ld", strerror(errno), ms_of(spec.it_interval));
    if (ok && (timer_gettime(aimed, &spec) != 0 || ms_of(spec.it_value) > 100000 || ms_of(spec.it_value) < 90000))
        ok = 0, snprintf(error, sizeof error, "aimed timer: %s, value %ld", strerror(errno), ms_of(spec.it_value));
    if (ok && (timer_gettime(quiet, &spec) != 0 || ms_of(spec.it_interval) != 3000 || ms_of(spec.it_value) > 50000
            || ms_of(spec.it_value) < 40000))
        ok = 0, snprintf(error, sizeof error, "quiet timer: %s, %ld/%ld", strerror(errno), ms_of(spec.it_value),
            ms_of(spec.it_interval));
    // The deleted ids stay free.
    if (ok && (timer_gettime(all[0], &spec) == 0 || timer_gettime(all[3], &spec) == 0 || timer_gettime(dummy, &spec) == 0))
        ok = 0, snprintf(error, sizeof error, "a deleted timer id exists after restore");
    // The aimed timer still goes to the worker thread: fire it now.
    arm(aimed, 1, 0);
    sleep_ms(50);
    if (ok && g_worker_hits != 1)
        ok = 0, snprintf(error, sizeof error, "thread-directed timer hit the worker %d times", (int)g_worker_hits);
    g_stop_worker = 1;
    pthread_join(thread, NULL);
    if (ok) {
        printf("verify ok (timers %ld %ld %ld; %d alarms, %d ticks)\n", (long)(intptr_t)tick, (long)(intptr_t)aimed,
            (long)(intptr_t)quiet, (int)g_alarms, (int)g_ticks);
        return 0;
    }
    printf("FAIL: %s\n", error);
    return 1;
}
