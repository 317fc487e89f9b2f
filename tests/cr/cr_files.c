// Checkpoint/restore workload for open files. Sets up, at fixed fd numbers (5 and 6 left as
// a gap): a file with O_APPEND, a file at an offset dup'ed twice (one copy CLOEXEC), a
// deleted-but-open file, a pipe with unread data, eventfds (plain and semaphore), unix
// socketpairs (stream, dgram, seqpacket) with queued data both ways, a sealed memfd, a FIFO
// with unread data, a directory, an epoll set (watching the pipe and an eventfd), a
// signalfd, timerfds (one armed, one expired and not read), and listening unix sockets
// (a path and an abstract name), inotify with a gap in its watch descriptors. Prints "ready PID" and waits; on SIGUSR1 it checks
// everything (flags, FD_CLOEXEC, offsets shared, contents, queues) and prints "verify ok"
// (exit 0) or each difference (exit 1).
// Usage: cr_files DIR [tree|unsupported]
//   tree: forks a child that keeps the same fds (offsets shared with the parent) and
//         verifies on SIGUSR1 too; unsupported: also holds a pidfd and a TCP socket.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <stddef.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t g_verify;
static void on_usr1(int sig) { (void)sig; g_verify = 1; }

static int g_failures;
#define CHECK(cond, ...)                                                                                               \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            printf("pid %d: FAIL %s: ", getpid(), #cond);                                                            \
            printf(__VA_ARGS__);                                                                                       \
            printf("\n");                                                                                              \
            ++g_failures;                                                                                              \
        }                                                                                                              \
    } while (0)

static void die(char const* what)
{
    perror(what);
    exit(2);
}

// Moves fd to `at` (closing the old number), keeping or setting CLOEXEC.
static void place(int fd, int at, int cloexec)
{
    if (fd == at) {
        fcntl(fd, F_SETFD, cloexec ? FD_CLOEXEC : 0);
        return;
    }
    if (dup3(fd, at, cloexec ? O_CLOEXEC : 0) < 0)
        die("dup3");
    close(fd);
}

static void must_write(int fd, char const* s)
{
    if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
        die("write");
}

static void expect_flags(int fd, int want_fl, int want_cloexec)
{
    int fl = fcntl(fd, F_GETFL);
    int fd_flags = fcntl(fd, F_GETFD);
    CHECK(fl >= 0, "fd %d is not open (%s)", fd, strerror(errno));
    if (fl < 0)
        return;
    int mask = O_ACCMODE | O_APPEND | O_NONBLOCK;
    CHECK((fl & mask) == want_fl, "fd %d flags %o, want %o", fd, fl & mask, want_fl);
    CHECK(!!(fd_flags & FD_CLOEXEC) == want_cloexec, "fd %d cloexec %d, want %d", fd, !!(fd_flags & FD_CLOEXEC),
        want_cloexec);
}

static void expect_read(int fd, char const* want)
{
    char buf[256] = { 0 };
    ssize_t n = read(fd, buf, sizeof buf - 1);
    CHECK(n == (ssize_t)strlen(want) && memcmp(buf, want, strlen(want)) == 0, "fd %d read \"%.*s\" (%zd), want \"%s\"",
        fd, n > 0 ? (int)n : 0, buf, n, want);
}

static void expect_empty(int fd)
{
    char c;
    ssize_t n = read(fd, &c, 1);
    CHECK(n < 0 && errno == EAGAIN, "fd %d: more data than expected (read returned %zd)", fd, n);
}

static void expect_empty_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    expect_empty(fd);
    fcntl(fd, F_SETFL, fl);
}

static void expect_recv(int fd, char const* want)
{
    char buf[256] = { 0 };
    ssize_t n = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);
    CHECK(n == (ssize_t)strlen(want) && memcmp(buf, want, strlen(want)) == 0,
        "fd %d recv \"%.*s\" (%zd), want \"%s\"", fd, n > 0 ? (int)n : 0, buf, n, want);
}

static void expect_counter(int fd, uint64_t want)
{
    uint64_t v = 0;
    ssize_t n = read(fd, &v, sizeof v);
    CHECK(n == 8 && v == want, "eventfd %d read %llu (%zd), want %llu", fd, (unsigned long long)v, n,
        (unsigned long long)want);
}

static char g_dir[4096];
static size_t g_big_pipe, g_big_stream;

static unsigned char pattern(size_t i) { return (unsigned char)(i * 7 + (i >> 12)); }

// Writes the pattern into a non-blocking fd until it is full; returns the byte count.
static size_t fill_until_full(int fd)
{
    unsigned char chunk[4096];
    size_t total = 0;
    for (;;) {
        for (size_t i = 0; i < sizeof chunk; ++i)
            chunk[i] = pattern(total + i);
        ssize_t n = write(fd, chunk, sizeof chunk);
        if (n < 0) {
            if (errno == EAGAIN)
                return total;
            die("fill");
        }
        total += (size_t)n;
    }
}

// Reads exactly `total` bytes of the pattern from fd (blocking reads), then expects no more.
static void expect_pattern(int fd, size_t total, char const* what)
{
    unsigned char chunk[4096];
    size_t done = 0;
    while (done < total) {
        ssize_t n = read(fd, chunk, sizeof chunk < total - done ? sizeof chunk : total - done);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; ++i)
            if (chunk[i] != pattern(done + (size_t)i)) {
                CHECK(0, "%s: byte %zu differs", what, done + (size_t)i);
                return;
            }
        done += (size_t)n;
    }
    CHECK(done == total, "%s: %zu bytes, want %zu", what, done, total);
}

// A unix socket address: DIR/listen.sock, or the abstract "@cr-files-PID" (sun_path[0] = 0).
static socklen_t listener_address(struct sockaddr_un* a, int abstract)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    if (abstract) {
        int n = snprintf(a->sun_path + 1, sizeof a->sun_path - 1, "cr-files-%d", getpid());
        return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/listen.sock", g_dir);
    if (strlen(path) >= sizeof a->sun_path)
        die("socket path too long");
    memcpy(a->sun_path, path, strlen(path) + 1);
    return (socklen_t)sizeof *a;
}

static int listener(char* path, size_t size, int abstract)
{
    struct sockaddr_un a;
    socklen_t length = listener_address(&a, abstract);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (!abstract) {
        snprintf(path, size, "%s", a.sun_path);
        unlink(path);
    }
    if (fd < 0 || bind(fd, (struct sockaddr*)&a, length) < 0 || listen(fd, 5) < 0)
        die("listener");
    if (!abstract)
        chmod(path, 0600);
    return fd;
}

// Connects a new client to the listener and accepts it on fd `listening`.
static void expect_accepts(int listening, int abstract)
{
    struct sockaddr_un a;
    socklen_t length = listener_address(&a, abstract);
    int client = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(connect(client, (struct sockaddr*)&a, length) == 0, "connect to listener %d: %s", listening, strerror(errno));
    int server = accept(listening, NULL, NULL);
    CHECK(server >= 0, "accept on %d: %s", listening, strerror(errno));
    if (server >= 0) {
        must_write(client, "hi");
        expect_read(server, "hi");
        close(server);
    }
    close(client);
}

static void setup(int unsupported)
{
    char path[4200];
    // 3: O_APPEND file.
    snprintf(path, sizeof path, "%s/append.txt", g_dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    if (fd < 0)
        die("open append");
    must_write(fd, "first;");
    place(fd, 3, 0);
    // 4, 7 and 20 (CLOEXEC): one description at offset 5.
    snprintf(path, sizeof path, "%s/shared.txt", g_dir);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        die("open shared");
    must_write(fd, "0123456789abcdef");
    lseek(fd, 5, SEEK_SET);
    place(fd, 4, 0);
    if (dup2(4, 7) < 0 || dup3(4, 20, O_CLOEXEC) < 0)
        die("dup");
    // 8: deleted-but-open, offset 3.
    snprintf(path, sizeof path, "%s/deleted.txt", g_dir);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0640);
    if (fd < 0)
        die("open deleted");
    must_write(fd, "gone but open");
    if (geteuid() == 0 && fchown(fd, 1234, 5678) < 0)
        die("fchown");
    fchmod(fd, 0640); // chown dropped nothing here, but keep the mode explicit
    unlink(path);
    lseek(fd, 3, SEEK_SET);
    place(fd, 8, 1);
    // 9 (read, O_NONBLOCK) and 10: pipe with unread data.
    int p[2];
    if (pipe(p) < 0)
        die("pipe");
    must_write(p[1], "unread pipe data");
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    place(p[0], 9, 0);
    place(p[1], 10, 1);
    // 11: eventfd 42; 12: semaphore eventfd 3.
    place(eventfd(42, EFD_NONBLOCK), 11, 0);
    place(eventfd(3, EFD_NONBLOCK | EFD_SEMAPHORE), 12, 0);
    // 13/14 stream, 15/16 dgram, 17/18 seqpacket pairs with queued data.
    int s[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) < 0)
        die("socketpair");
    must_write(s[1], "hello ");
    must_write(s[1], "stream");
    must_write(s[0], "back");
    place(s[0], 13, 0);
    place(s[1], 14, 0);
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, s) < 0)
        die("socketpair");
    must_write(s[1], "a");
    must_write(s[1], "bb");
    must_write(s[1], "ccc");
    fcntl(s[0], F_SETFL, O_NONBLOCK);
    place(s[0], 15, 0);
    place(s[1], 16, 1);
    if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, s) < 0)
        die("socketpair");
    must_write(s[1], "x1");
    must_write(s[1], "y22");
    place(s[0], 17, 0);
    place(s[1], 18, 0);
    // 19: memfd with contents, position 2 and seals.
    fd = memfd_create("cr-files", MFD_ALLOW_SEALING);
    if (fd < 0)
        die("memfd_create");
    must_write(fd, "memfd contents");
    lseek(fd, 2, SEEK_SET);
    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW);
    place(fd, 19, 0);
    // 21: FIFO with unread data.
    snprintf(path, sizeof path, "%s/fifo", g_dir);
    unlink(path);
    if (mkfifo(path, 0600) < 0)
        die("mkfifo");
    fd = open(path, O_RDWR | O_NONBLOCK);
    if (fd < 0)
        die("open fifo");
    must_write(fd, "fifo data");
    place(fd, 21, 0);
    // 22: the directory.
    fd = open(g_dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        die("open dir");
    place(fd, 22, 1);
    // 23: epoll watching the pipe's read end (edge-triggered) and eventfd 11.
    fd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.u64 = 0xabcdef0123ULL };
    if (epoll_ctl(fd, EPOLL_CTL_ADD, 9, &ev) < 0)
        die("epoll_ctl");
    ev.events = EPOLLIN;
    ev.data.u64 = 11;
    if (epoll_ctl(fd, EPOLL_CTL_ADD, 11, &ev) < 0)
        die("epoll_ctl");
    place(fd, 23, 1);
    // 24: signalfd for SIGUSR2 (blocked).
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR2);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    place(signalfd(-1, &mask, SFD_NONBLOCK), 24, 0);
    // 25: armed timerfd (100 s left, 7 s interval); 26: expired once, not read.
    fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    struct itimerspec its = { { 7, 0 }, { 100, 0 } };
    timerfd_settime(fd, 0, &its, NULL);
    place(fd, 25, 0);
    fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    struct itimerspec once = { { 0, 0 }, { 0, 1000000 } };
    timerfd_settime(fd, 0, &once, NULL);
    usleep(20000);
    place(fd, 26, 0);
    // 27 (read) / 28 (write): a 1 MiB pipe, full.
    if (pipe(p) < 0)
        die("pipe");
    if (fcntl(p[1], F_SETPIPE_SZ, 1 << 20) < 0)
        die("F_SETPIPE_SZ");
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    g_big_pipe = fill_until_full(p[1]);
    place(p[0], 27, 0);
    place(p[1], 28, 0);
    // 32/33: a stream socketpair whose queue is full (until EAGAIN).
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) < 0)
        die("socketpair");
    fcntl(s[1], F_SETFL, O_NONBLOCK);
    g_big_stream = fill_until_full(s[1]);
    place(s[0], 32, 0);
    place(s[1], 33, 0);
    // 34: a stream socket whose peer was closed after sending "bye".
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) < 0)
        die("socketpair");
    must_write(s[1], "bye");
    close(s[1]);
    place(s[0], 34, 0);
    // 35: listening unix socket at DIR/listen.sock (mode 0600), backlog 5; 36: listening on
    // an abstract name.
    place(listener(path, sizeof path, 0), 35, 0);
    place(listener(path, sizeof path, 1), 36, 1);
    // 37: inotify watching DIR (wd 1) and append.txt (wd 3; wd 2 was removed).
    fd = inotify_init1(IN_NONBLOCK);
    snprintf(path, sizeof path, "%s/append.txt", g_dir);
    if (inotify_add_watch(fd, g_dir, IN_CREATE) != 1 || inotify_rm_watch(fd, inotify_add_watch(fd, "/", IN_ATTRIB)) < 0
        || inotify_add_watch(fd, path, IN_CLOSE_WRITE) != 3)
        die("inotify");
    place(fd, 37, 0);
    if (unsupported) {
        place((int)syscall(SYS_pidfd_open, getpid(), 0), 30, 0);
        place(socket(AF_INET, SOCK_STREAM, 0), 31, 0);
    }
}

static void verify(int is_child)
{
    char path[4200];
    expect_flags(3, O_WRONLY | O_APPEND, 0);
    expect_flags(4, O_RDWR, 0);
    expect_flags(7, O_RDWR, 0);
    expect_flags(20, O_RDWR, 1);
    expect_flags(8, O_RDWR, 1);
    expect_flags(9, O_RDONLY | O_NONBLOCK, 0);
    expect_flags(10, O_WRONLY, 1);
    expect_flags(15, O_RDWR | O_NONBLOCK, 0);
    expect_flags(16, O_RDWR, 1);
    expect_flags(22, O_RDONLY, 1);
    expect_flags(23, O_RDWR, 1);
    expect_flags(24, O_RDWR | O_NONBLOCK, 0);
    expect_flags(25, O_RDWR | O_NONBLOCK, 0);
    expect_flags(35, O_RDWR, 0);
    expect_flags(36, O_RDWR, 1);
    CHECK(fcntl(5, F_GETFD) < 0 && fcntl(6, F_GETFD) < 0, "the gap at fds 5 and 6 is filled");
    if (is_child) {
        // The parent verifies contents; the child checks that offsets are shared with it:
        // the parent read 2 bytes from fd 4 (offset 5 -> 7) before signalling us.
        CHECK(lseek(7, 0, SEEK_CUR) == 7, "child fd 7 offset %ld, want 7 (shared with the parent)",
            (long)lseek(7, 0, SEEK_CUR));
        return;
    }

    // Epoll first (reading the pipe and the eventfd changes readiness): both ready, with
    // their data; the set is keyed by the original fd numbers (MOD finds fd 9).
    struct epoll_event events[4];
    int ready = epoll_wait(23, events, 4, 0);
    CHECK(ready == 2, "epoll_wait: %d ready, want 2", ready);
    int seen = 0;
    for (int i = 0; i < ready; ++i)
        seen |= (events[i].data.u64 == 0xabcdef0123ULL && (events[i].events & EPOLLIN)) ? 1
            : events[i].data.u64 == 11                                                ? 2
                                                                                      : 4;
    CHECK(seen == 3, "epoll events %#x", seen);
    struct epoll_event mod = { .events = EPOLLIN, .data.u64 = 1 };
    CHECK(epoll_ctl(23, EPOLL_CTL_MOD, 9, &mod) == 0, "epoll_ctl MOD fd 9: %s", strerror(errno));
    // Signalfd: a blocked SIGUSR2 is read from it.
    raise(SIGUSR2);
    struct signalfd_siginfo si;
    CHECK(read(24, &si, sizeof si) == sizeof si && si.ssi_signo == SIGUSR2, "signalfd 24 did not deliver SIGUSR2");
    // Timerfds.
    struct itimerspec left;
    CHECK(timerfd_gettime(25, &left) == 0 && left.it_value.tv_sec >= 50 && left.it_value.tv_sec < 100
            && left.it_interval.tv_sec == 7 && left.it_interval.tv_nsec == 0,
        "timerfd 25: %ld s left, interval %ld s", (long)left.it_value.tv_sec, (long)left.it_interval.tv_sec);
    expect_counter(26, 1);

    // O_APPEND: a write lands at the end whatever the offset.
    lseek(3, 0, SEEK_SET);
    must_write(3, "second");
    snprintf(path, sizeof path, "%s/append.txt", g_dir);
    int fd = open(path, O_RDONLY);
    expect_read(fd, "first;second");
    close(fd);
    // One description behind 4, 7 and 20.
    CHECK(lseek(7, 0, SEEK_CUR) == 5, "fd 7 offset %ld, want 5", (long)lseek(7, 0, SEEK_CUR));
    char two[2];
    CHECK(read(4, two, 2) == 2 && memcmp(two, "56", 2) == 0, "fd 4 read at offset 5");
    CHECK(lseek(7, 0, SEEK_CUR) == 7 && lseek(20, 0, SEEK_CUR) == 7, "offset not shared by fds 4, 7, 20");
    // Deleted file.
    struct stat st;
    CHECK(fstat(8, &st) == 0 && st.st_nlink == 0 && (st.st_mode & 0777) == 0640, "fd 8 is not a deleted 0640 file");
    CHECK(geteuid() != 0 || (st.st_uid == 1234 && st.st_gid == 5678), "fd 8 owner %d:%d, want 1234:5678", st.st_uid,
        st.st_gid);
    expect_read(8, "e but open");
    // Pipe.
    expect_read(9, "unread pipe data");
    expect_empty(9);
    must_write(10, "more");
    expect_read(9, "more");
    // Eventfds.
    expect_counter(11, 42);
    CHECK(read(11, &(uint64_t) { 0 }, 8) < 0 && errno == EAGAIN, "eventfd 11 not reset or blocking");
    expect_counter(12, 1);
    expect_counter(12, 1);
    expect_counter(12, 1);
    CHECK(read(12, &(uint64_t) { 0 }, 8) < 0 && errno == EAGAIN, "semaphore eventfd 12 above 3");
    // Socket queues, in order and with message boundaries.
    expect_recv(13, "hello stream");
    expect_recv(14, "back");
    expect_recv(15, "a");
    expect_recv(15, "bb");
    expect_recv(15, "ccc");
    CHECK(recv(15, two, 2, MSG_DONTWAIT) < 0 && errno == EAGAIN, "dgram queue longer than 3");
    expect_recv(17, "x1");
    expect_recv(17, "y22");
    must_write(14, "ping");
    expect_recv(13, "ping");
    // memfd.
    CHECK(fcntl(19, F_GET_SEALS) == (F_SEAL_SHRINK | F_SEAL_GROW), "memfd seals %#x", fcntl(19, F_GET_SEALS));
    CHECK(lseek(19, 0, SEEK_CUR) == 2, "memfd offset %ld", (long)lseek(19, 0, SEEK_CUR));
    expect_read(19, "mfd contents");
    CHECK(ftruncate(19, 1) < 0 && errno == EPERM, "memfd F_SEAL_SHRINK not enforced");
    // The full pipe and socket queue, byte for byte; the socket whose peer is gone.
    CHECK(fcntl(28, F_GETPIPE_SZ) == 1 << 20, "pipe 28 size %d", fcntl(28, F_GETPIPE_SZ));
    expect_pattern(27, g_big_pipe, "full pipe");
    expect_empty_nonblock(27);
    expect_pattern(32, g_big_stream, "full stream queue");
    CHECK(g_big_pipe == 1 << 20 && g_big_stream > 100000, "queues were not that full: %zu, %zu", g_big_pipe,
        g_big_stream);
    expect_recv(34, "bye");
    CHECK(recv(34, two, 2, MSG_DONTWAIT) == 0, "socket 34: no end of file after its closed peer's data");
    // Listening sockets: same address, accepting.
    expect_accepts(35, 0);
    expect_accepts(36, 1);
    snprintf(path, sizeof path, "%s/listen.sock", g_dir);
    CHECK(stat(path, &st) == 0 && S_ISSOCK(st.st_mode) && (st.st_mode & 0777) == 0600, "listen.sock mode %o",
        st.st_mode & 0777);
    // Inotify: same watch descriptors, same masks.
    char notes[4096];
    while (read(37, notes, sizeof notes) > 0) {
    } // whatever the checks above caused
    snprintf(path, sizeof path, "%s/inotify-probe", g_dir);
    close(open(path, O_WRONLY | O_CREAT, 0600));
    snprintf(path, sizeof path, "%s/append.txt", g_dir);
    close(open(path, O_WRONLY));
    int got = 0;
    ssize_t n = read(37, notes, sizeof notes);
    for (ssize_t at = 0; at < n;) {
        struct inotify_event* e = (struct inotify_event*)(notes + at);
        if (e->wd == 1 && (e->mask & IN_CREATE) && e->len && strcmp(e->name, "inotify-probe") == 0)
            got |= 1;
        else if (e->wd == 3 && (e->mask & IN_CLOSE_WRITE))
            got |= 2;
        else
            got |= 4;
        at += (ssize_t)sizeof *e + e->len;
    }
    CHECK(got == 3, "inotify events %#x (1: create in dir on wd 1, 2: close-write on wd 3, 4: other)", got);
    // FIFO and directory.
    expect_read(21, "fifo data");
    CHECK(fstat(22, &st) == 0 && S_ISDIR(st.st_mode), "fd 22 is not a directory");
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

int main(int argc, char** argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: cr_files DIR [tree|unsupported]\n");
        return 2;
    }
    snprintf(g_dir, sizeof g_dir, "%s", argv[1]);
    int tree = argc > 2 && strcmp(argv[2], "tree") == 0;
    int unsupported = argc > 2 && strcmp(argv[2], "unsupported") == 0;
    signal(SIGUSR1, on_usr1);
    setvbuf(stdout, NULL, _IOLBF, 0);
    setup(unsupported);
    pid_t child = 0;
    if (tree) {
        child = fork();
        if (child < 0)
            die("fork");
        if (child == 0) {
            while (!g_verify)
                sleep_ms(10);
            verify(1);
            printf("child %s\n", g_failures ? "verify failed" : "verify ok");
            return g_failures ? 1 : 0;
        }
    }
    printf("ready %d\n", getpid());
    while (!g_verify)
        sleep_ms(10);
    verify(0);
    if (child) {
        kill(child, SIGUSR1);
        int status = 0;
        waitpid(child, &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed (status %#x)", status);
    }
    printf("%s\n", g_failures ? "verify failed" : "verify ok");
    return g_failures ? 1 : 0;
}
