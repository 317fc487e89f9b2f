// TCP connections waiting in a listener's accept queue (tests/cr/cr_tcp_pending.sh): the
// parent listens on 127.0.0.1 (fd 10) and [::1] (fd 11, IPv6 only) and never accepts before
// the checkpoint; its child connects to both (fds 13 and 14) and tells the parent its local
// ports through a pipe. Prints "ready PARENT CHILD" once both connections wait in the accept
// queues. Mode "data": the child also sends 5 bytes on fd 13 (they wait in the server end,
// which no one can read without accepting). On SIGUSR1 the parent accepts on both listeners:
// the peers must be the child's ports, (mode data: the 5 bytes arrive first), it sends
// "hello", the child answers "back" on each; prints "child verify ok" and "verify ok", or
// what failed. Mode "shutdown": the child shuts down its sending side of fd 13 (FIN-WAIT2,
// the server end CLOSE-WAIT): the server reads end of file there. Mode "halfclosed": the
// same, but the server accepted that connection before (fd 12, CLOSE-WAIT, the client's
// fd 13 FIN-WAIT2). Usage: cr_tcp_pending [data|shutdown|halfclosed]
#define _GNU_SOURCE
#include "cr_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int pending_of(int listener)
{
    struct tcp_info info;
    socklen_t n = sizeof info;
    if (getsockopt(listener, IPPROTO_TCP, TCP_INFO, &info, &n) < 0)
        die("TCP_INFO");
    return (int)info.tcpi_unacked; // sk_ack_backlog of a listener
}

// Reads exactly `n` bytes (2 s at most); 0 when they are `want`.
static int read_exact(int fd, char const* want, size_t n)
{
    char buffer[64] = { 0 };
    size_t got = 0;
    while (got < n) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 2000) != 1)
            return -1;
        ssize_t r = read(fd, buffer + got, n - got);
        if (r <= 0)
            return -2;
        got += (size_t)r;
    }
    return memcmp(buffer, want, n) == 0 ? 0 : -3;
}

static int state_of(int fd)
{
    struct tcp_info info;
    socklen_t n = sizeof info;
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &n) < 0)
        return -1;
    return info.tcpi_state;
}

static int accept_within(int listener)
{
    struct pollfd p = { .fd = listener, .events = POLLIN };
    if (poll(&p, 1, 2000) != 1)
        return -1;
    return accept4(listener, NULL, NULL, SOCK_CLOEXEC);
}

int main(int argc, char** argv)
{
    int data_mode = argc > 1 && strcmp(argv[1], "data") == 0;
    int half_mode = argc > 1 && strcmp(argv[1], "halfclosed") == 0;
    int shut_mode = half_mode || (argc > 1 && strcmp(argv[1], "shutdown") == 0);
    setup_go();

    int one = 1;
    int l4 = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    setsockopt(l4, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(l4, (struct sockaddr*)&a4, sizeof a4) < 0 || listen(l4, 4) < 0)
        die("listen 127.0.0.1");
    place(l4, 10);
    int l6 = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    setsockopt(l6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(l6, (struct sockaddr*)&a6, sizeof a6) < 0 || listen(l6, 4) < 0)
        die("listen ::1");
    place(l6, 11);
    a4.sin_port = htons((uint16_t)port_of(10));
    a6.sin6_port = htons((uint16_t)port_of(11));

    int ports[2];
    if (pipe2(ports, O_CLOEXEC) < 0)
        die("pipe");
    pid_t child = fork();
    if (child == 0) {
        close(10);
        close(11);
        close(ports[0]);
        int c4 = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (connect(c4, (struct sockaddr*)&a4, sizeof a4) < 0)
            die("connect 127.0.0.1");
        place(c4, 13);
        int c6 = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (connect(c6, (struct sockaddr*)&a6, sizeof a6) < 0)
            die("connect ::1");
        place(c6, 14);
        setsockopt(14, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (data_mode && write(13, "early", 5) != 5)
            die("write early");
        if (shut_mode && shutdown(13, SHUT_WR) < 0)
            die("shutdown");
        int mine[2] = { port_of(13), port_of(14) };
        if (write(ports[1], mine, sizeof mine) != sizeof mine)
            die("write ports");
        close(ports[1]);
        wait_go();
        int one_back = 0;
        socklen_t n = sizeof one_back;
        getsockopt(14, IPPROTO_TCP, TCP_NODELAY, &one_back, &n);
        CHECK(one_back == 1, "client fd 14 lost TCP_NODELAY");
        CHECK(port_of(13) == mine[0] && port_of(14) == mine[1], "client ports %d %d, were %d %d", port_of(13),
              port_of(14), mine[0], mine[1]);
        for (int fd = 13; fd <= 14; ++fd) {
            int r = read_exact(fd, "hello", 5);
            CHECK(r == 0, "client fd %d: hello from the server: %d", fd, r);
            if (!(shut_mode && fd == 13))
                CHECK(write(fd, "back", 4) == 4, "client fd %d: write back", fd);
        }
        printf("child %s\n", g_failures ? "verify failed" : "verify ok");
        sleep(1);
        return g_failures ? 1 : 0;
    }
    close(ports[1]);
    int theirs[2];
    if (read(ports[0], theirs, sizeof theirs) != sizeof theirs)
        die("read ports");
    close(ports[0]);
    if (half_mode) {
        int s = accept_within(10);
        if (s < 0)
            die("accept before the checkpoint");
        place(s, 12);
        for (int i = 0; i < 500 && state_of(12) != TCP_CLOSE_WAIT; ++i)
            usleep(2000);
    }
    for (int i = 0; i < 500 && ((!half_mode && pending_of(10) < 1) || pending_of(11) < 1); ++i)
        usleep(2000);
    printf("ready %d %d\n", getpid(), child);
    wait_go();

    CHECK(pending_of(10) == !half_mode && pending_of(11) == 1, "accept queues hold %d and %d, want %d and 1",
          pending_of(10), pending_of(11), !half_mode);
    if (half_mode)
        CHECK(state_of(12) == TCP_CLOSE_WAIT, "fd 12 in TCP state %d, not close-wait", state_of(12));
    int s4 = half_mode ? 12 : accept_within(10);
    int s6 = accept_within(11);
    CHECK(s4 >= 0 && s6 >= 0, "accept: %d %d (%s)", s4, s6, strerror(errno));
    if (s4 >= 0 && s6 >= 0) {
        CHECK(peer_of(s4) == theirs[0], "IPv4 connection from port %d, the client's is %d", peer_of(s4),
              theirs[0]);
        CHECK(peer_of(s6) == theirs[1], "IPv6 connection from port %d, the client's is %d", peer_of(s6),
              theirs[1]);
        if (data_mode) {
            int r = read_exact(s4, "early", 5);
            CHECK(r == 0, "early bytes of the client: %d", r);
        }
        if (shut_mode) {
            char c;
            CHECK(read(s4, &c, 1) == 0, "no end of file from the client that shut down its side");
        }
        CHECK(write(s4, "hello", 5) == 5 && write(s6, "hello", 5) == 5, "write hello");
        kill(child, SIGUSR1);
        CHECK((shut_mode || read_exact(s4, "back", 4) == 0) && read_exact(s6, "back", 4) == 0,
              "no answer from the client");
    } else {
        kill(child, SIGKILL);
    }
    int status = 0;
    CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x",
          status);
    printf("%s\n", g_failures ? "verify failed" : "verify ok");
    return g_failures ? 1 : 0;
}
