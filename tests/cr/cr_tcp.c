// Workload of tests/cr/cr_tcp.sh: TCP sockets over loopback across a checkpoint. The parent
// (server) listens on 127.0.0.1 (fd 10, SO_REUSEADDR, backlog 7) and on ::1 (fd 11,
// IPV6_V6ONLY), both bound to port 0; its child (client) connects to the IPv4 listener
// (client fd 13), the parent accepts (fd 12, O_NONBLOCK, TCP_NODELAY). Each side then sends
// data the other does not read: it sits in the receiver's queue. Prints "ports V4 V6",
// "child ready" and "ready PID", then waits. On SIGUSR1 the parent checks fds and options,
// reads the queued data, sends a message, signals the child (which checks its queue, reads
// the message and answers), reads the answer, and accepts a new connection on each listener.
// Prints "verify ok" (parent) and "child verify ok", or what failed. Argument "sendq": see
// g_sendq.
#define _GNU_SOURCE
#include "cr_net.h"

#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>

// "sendq" mode: the client's receive buffer is tiny, so most of TO_CLIENT waits in the
// server's send queue at the dump (restored into the send queue, retransmitted after).
static size_t TO_CLIENT = 65536;
static int g_sendq;
#define TO_SERVER 3000

static unsigned char pattern(int stream, size_t i) { return (unsigned char)((i * 7 + (size_t)stream * 13 + i / 251) & 0xff); }

static void write_all(int fd, int stream, size_t n)
{
    unsigned char buf[4096];
    size_t done = 0;
    while (done < n) {
        size_t chunk = n - done < sizeof buf ? n - done : sizeof buf;
        for (size_t i = 0; i < chunk; ++i)
            buf[i] = pattern(stream, done + i);
        ssize_t w = send(fd, buf, chunk, 0);
        if (w < 0 && errno == EAGAIN) {
            usleep(1000);
            continue;
        }
        if (w <= 0)
            die("send");
        done += (size_t)w;
    }
}

// Reads exactly n bytes (waiting up to 5 s) and checks them against the pattern.
static int read_check(int fd, int stream, size_t n)
{
    unsigned char buf[4096];
    size_t done = 0;
    for (int tries = 0; done < n && tries < 5000;) {
        size_t chunk = n - done < sizeof buf ? n - done : sizeof buf;
        ssize_t r = recv(fd, buf, chunk, MSG_DONTWAIT);
        if (r < 0 && errno == EAGAIN) {
            usleep(1000);
            tries++;
            continue;
        }
        if (r <= 0)
            return -1;
        for (ssize_t i = 0; i < r; ++i)
            if (buf[i] != pattern(stream, done + (size_t)i))
                return -2;
        done += (size_t)r;
    }
    return done == n ? 0 : -3;
}

static int queued(int fd)
{
    int n = -1;
    ioctl(fd, SIOCINQ, &n);
    return n;
}

static void wait_queued(int fd, int n)
{
    for (int i = 0; i < 5000 && queued(fd) < n; ++i)
        usleep(1000);
    if (queued(fd) != n) {
        fprintf(stderr, "queue of fd %d: %d bytes, want %d\n", fd, queued(fd), n);
        exit(2);
    }
}

static int outq(int fd)
{
    int n = -1;
    ioctl(fd, SIOCOUTQ, &n);
    return n;
}

// Waits until `measure` of fd stays the same, non-zero, for 200 ms.
static void wait_stable(int fd, int (*measure)(int))
{
    int last = -1, same = 0;
    for (int i = 0; i < 5000 && same < 200; ++i) {
        int now = measure(fd);
        same = now == last && now > 0 ? same + 1 : 0;
        last = now;
        usleep(1000);
    }
}

static int option(int fd, int level, int name)
{
    int v = -1;
    socklen_t len = sizeof v;
    getsockopt(fd, level, name, &v, &len);
    return v;
}

// Connects a new socket to the listener `lfd`, accepts it, and sends a byte each way.
static void check_listener(int lfd, int family)
{
    int port = port_of(lfd);
    int c = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int rc;
    if (family == AF_INET) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        rc = connect(c, (struct sockaddr*)&a, sizeof a);
    } else {
        struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = IN6ADDR_LOOPBACK_INIT };
        rc = connect(c, (struct sockaddr*)&a, sizeof a);
    }
    CHECK(rc == 0, "connect to listener fd %d port %d", lfd, port);
    int s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    CHECK(s >= 0, "accept on listener fd %d", lfd);
    char x = 'x', y = 0;
    CHECK(send(c, &x, 1, 0) == 1 && recv(s, &y, 1, 0) == 1 && y == 'x', "byte over new connection of fd %d", lfd);
    CHECK(send(s, &x, 1, 0) == 1 && recv(c, &y, 1, 0) == 1 && y == 'x', "byte back over new connection of fd %d", lfd);
    close(s);
    close(c);
}

int main(int argc, char** argv)
{
    g_sendq = argc > 1 && strcmp(argv[1], "sendq") == 0;
    if (g_sendq)
        TO_CLIENT = 262144;
    setup_go();
    int one = 1;

    int l4 = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    setsockopt(l4, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a4 = { .sin_family = AF_INET };
    a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(l4, (struct sockaddr*)&a4, sizeof a4) < 0 || listen(l4, 7) < 0)
        die("listen v4");
    place(l4, 10);
    int l6 = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    setsockopt(l6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    if (bind(l6, (struct sockaddr*)&a6, sizeof a6) < 0 || listen(l6, 5) < 0)
        die("listen v6");
    place(l6, 11);
    fcntl(10, F_SETFD, FD_CLOEXEC); // dup2 in place() cleared it
    fcntl(11, F_SETFD, FD_CLOEXEC);
    printf("ports %d %d\n", port_of(10), port_of(11));

    pid_t child = fork();
    if (child < 0)
        die("fork");
    if (child == 0) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        int small = 4096;
        if (g_sendq)
            setsockopt(c, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        a4.sin_port = htons(port_of(10));
        if (connect(c, (struct sockaddr*)&a4, sizeof a4) < 0)
            die("connect");
        place(c, 13);
        write_all(13, 1, TO_SERVER);
        if (g_sendq)
            wait_stable(13, queued);
        else
            wait_queued(13, TO_CLIENT);
        printf("child ready\n");
        wait_go();
        CHECK(fcntl(13, F_GETFD) == 0, "client fd 13 flags");
        CHECK(peer_of(13) == port_of(10), "client fd 13 peer port %d, listener %d", peer_of(13), port_of(10));
        int r = read_check(13, 2, TO_CLIENT);
        CHECK(r == 0, "client: queued data from the server: %d", r);
        r = read_check(13, 3, 1000);
        CHECK(r == 0, "client: new data from the server: %d", r);
        write_all(13, 4, 2000);
        printf("child %s\n", g_failures ? "verify failed" : "verify ok");
        sleep(1);
        return g_failures ? 1 : 0;
    }
    int s = accept4(10, NULL, NULL, SOCK_CLOEXEC);
    if (s < 0)
        die("accept");
    place(s, 12);
    fcntl(12, F_SETFD, FD_CLOEXEC);
    fcntl(12, F_SETFL, O_NONBLOCK);
    setsockopt(12, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    write_all(12, 2, TO_CLIENT);
    wait_queued(12, TO_SERVER);
    if (g_sendq) {
        wait_stable(12, outq);
        printf("send queue %d\n", outq(12));
    }
    printf("ready %d\n", getpid());
    wait_go();

    CHECK(fcntl(10, F_GETFD) == FD_CLOEXEC && fcntl(11, F_GETFD) == FD_CLOEXEC && fcntl(12, F_GETFD) == FD_CLOEXEC,
          "FD_CLOEXEC of fds 10 11 12");
    CHECK((fcntl(12, F_GETFL) & O_NONBLOCK) != 0, "fd 12 lost O_NONBLOCK");
    CHECK((fcntl(10, F_GETFL) & O_NONBLOCK) == 0, "fd 10 became O_NONBLOCK");
    CHECK(option(10, SOL_SOCKET, SO_REUSEADDR) == 1, "fd 10 lost SO_REUSEADDR");
    CHECK(option(10, SOL_SOCKET, SO_ACCEPTCONN) == 1 && option(11, SOL_SOCKET, SO_ACCEPTCONN) == 1, "not listening");
    CHECK(option(11, IPPROTO_IPV6, IPV6_V6ONLY) == 1, "fd 11 lost IPV6_V6ONLY");
    CHECK(option(12, IPPROTO_TCP, TCP_NODELAY) == 1, "fd 12 lost TCP_NODELAY");
    CHECK(port_of(12) == port_of(10), "fd 12 port %d, listener %d", port_of(12), port_of(10));
    CHECK(queued(12) == TO_SERVER, "fd 12 has %d bytes queued, want %d", queued(12), TO_SERVER);
    int r = read_check(12, 1, TO_SERVER);
    CHECK(r == 0, "server: queued data from the client: %d", r);
    write_all(12, 3, 1000);
    kill(child, SIGUSR1);
    r = read_check(12, 4, 2000);
    CHECK(r == 0, "server: answer of the client: %d", r);
    check_listener(10, AF_INET);
    check_listener(11, AF_INET6);
    int status = 0;
    CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x",
          status);
    printf("%s\n", g_failures ? "verify failed" : "verify ok");
    return g_failures ? 1 : 0;
}
