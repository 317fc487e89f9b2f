// Checkpoint/restore workload for file locks. The root takes an flock on A (its child inherits
// the description, so both hold it), POSIX write and read locks on two ranges of B, an OFD read
// lock on C; the child takes a POSIX lock on the first bytes of D. Prints "ready ROOT CHILD".
// On SIGUSR1 the root forks a checker that must find every lock held by the right owner
// (flock: EWOULDBLOCK on a new description; F_GETLK: the owner pid; F_OFD_GETLK: a conflict),
// then releases the child and prints "verify ok" or "FAIL: ..." (exit 0 or 1).
// Usage: cr_locks DIR
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t g_verify;
static void on_usr1(int sig) { (void)sig; g_verify = 1; }
static char const* g_dir;

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) { }
}

static int open_file(char const* name, int flags)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    int fd = open(path, flags | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        perror(path), exit(2);
    return fd;
}

static int set_lock(int fd, int command, short type, off_t start, off_t len)
{
    struct flock f = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
    return fcntl(fd, command, &f);
}

// F_GETLK/F_OFD_GETLK for a write lock on the range: the pid of the conflicting lock, 0 if
// none, -1 for an OFD lock.
static int owner(char const* name, int command, off_t start, off_t len)
{
    int fd = open_file(name, O_RDWR);
    struct flock f = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = start, .l_len = len, .l_pid = 0 };
    if (fcntl(fd, command, &f) != 0)
        return -2;
    close(fd);
    return f.l_type == F_UNLCK ? 0 : f.l_pid;
}

static int checker(pid_t root, pid_t child)
{
    int a = open_file("A", O_RDWR);
    if (flock(a, LOCK_EX | LOCK_NB) == 0 || errno != EWOULDBLOCK)
        return printf("FAIL: flock on A is not held\n"), 1;
    int got;
    if ((got = owner("B", F_GETLK, 10, 10)) != root)
        return printf("FAIL: POSIX write lock on B 10+10: owner %d, expected %d\n", got, root), 1;
    if ((got = owner("B", F_GETLK, 100, 0)) != root)
        return printf("FAIL: POSIX read lock on B 100+EOF: owner %d, expected %d\n", got, root), 1;
    if ((got = owner("B", F_GETLK, 30, 10)) != 0)
        return printf("FAIL: B 30+10 should be free, owner %d\n", got), 1;
    if ((got = owner("C", F_OFD_GETLK, 0, 0)) != -1)
        return printf("FAIL: OFD lock on C: %d\n", got), 1;
    if ((got = owner("D", F_GETLK, 0, 5)) != child)
        return printf("FAIL: child's POSIX lock on D: owner %d, expected %d\n", got, child), 1;
    return 0;
}

int main(int argc, char** argv)
{
    if (argc != 2)
        return fprintf(stderr, "usage: cr_locks DIR\n"), 2;
    g_dir = argv[1];
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa = { 0 };
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);

    int a = open_file("A", O_RDWR);
    if (flock(a, LOCK_EX) != 0)
        return perror("flock"), 2;
    int b = open_file("B", O_RDWR);
    if (set_lock(b, F_SETLK, F_WRLCK, 10, 10) || set_lock(b, F_SETLK, F_RDLCK, 100, 0))
        return perror("posix lock"), 2;
    int c = open_file("C", O_RDWR);
    if (set_lock(c, F_OFD_SETLK, F_RDLCK, 0, 0))
        return perror("ofd lock"), 2;
    pid_t child = fork();
    if (child == 0) {
        int d = open_file("D", O_RDWR);
        if (set_lock(d, F_SETLK, F_WRLCK, 0, 5))
            perror("child lock"), _exit(2);
        while (!g_verify)
            sleep_ms(10);
        _exit(0);
    }
    sleep_ms(50);
    printf("ready %d %d\n", getpid(), child);
    while (!g_verify)
        sleep_ms(20);

    int ok = 1;
    pid_t check = fork();
    if (check == 0)
        _exit(checker(getppid(), child));
    int status = 0;
    if (waitpid(check, &status, 0) != check || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        ok = 0;
    kill(child, SIGUSR1);
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        ok = ok ? (printf("FAIL: child status %#x\n", status), 0) : 0;
    if (ok)
        printf("verify ok\n");
    return ok ? 0 : 1;
}
