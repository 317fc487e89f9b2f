// Checkpoint/restore workload for seccomp (tests/cr/cr_seccomp.sh). Without arguments:
// - STRICT, a child forked first, enters strict mode (mode 1) and blocks in read() on a pipe;
// - the root installs filter A (uname -> EACCES, with SECCOMP_FILTER_FLAG_LOG) and K (below),
//   without no_new_privs (it has CAP_SYS_ADMIN);
// - its second thread adds filters B (getppid -> EPERM) and L (a 3001-instruction allow) for
//   itself only: chains [A,K] and [A,K,B,L];
// - CHILD, forked after them (inherits both), starts a thread and installs filter C with TSYNC
//   (getsid -> EDOM) on both, then both threads drop CAP_SYS_ADMIN from their effective set
//   (no no_new_privs either: the restore must install its filters while still privileged).
// Each case is checked once before "ready ROOT CHILD STRICT" and again on SIGUSR1: blocked
// syscalls fail with their errno, others work; CHILD re-raises CAP_SYS_ADMIN and a TSYNC
// filter must go in (its threads share their chain), while in the root (diverged chains) TSYNC
// must name the second thread; STRICT, woken through its pipe, answers and is SIGKILLed by its
// next getpid. Prints "verify ok" or "FAIL: ...".
// With the argument "notif": a filter returning SECCOMP_RET_USER_NOTIF (its listener fd closed
// again); "notif-listener": the same with the listener fd kept open. The dump must refuse
// both, and on SIGUSR1 the process still works.
// Usage: cr_seccomp [notif|notif-listener]
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t g_verify;
static void on_usr1(int sig) { (void)sig; g_verify = 1; }

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) { }
}

// A filter that answers `action` to syscall `nr` and allows everything else.
static long install(int nr, uint32_t action, unsigned flags)
{
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, action),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { sizeof code / sizeof code[0], code };
    return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

// Filter K: kills the process on getitimer or set_tid_address, two syscalls the workload never
// makes but cryo runs inside it (collecting itimers; re-registering clear_child_tid after the
// filters are in). Only PTRACE_O_SUSPEND_SECCOMP keeps cryo from killing the tree.
static long install_kill(void)
{
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getitimer, 1, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_set_tid_address, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { sizeof code / sizeof code[0], code };
    return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

// Filter L: 3000 no-op jumps, then allow: 24 KB of program, more than one page of arguments.
static long install_long(void)
{
    static struct sock_filter code[3001];
    for (int i = 0; i < 3000; ++i)
        code[i] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JA, 0, 0, 0);
    code[3000] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog prog = { 3001, code };
    return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

#define CAP_BIT(c) (1U << (c))
static int set_effective_sys_admin(int on)
{
    struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct d[2];
    memset(d, 0, sizeof d);
    if (syscall(SYS_capget, &h, d))
        return -1;
    if (on)
        d[0].effective |= CAP_BIT(CAP_SYS_ADMIN);
    else
        d[0].effective &= ~CAP_BIT(CAP_SYS_ADMIN);
    return (int)syscall(SYS_capset, &h, d);
}

// Expects syscall `nr` (no arguments but a utsname buffer) to fail with `err`, or to work
// when err is 0. Writes a message into `error` on a mismatch.
static int expect(char const* who, char const* name, long nr, int err, char* error, size_t n)
{
    struct utsname u;
    errno = 0;
    long r = nr == SYS_uname ? syscall(nr, &u) : syscall(nr, 0);
    int got = r < 0 ? errno : 0;
    if (got == err)
        return 1;
    snprintf(error, n, "%s: %s gave %ld errno %d (%s), expected errno %d", who, name, r, got, strerror(got), err);
    return 0;
}

// --- the root's second thread: chain [A, B] ---
static volatile int g_second_ready, g_second_go, g_second_ok = -1;
static char g_second_error[256];
static pid_t g_second_tid;

static int second_checks(void)
{
    return expect("root thread", "getppid", SYS_getppid, EPERM, g_second_error, sizeof g_second_error)
        && expect("root thread", "uname", SYS_uname, EACCES, g_second_error, sizeof g_second_error)
        && expect("root thread", "getpid", SYS_getpid, 0, g_second_error, sizeof g_second_error);
}

static void* second_main(void* arg)
{
    (void)arg;
    g_second_tid = (pid_t)syscall(SYS_gettid);
    if (install(SYS_getppid, SECCOMP_RET_ERRNO | EPERM, 0) || install_long()) {
        snprintf(g_second_error, sizeof g_second_error, "install B or L: %s", strerror(errno));
        g_second_ok = 0;
    } else {
        g_second_ok = second_checks();
    }
    g_second_ready = 1;
    while (!g_second_go)
        sleep_ms(10);
    g_second_ok = second_checks();
    g_second_ready = 2;
    return NULL;
}

// --- CHILD: chain [A, C] on both of its threads ---
static volatile int g_child_thread_phase;
static char g_child_error[256];

static int child_checks(char const* who)
{
    return expect(who, "getsid", SYS_getsid, EDOM, g_child_error, sizeof g_child_error)
        && expect(who, "uname", SYS_uname, EACCES, g_child_error, sizeof g_child_error)
        && expect(who, "getppid", SYS_getppid, 0, g_child_error, sizeof g_child_error);
}

static void* child_thread_main(void* arg)
{
    (void)arg;
    while (g_child_thread_phase != 1)
        sleep_ms(5);
    g_child_thread_phase = set_effective_sys_admin(0) == 0 ? 2 : -1;
    while (g_child_thread_phase != 3)
        sleep_ms(10);
    g_child_thread_phase = child_checks("child thread") ? 4 : -1;
    return NULL;
}

static int child_main(int report_fd)
{
    pthread_t t;
    pthread_create(&t, NULL, child_thread_main, NULL);
    sleep_ms(20);
    char ok = 1;
    if (install(SYS_getsid, SECCOMP_RET_ERRNO | EDOM, SECCOMP_FILTER_FLAG_TSYNC) != 0) {
        ok = 0;
        dprintf(report_fd, "install C with TSYNC: %s\n", strerror(errno));
    }
    g_child_thread_phase = 1;
    while (g_child_thread_phase == 1)
        sleep_ms(5);
    if (g_child_thread_phase != 2 || set_effective_sys_admin(0) != 0)
        ok = 0, dprintf(report_fd, "drop CAP_SYS_ADMIN failed\n");
    if (ok && !child_checks("child"))
        ok = 0, dprintf(report_fd, "%s\n", g_child_error);
    if (write(report_fd, &ok, 1) != 1)
        return 3;
    while (!g_verify)
        sleep_ms(20);
    if (!child_checks("child"))
        return dprintf(report_fd, "%s\n", g_child_error), 1;
    g_child_thread_phase = 3;
    while (g_child_thread_phase == 3)
        sleep_ms(5);
    if (g_child_thread_phase != 4)
        return dprintf(report_fd, "%s\n", g_child_error), 1;
    // Both threads still share one chain: a TSYNC filter (allow-all action on an unused
    // syscall) goes in for both.
    if (set_effective_sys_admin(1) != 0)
        return dprintf(report_fd, "raise CAP_SYS_ADMIN: %s\n", strerror(errno)), 1;
    long r = install(SYS_getcpu, SECCOMP_RET_ALLOW, SECCOMP_FILTER_FLAG_TSYNC);
    if (r != 0)
        return dprintf(report_fd, "child: TSYNC install after restore gave %ld (%s)\n", r, strerror(errno)), 1;
    return 0;
}

// --- STRICT: mode 1, woken through `in`, answers on `out`, then dies by its next syscall ---
static int strict_main(int in, int out)
{
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT))
        return 2;
    char c;
    while (syscall(SYS_read, in, &c, 1) != 1) { }
    c = 'k';
    syscall(SYS_write, out, &c, 1);
    syscall(SYS_getpid); // not allowed in strict mode: SIGKILL
    syscall(SYS_exit, 0);
    return 0;
}

static int notif_main(int keep_listener)
{
    struct sigaction sa = { 0 };
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    long listener = install(SYS_uname, SECCOMP_RET_USER_NOTIF, SECCOMP_FILTER_FLAG_NEW_LISTENER);
    if (listener < 0)
        return printf("FAIL: install a user-notif filter: %s\n", strerror(errno)), 1;
    if (!keep_listener)
        close((int)listener); // the filter stays, answering ENOSYS without a listener
    printf("ready %d\n", getpid());
    while (!g_verify)
        sleep_ms(20);
    char error[256] = "";
    if (!expect("notif", "getppid", SYS_getppid, 0, error, sizeof error))
        return printf("FAIL: %s\n", error), 1;
    printf("verify ok (still running with its user-notif filter)\n");
    return 0;
}

int main(int argc, char** argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1 && strncmp(argv[1], "notif", 5) == 0)
        return notif_main(strcmp(argv[1], "notif-listener") == 0);
    struct sigaction sa = { 0 };
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    char error[256] = "";

    int to_strict[2], from_strict[2], report[2];
    if (pipe(to_strict) || pipe(from_strict) || pipe(report))
        return perror("pipe"), 2;
    pid_t strict = fork();
    if (strict == 0)
        _exit(strict_main(to_strict[0], from_strict[1]));
    close(to_strict[0]);
    close(from_strict[1]);

    if (install(SYS_uname, SECCOMP_RET_ERRNO | EACCES, SECCOMP_FILTER_FLAG_LOG))
        return printf("FAIL: install A: %s\n", strerror(errno)), 1;
    if (install_kill())
        return printf("FAIL: install K: %s\n", strerror(errno)), 1;
    pthread_t second;
    pthread_create(&second, NULL, second_main, NULL);
    while (!g_second_ready)
        sleep_ms(5);
    if (g_second_ok != 1)
        return printf("FAIL: before dump: %s\n", g_second_error), 1;

    pid_t child = fork();
    if (child == 0) {
        close(report[0]);
        _exit(child_main(report[1]));
    }
    close(report[1]);
    char child_ok = 0;
    if (read(report[0], &child_ok, 1) != 1 || !child_ok)
        return printf("FAIL: child before dump\n"), 1;
    int ok = expect("root", "uname", SYS_uname, EACCES, error, sizeof error)
        && expect("root", "getppid", SYS_getppid, 0, error, sizeof error);
    long r = install(SYS_getcpu, SECCOMP_RET_ALLOW, SECCOMP_FILTER_FLAG_TSYNC);
    if (ok && r != g_second_tid)
        ok = 0, snprintf(error, sizeof error, "root: TSYNC gave %ld, expected thread %d", r, g_second_tid);
    if (!ok)
        return printf("FAIL: before dump: %s\n", error), 1;

    printf("ready %d %d %d\n", getpid(), child, strict);
    while (!g_verify)
        sleep_ms(20);

    ok = expect("root", "uname", SYS_uname, EACCES, error, sizeof error)
        && expect("root", "getppid", SYS_getppid, 0, error, sizeof error)
        && expect("root", "getpid", SYS_getpid, 0, error, sizeof error);
    // The threads' chains diverged ([A] and [A,B]): TSYNC still names the second thread.
    r = install(SYS_getcpu, SECCOMP_RET_ALLOW, SECCOMP_FILTER_FLAG_TSYNC);
    if (ok && r != g_second_tid)
        ok = 0, snprintf(error, sizeof error, "root: TSYNC gave %ld, expected thread %d", r, g_second_tid);
    // K still kills: a fork that calls getitimer dies of SIGSYS (SECCOMP_RET_KILL_PROCESS).
    pid_t victim = fork();
    if (victim == 0) {
        struct itimerval v;
        syscall(SYS_getitimer, ITIMER_REAL, &v);
        _exit(0);
    }
    int vstatus = 0;
    if (ok && (waitpid(victim, &vstatus, 0) != victim || !WIFSIGNALED(vstatus) || WTERMSIG(vstatus) != SIGSYS))
        ok = 0, snprintf(error, sizeof error, "root: getitimer under K: wait status %#x, expected SIGSYS", vstatus);
    g_second_go = 1;
    pthread_join(second, NULL);
    if (ok && g_second_ok != 1)
        ok = 0, snprintf(error, sizeof error, "%s", g_second_error);

    int status = 0;
    kill(child, SIGUSR1);
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char why[200] = "";
        ssize_t n = read(report[0], why, sizeof why - 1);
        why[n > 0 ? n : 0] = 0;
        if (ok)
            ok = 0, snprintf(error, sizeof error, "child: wait status %#x: %s", status, why);
    }

    char c = 'x';
    if (write(to_strict[1], &c, 1) != 1 || read(from_strict[0], &c, 1) != 1 || c != 'k')
        ok = ok ? (snprintf(error, sizeof error, "strict child did not answer"), 0) : 0;
    if (waitpid(strict, &status, 0) != strict || !WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
        ok = ok ? (snprintf(error, sizeof error, "strict child: wait status %#x (expected SIGKILL)", status), 0) : 0;
    if (ok) {
        printf("verify ok\n");
        return 0;
    }
    printf("FAIL: %s\n", error);
    return 1;
}
