// Checkpoint/restore workload for process attributes. The root sets its personality, umask,
// name, nice 7, a worker thread with SCHED_BATCH, nice 12 and its own name, a smaller bounding
// set, reduced permitted/effective sets, inheritable + ambient CAP_NET_BIND_SERVICE,
// no_new_privs, dumpable 0 and child subreaper; then forks a child that becomes uid/gid 1000
// keeping CAP_NET_BIND_SERVICE and CAP_KILL (PR_SET_KEEPCAPS), with a parent-death signal and
// nice 9. With the argument "zombie" the root also forks a child that exits at once with status
// 42 and is left unreaped. Prints "ready ROOT CHILD [ZOMBIE]" once set up; on SIGUSR1 the root
// checks itself, has the child check itself (SIGUSR1, exit status), reaps the zombie (42) and
// prints "verify ok" or "FAIL: ...". Usage: cr_attrs BEATFILE [zombie]
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t g_verify;
static volatile int g_worker_go;
static volatile int g_worker_ok = -1;
static char g_worker_error[200];
static pid_t g_worker_tid;

static void on_usr1(int sig) { (void)sig; g_verify = 1; }

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) { }
}

#define BIT(c) (1ULL << (c))

struct caps {
    uint64_t eff, prm, inh;
};

static struct caps get_caps(void)
{
    struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct d[2];
    memset(d, 0, sizeof d);
    syscall(SYS_capget, &h, d);
    struct caps c = { d[0].effective | (uint64_t)d[1].effective << 32, d[0].permitted | (uint64_t)d[1].permitted << 32,
        d[0].inheritable | (uint64_t)d[1].inheritable << 32 };
    return c;
}

static int set_caps(struct caps c)
{
    struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct d[2] = { { (uint32_t)c.eff, (uint32_t)c.prm, (uint32_t)c.inh },
        { (uint32_t)(c.eff >> 32), (uint32_t)(c.prm >> 32), (uint32_t)(c.inh >> 32) } };
    return (int)syscall(SYS_capset, &h, d);
}

static void name_of(char* out, size_t n)
{
    memset(out, 0, n);
    prctl(PR_GET_NAME, out);
}

static int policy_of(pid_t tid, int* nice)
{
    errno = 0;
    *nice = getpriority(PRIO_PROCESS, (id_t)tid);
    return sched_getscheduler(tid);
}

static void* worker(void* arg)
{
    (void)arg;
    g_worker_tid = (pid_t)syscall(SYS_gettid);
    prctl(PR_SET_NAME, "attrs-worker");
    struct sched_param sp = { 0 };
    if (sched_setscheduler(0, SCHED_BATCH, &sp) != 0 || setpriority(PRIO_PROCESS, (id_t)g_worker_tid, 12) != 0)
        perror("worker sched"), exit(2);
    while (!g_worker_go)
        sleep_ms(5);
    char name[32];
    name_of(name, sizeof name);
    int nice = 0;
    int policy = policy_of(0, &nice);
    int ok = strcmp(name, "attrs-worker") == 0 && policy == SCHED_BATCH && nice == 12;
    snprintf(g_worker_error, sizeof g_worker_error, "worker: name %s policy %d nice %d", name, policy, nice);
    g_worker_ok = ok;
    return NULL;
}

static uint64_t const kChildCaps = BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_KILL);

static int child_main(void)
{
    prctl(PR_SET_NAME, "attrs-child");
    struct sigaction sa = { 0 };
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    gid_t groups[] = { 1001, 1002 };
    if (prctl(PR_SET_KEEPCAPS, 1) || setgroups(2, groups) || setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000))
        return perror("child: setuid"), 3;
    struct caps c = { kChildCaps, kChildCaps, 0 };
    if (set_caps(c) || prctl(PR_SET_KEEPCAPS, 0) || prctl(PR_SET_PDEATHSIG, SIGUSR2) || setpriority(PRIO_PROCESS, 0, 9))
        return perror("child: caps"), 3;
    while (!g_verify)
        sleep_ms(10);
    char name[32];
    name_of(name, sizeof name);
    c = get_caps();
    int sig = 0, nice = 0;
    prctl(PR_GET_PDEATHSIG, &sig);
    policy_of(0, &nice);
    uid_t r, e, s;
    getresuid(&r, &e, &s);
    gid_t list[8];
    int ngroups = getgroups(8, list);
    if (strcmp(name, "attrs-child") || c.eff != kChildCaps || c.prm != kChildCaps || c.inh != 0 || sig != SIGUSR2
        || nice != 9 || r != 1000 || e != 1000 || s != 1000 || ngroups != 2 || list[0] != 1001
        || prctl(PR_GET_KEEPCAPS) != 0 || prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 0) {
        printf("FAIL: child: name %s caps %llx/%llx/%llx pdeathsig %d nice %d uid %d/%d/%d groups %d keepcaps %d\n",
            name, (unsigned long long)c.eff, (unsigned long long)c.prm, (unsigned long long)c.inh, sig, nice, r, e, s,
            ngroups, prctl(PR_GET_KEEPCAPS));
        return 1;
    }
    return 0;
}

int main(int argc, char** argv)
{
    if (argc < 2)
        return fprintf(stderr, "usage: cr_attrs BEATFILE [zombie]\n"), 2;
    int with_zombie = argc > 2 && strcmp(argv[2], "zombie") == 0;
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa = { 0 };
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);

    if (personality(ADDR_NO_RANDOMIZE | READ_IMPLIES_EXEC) < 0)
        return perror("personality"), 2;
    umask(027);
    prctl(PR_SET_NAME, "attrs-root");
    if (setpriority(PRIO_PROCESS, 0, 7) != 0)
        return perror("nice"), 2;
    pthread_t thread;
    pthread_create(&thread, NULL, worker, NULL);
    while (!g_worker_tid)
        sleep_ms(1);
    sleep_ms(20);

    // The child first (it needs CAP_SETUID etc.), then the root's own capability changes.
    int child = fork();
    if (child == 0)
        _exit(child_main());
    int zombie = 0;
    if (with_zombie) {
        zombie = fork();
        if (zombie == 0)
            _exit(42);
    }
    if (prctl(PR_CAPBSET_DROP, CAP_MKNOD) || prctl(PR_CAPBSET_DROP, CAP_SYS_RAWIO))
        return perror("capbset drop"), 2;
    struct caps c = get_caps();
    c.prm &= ~(BIT(CAP_NET_RAW) | BIT(CAP_MKNOD));
    c.eff = c.prm & ~BIT(CAP_SYS_BOOT);
    c.inh = BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_CHOWN);
    if (set_caps(c) || prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0))
        return perror("capset"), 2;
    struct caps wanted = get_caps();
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_DUMPABLE, 0) || prctl(PR_SET_CHILD_SUBREAPER, 1))
        return perror("prctl"), 2;
    sleep_ms(50); // the child is set up

    if (with_zombie)
        printf("ready %d %d %d\n", getpid(), child, zombie);
    else
        printf("ready %d %d\n", getpid(), child);
    FILE* beat = fopen(argv[1], "a");
    while (!g_verify) {
        if (beat) {
            fprintf(beat, "beat\n");
            fflush(beat);
        }
        sleep_ms(20);
    }

    char error[300] = "";
    int ok = 1;
    int pers = personality(0xffffffff);
    mode_t mask = umask(0);
    umask(mask);
    char name[32];
    name_of(name, sizeof name);
    int nice = 0;
    int policy = policy_of(0, &nice);
    c = get_caps();
    int subreaper = 0;
    prctl(PR_GET_CHILD_SUBREAPER, &subreaper);
    if (pers != (ADDR_NO_RANDOMIZE | READ_IMPLIES_EXEC) || mask != 027 || strcmp(name, "attrs-root") || policy != SCHED_OTHER
        || nice != 7)
        ok = 0, snprintf(error, sizeof error, "root: personality %#x umask %o name %s policy %d nice %d", pers, mask, name,
            policy, nice);
    if (ok && (c.eff != wanted.eff || c.prm != wanted.prm || c.inh != wanted.inh))
        ok = 0, snprintf(error, sizeof error, "root: caps %llx/%llx/%llx, expected %llx/%llx/%llx",
            (unsigned long long)c.eff, (unsigned long long)c.prm, (unsigned long long)c.inh,
            (unsigned long long)wanted.eff, (unsigned long long)wanted.prm, (unsigned long long)wanted.inh);
    if (ok && (prctl(PR_CAPBSET_READ, CAP_MKNOD) != 0 || prctl(PR_CAPBSET_READ, CAP_SYS_RAWIO) != 0
            || prctl(PR_CAPBSET_READ, CAP_CHOWN) != 1))
        ok = 0, snprintf(error, sizeof error, "root: bounding set differs");
    if (ok && (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_BIND_SERVICE, 0, 0) != 1
            || prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_CHOWN, 0, 0) != 0))
        ok = 0, snprintf(error, sizeof error, "root: ambient set differs");
    if (ok && (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1 || prctl(PR_GET_DUMPABLE) != 0 || subreaper != 1))
        ok = 0, snprintf(error, sizeof error, "root: no_new_privs %d dumpable %d subreaper %d",
            prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), prctl(PR_GET_DUMPABLE), subreaper);
    g_worker_go = 1;
    pthread_join(thread, NULL);
    if (ok && g_worker_ok != 1)
        ok = 0, snprintf(error, sizeof error, "%s", g_worker_error);
    int status = 0;
    if (with_zombie) {
        // Still a zombie: reapable at once, with its status.
        if (waitpid(zombie, &status, WNOHANG) != zombie || !WIFEXITED(status) || WEXITSTATUS(status) != 42)
            ok = ok ? (snprintf(error, sizeof error, "zombie %d: wait status %#x", zombie, status), 0) : 0;
    }
    kill(child, SIGUSR1);
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        ok = ok ? (snprintf(error, sizeof error, "child: wait status %#x", status), 0) : 0;
    if (ok) {
        printf("verify ok\n");
        return 0;
    }
    printf("FAIL: %s\n", error);
    return 1;
}
