// Workload of tests/cr/cr_robust.sh: robust mutexes (PTHREAD_MUTEX_ROBUST) held across a
// checkpoint. glibc registers every thread's robust list with the kernel (set_robust_list) at
// thread start, and the kernel walks it when the thread exits, marking each mutex still held
// FUTEX_OWNER_DIED and waking a waiter; pthread_join waits on the word the kernel clears at
// exit (set_tid_address). Both registrations live only in the kernel: a restore must make them
// again for every thread, the leader included.
// Threads (index: role):
//   0 main (the leader)  holds M0; at the end exits (pthread_exit) still holding it.
//   1 holder             holds M1; exits without unlocking when told.
//   2 holder             holds M2; exits without unlocking when told.
//   3 waiter             blocked in pthread_mutex_lock(M1) across the checkpoint.
//   4 closer             joins the leader after it exited, then locks M0.
// And a child process (forked before the threads) that holds MS, a process-shared robust
// mutex in a MAP_SHARED page, and records its own registrations there too.
// Each thread records its get_robust_list(2) head and length and its prctl PR_GET_TID_ADDRESS
// before "ready", and again after SIGUSR1; they must be equal (and the head not NULL).
// After SIGUSR1, every wait is bounded so a missing registration gives a verdict, not a hang:
//   holder 1 exits -> pthread_join of it returns; the waiter's lock returns EOWNERDEAD,
//     pthread_mutex_consistent works, unlock;
//   holder 2 exits -> pthread_join returns; main's timed lock of M2 returns EOWNERDEAD,
//     consistent, unlock, lock again (0);
//   the child process exits holding MS -> waitpid returns, the leader's timed lock of MS
//     returns EOWNERDEAD, consistent, unlock, lock again;
//   the leader exits holding M0 -> the closer's pthread_join of the leader returns, its timed
//     lock of M0 returns EOWNERDEAD, consistent, unlock, lock again.
// Prints "ready PID CHILD_PID", then "thread I TID robust HEAD LEN tid_address ADDR" per
// thread (the recorded values before the checkpoint; the child's as thread 5), then "verify ok ..." or "verify FAIL: ..." and
// exits 0 or 1 (from the closer).
// Usage: cr_robust
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { kMain, kHolder1, kHolder2, kWaiter, kCloser, kThreads };

struct record {
    uint64_t head, len, tid_address;
};
struct thread_info {
    pid_t tid;
    struct record before, after;
    int cmd[2]; // commands to the thread
};

static struct thread_info g_threads[kThreads + 1]; // + the child process's (in g_shared)
// One MAP_SHARED page: the process-shared robust mutex and what the child records.
struct shared {
    pthread_mutex_t mutex;
    struct record before, after;
    pid_t pid;
};
static struct shared* g_shared;
static int g_child_cmd[2], g_child_ack[2];
static pthread_t g_handles[kThreads];
static pthread_mutex_t g_mutex[3]; // M0 M1 M2, robust
static int g_ack[2]; // every thread's replies
static char g_failures[4096];
static int volatile g_waiter_result = -1, g_waiter_consistent = -1;

static void failed(char const* format, ...)
{
    va_list ap;
    size_t used = strlen(g_failures);
    va_start(ap, format);
    vsnprintf(g_failures + used, sizeof g_failures - used, format, ap);
    va_end(ap);
    used = strlen(g_failures);
    if (used + 2 < sizeof g_failures)
        strcat(g_failures, "; ");
}

static void record(struct record* r)
{
    void* head = NULL;
    size_t len = 0;
    unsigned long address = 0;
    if (syscall(SYS_get_robust_list, 0, &head, &len) != 0)
        failed("get_robust_list: %s", strerror(errno));
    if (prctl(PR_GET_TID_ADDRESS, &address) != 0)
        failed("PR_GET_TID_ADDRESS: %s", strerror(errno));
    r->head = (uint64_t)(uintptr_t)head;
    r->len = len;
    r->tid_address = address;
}

static void reply(void)
{
    char c = 'a';
    if (write(g_ack[1], &c, 1) != 1)
        abort();
}

// Waits for one reply for up to ms milliseconds; 0 on time.
static int await_reply(int ms)
{
    struct pollfd p = { .fd = g_ack[0], .events = POLLIN };
    char c;
    if (poll(&p, 1, ms) != 1 || read(g_ack[0], &c, 1) != 1)
        return -1;
    return 0;
}

static void command(int i, char c)
{
    if (write(g_threads[i].cmd[1], &c, 1) != 1)
        abort();
}

static char next_command(int i)
{
    char c = 0;
    while (read(g_threads[i].cmd[0], &c, 1) != 1)
        if (errno != EINTR)
            abort();
    return c;
}

static struct timespec in_ms(long ms)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L)
        t.tv_sec += 1, t.tv_nsec -= 1000000000L;
    return t;
}

// A robust mutex whose owner died: EOWNERDEAD, made consistent, unlocked, locked again.
static void take_over(char const* what, pthread_mutex_t* m)
{
    struct timespec deadline = in_ms(3000);
    int r = pthread_mutex_timedlock(m, &deadline);
    if (r != EOWNERDEAD) {
        failed("%s: lock after its owner died: %s, expected EOWNERDEAD", what, strerror(r));
        if (r == 0)
            pthread_mutex_unlock(m);
        return;
    }
    if ((r = pthread_mutex_consistent(m)) != 0)
        failed("%s: pthread_mutex_consistent: %s", what, strerror(r));
    if ((r = pthread_mutex_unlock(m)) != 0)
        failed("%s: unlock: %s", what, strerror(r));
    deadline = in_ms(1000);
    if ((r = pthread_mutex_timedlock(m, &deadline)) != 0)
        failed("%s: lock again: %s", what, strerror(r));
    else
        pthread_mutex_unlock(m);
}

static void join(char const* what, int i)
{
    struct timespec deadline = in_ms(3000);
    int r = pthread_timedjoin_np(g_handles[i], NULL, &deadline);
    if (r != 0)
        failed("pthread_join of %s (thread %d): %s", what, g_threads[i].tid, strerror(r));
}

static void compare(int i)
{
    struct thread_info const* t = &g_threads[i];
    if (t->before.head == 0 || t->before.len == 0)
        failed("thread %d had no robust list before the checkpoint", t->tid);
    if (t->after.head != t->before.head || t->after.len != t->before.len)
        failed("thread %d: robust list %#lx len %lu, before %#lx len %lu", t->tid, (unsigned long)t->after.head,
               (unsigned long)t->after.len, (unsigned long)t->before.head, (unsigned long)t->before.len);
    if (t->after.tid_address != t->before.tid_address)
        failed("thread %d: tid address %#lx, before %#lx", t->tid, (unsigned long)t->after.tid_address,
               (unsigned long)t->before.tid_address);
}

static void* holder(void* arg)
{
    int i = (int)(intptr_t)arg;
    struct thread_info* t = &g_threads[i];
    t->tid = gettid();
    int r = pthread_mutex_lock(&g_mutex[i]);
    if (r != 0)
        failed("holder %d: lock: %s", i, strerror(r));
    record(&t->before);
    reply();
    for (;;) {
        char c = next_command(i);
        if (c == 'c') {
            record(&t->after);
            reply();
        } else if (c == 'x') {
            pthread_exit(NULL); // still holding its mutex: the kernel must mark it
        }
    }
}

static void* waiter(void* arg)
{
    (void)arg;
    struct thread_info* t = &g_threads[kWaiter];
    t->tid = gettid();
    record(&t->before);
    int r = pthread_mutex_lock(&g_mutex[1]); // held by holder 1 until after the checkpoint
    record(&t->after);
    g_waiter_result = r;
    if (r == EOWNERDEAD) {
        g_waiter_consistent = pthread_mutex_consistent(&g_mutex[1]);
        pthread_mutex_unlock(&g_mutex[1]);
    } else if (r == 0) {
        pthread_mutex_unlock(&g_mutex[1]);
    }
    reply();
    return NULL;
}

static void* closer(void* arg)
{
    (void)arg;
    struct thread_info* t = &g_threads[kCloser];
    t->tid = gettid();
    record(&t->before);
    reply();
    for (;;) {
        char c = next_command(kCloser);
        if (c == 'c') {
            record(&t->after);
            reply();
        } else if (c == 'f') {
            break;
        }
    }
    // The leader exited holding M0: its clear_child_tid ends the join, its robust list marks M0.
    join("the leader", kMain);
    take_over("M0 (held by the leader)", &g_mutex[0]);
    if (g_failures[0]) {
        printf("verify FAIL: %s\n", g_failures);
        exit(1);
    }
    printf("verify ok: robust lists and tid addresses as before for %d threads and a child process; EOWNERDEAD "
           "after the exit of 2 holders, the child process and the leader; joins returned\n",
           kThreads);
    exit(0);
}

// The child process: holds MS until told to exit (with it held) or to record again.
static void child(void)
{
    g_shared->pid = getpid();
    if (pthread_mutex_lock(&g_shared->mutex) != 0)
        _exit(3);
    record(&g_shared->before);
    char c = 'a';
    if (write(g_child_ack[1], &c, 1) != 1)
        _exit(3);
    for (;;) {
        if (read(g_child_cmd[0], &c, 1) != 1) {
            if (errno == EINTR)
                continue;
            _exit(3);
        }
        if (c == 'c') {
            record(&g_shared->after);
            if (write(g_child_ack[1], &c, 1) != 1)
                _exit(3);
        } else if (c == 'x') {
            _exit(0); // still holding MS: the kernel must mark it
        }
    }
}

static int child_reply(int ms)
{
    struct pollfd p = { .fd = g_child_ack[0], .events = POLLIN };
    char c;
    return poll(&p, 1, ms) == 1 && read(g_child_ack[0], &c, 1) == 1 ? 0 : -1;
}

// The child's turn after the checkpoint: its registrations as before, then it exits holding MS.
static void child_exits(pid_t pid)
{
    char c = 'c';
    if (write(g_child_cmd[1], &c, 1) != 1 || child_reply(3000) != 0) {
        failed("the child process %d does not answer", pid);
    } else {
        g_threads[kThreads].before = g_shared->before;
        g_threads[kThreads].after = g_shared->after;
        compare(kThreads);
    }
    c = 'x';
    if (write(g_child_cmd[1], &c, 1) != 1)
        failed("command the child: %s", strerror(errno));
    int status = 0, tries = 0;
    pid_t r;
    while ((r = waitpid(pid, &status, WNOHANG)) == 0 && tries++ < 3000)
        usleep(1000);
    if (r != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        failed("the child process %d did not exit with 0 (waitpid %d, status %#x)", pid, (int)r, status);
    take_over("MS (held by the child process)", &g_shared->mutex);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, NULL); // inherited by every thread: main takes it
    if (pipe2(g_ack, O_CLOEXEC) != 0)
        return perror("pipe"), 1;
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    for (int i = 0; i < 3; ++i)
        pthread_mutex_init(&g_mutex[i], &attr);
    g_shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (g_shared == MAP_FAILED)
        return perror("mmap"), 1;
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&g_shared->mutex, &attr);
    if (pipe2(g_child_cmd, O_CLOEXEC) != 0 || pipe2(g_child_ack, O_CLOEXEC) != 0)
        return perror("pipe"), 1;
    pid_t child_pid = fork();
    if (child_pid < 0)
        return perror("fork"), 1;
    if (child_pid == 0)
        child();
    if (child_reply(5000) != 0)
        return fprintf(stderr, "the child process did not start\n"), 1;
    g_threads[kThreads].tid = child_pid;
    g_threads[kThreads].before = g_shared->before;

    struct thread_info* self = &g_threads[kMain];
    self->tid = gettid();
    g_handles[kMain] = pthread_self();
    pthread_mutex_lock(&g_mutex[0]);
    record(&self->before);

    void* (*bodies[kThreads])(void*) = { NULL, holder, holder, waiter, closer };
    for (int i = kHolder1; i < kThreads; ++i) {
        if (pipe2(g_threads[i].cmd, O_CLOEXEC) != 0)
            return perror("pipe"), 1;
        if (i == kWaiter)
            continue; // once holder 1 holds M1
        if (pthread_create(&g_handles[i], NULL, bodies[i], (void*)(intptr_t)i) != 0 || await_reply(5000) != 0)
            return fprintf(stderr, "thread %d did not start\n", i), 1;
    }
    if (pthread_create(&g_handles[kWaiter], NULL, waiter, NULL) != 0)
        return perror("pthread_create"), 1;
    // Ready once the waiter sleeps in the kernel on M1 (glibc set FUTEX_WAITERS in its word).
    for (int tries = 0; !(__atomic_load_n(&g_mutex[1].__data.__lock, __ATOMIC_ACQUIRE) & FUTEX_WAITERS); ++tries) {
        if (tries > 5000)
            return fprintf(stderr, "the waiter never blocked on M1\n"), 1;
        usleep(1000);
    }
    usleep(100000);
    printf("ready %d %d\n", getpid(), child_pid);
    for (int i = 0; i <= kThreads; ++i)
        printf("thread %d %d robust %#lx %lu tid_address %#lx\n", i, g_threads[i].tid,
               (unsigned long)g_threads[i].before.head, (unsigned long)g_threads[i].before.len,
               (unsigned long)g_threads[i].before.tid_address);

    int sig = 0;
    while (sigwait(&usr1, &sig) != 0 || sig != SIGUSR1)
        ;
    record(&self->after);
    for (int i = kHolder1; i < kThreads; ++i) {
        if (i == kWaiter)
            continue;
        command(i, 'c');
        if (await_reply(3000) != 0)
            failed("thread %d does not answer", g_threads[i].tid);
    }

    // Holder 1 dies holding M1: the kernel marks it and wakes the waiter.
    command(kHolder1, 'x');
    join("holder 1", kHolder1);
    if (await_reply(3000) != 0) {
        failed("the waiter on M1 is still blocked 3 s after its owner died");
    } else {
        join("the waiter", kWaiter);
        if (g_waiter_result != EOWNERDEAD)
            failed("the waiter's lock of M1 returned %s, expected EOWNERDEAD",
                   g_waiter_result < 0 ? "nothing" : strerror(g_waiter_result));
        else if (g_waiter_consistent != 0)
            failed("the waiter's pthread_mutex_consistent: %s", strerror(g_waiter_consistent));
        compare(kWaiter);
    }
    // Holder 2 dies holding M2; nobody waited: the next locker must get EOWNERDEAD.
    command(kHolder2, 'x');
    join("holder 2", kHolder2);
    take_over("M2 (held by holder 2)", &g_mutex[2]);
    child_exits(child_pid);

    for (int i = 0; i < kThreads; ++i)
        if (i != kWaiter)
            compare(i);
    command(kCloser, 'f');
    pthread_exit(NULL); // holding M0: the closer takes over
}
