// UDP sockets (tests/cr/cr_udp.sh): fd 10 bound to 127.0.0.1 (SO_REUSEADDR, a set receive
// buffer), fd 11 connected to it, fd 14 an unconnected sender; fd 12 bound to [::1] (IPv6
// only), fd 13 connected to it (TCP_NODELAY-free, O_NONBLOCK). Queued, unread: "one" and
// "two22" from 11 and "three" from 14 at fd 10; "six" from 13 at fd 12; "back" from 12 at 13.
// Prints "ready PID". On SIGUSR1 it reads every queue (order, payloads and sources), checks
// ports, peers, options and flags, sends new datagrams both ways, and prints "verify ok" or
// what failed.
#define _GNU_SOURCE
#include "cr_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int option(int fd, int level, int name)
{
    int v = -1;
    socklen_t n = sizeof v;
    getsockopt(fd, level, name, &v, &n);
    return v;
}

static void bind_loopback(int fd, int family)
{
    struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    int r = family == AF_INET ? bind(fd, (struct sockaddr*)&a4, sizeof a4) : bind(fd, (struct sockaddr*)&a6, sizeof a6);
    if (r < 0)
        die("bind");
}

static void connect_to(int fd, int family, int port)
{
    struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port),
                               .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    int r = family == AF_INET ? connect(fd, (struct sockaddr*)&a4, sizeof a4)
                              : connect(fd, (struct sockaddr*)&a6, sizeof a6);
    if (r < 0)
        die("connect");
}

static void send_to(int fd, int port, char const* text)
{
    struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (sendto(fd, text, strlen(text), 0, (struct sockaddr*)&a4, sizeof a4) != (ssize_t)strlen(text))
        die("sendto");
}

// One datagram within 2 s: `want` from port `from`.
static void expect(int fd, char const* want, int from)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    char buffer[64] = { 0 };
    struct sockaddr_storage source;
    socklen_t n = sizeof source;
    if (poll(&p, 1, 2000) != 1) {
        CHECK(0, "fd %d: no datagram, wanted \"%s\"", fd, want);
        return;
    }
    ssize_t got = recvfrom(fd, buffer, sizeof buffer - 1, MSG_DONTWAIT, (struct sockaddr*)&source, &n);
    CHECK(got == (ssize_t)strlen(want) && memcmp(buffer, want, strlen(want)) == 0, "fd %d: got \"%s\", wanted \"%s\"",
          fd, got > 0 ? buffer : "", want);
    CHECK(port_in(&source) == from, "fd %d: \"%s\" from port %d, wanted %d", fd, want, port_in(&source), from);
}

int main(void)
{
    setup_go();
    int one = 1, size = 65536;

    place(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), 10);
    setsockopt(10, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(10, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    bind_loopback(10, AF_INET);
    fcntl(10, F_SETFD, FD_CLOEXEC); // dup2 in place() cleared it
    place(socket(AF_INET, SOCK_DGRAM, 0), 11);
    connect_to(11, AF_INET, port_of(10));
    place(socket(AF_INET, SOCK_DGRAM, 0), 14);
    bind_loopback(14, AF_INET);
    place(socket(AF_INET6, SOCK_DGRAM, 0), 12);
    setsockopt(12, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    bind_loopback(12, AF_INET6);
    place(socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK, 0), 13);
    connect_to(13, AF_INET6, port_of(12));
    int p10 = port_of(10), p11 = port_of(11), p12 = port_of(12), p13 = port_of(13), p14 = port_of(14);
    int rcvbuf = option(10, SOL_SOCKET, SO_RCVBUF);

    if (write(11, "one", 3) != 3 || write(11, "two22", 5) != 5)
        die("write 11");
    send_to(14, p10, "three");
    if (write(13, "six", 3) != 3)
        die("write 13");
    struct sockaddr_in6 to13 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)p13),
                                 .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    if (sendto(12, "back", 4, 0, (struct sockaddr*)&to13, sizeof to13) != 4)
        die("sendto 13");
    usleep(20000);
    printf("ready %d\n", getpid());
    wait_go();

    CHECK(port_of(10) == p10 && port_of(11) == p11 && port_of(12) == p12 && port_of(13) == p13 && port_of(14) == p14,
          "ports changed");
    CHECK(peer_of(11) == p10 && peer_of(13) == p12, "peers: 11 -> %d (want %d), 13 -> %d (want %d)", peer_of(11), p10,
          peer_of(13), p12);
    CHECK(peer_of(10) == -1 && peer_of(12) == -1 && peer_of(14) == -1, "an unconnected socket has a peer");
    CHECK(option(10, SOL_SOCKET, SO_REUSEADDR) == 1 && option(11, SOL_SOCKET, SO_REUSEADDR) == 0,
          "SO_REUSEADDR: 10 %d, 11 %d", option(10, SOL_SOCKET, SO_REUSEADDR), option(11, SOL_SOCKET, SO_REUSEADDR));
    CHECK(option(10, SOL_SOCKET, SO_RCVBUF) == rcvbuf, "fd 10 SO_RCVBUF %d, was %d", option(10, SOL_SOCKET, SO_RCVBUF),
          rcvbuf);
    CHECK(option(12, IPPROTO_IPV6, IPV6_V6ONLY) == 1, "fd 12 lost IPV6_V6ONLY");
    CHECK((fcntl(13, F_GETFL) & O_NONBLOCK) && !(fcntl(12, F_GETFL) & O_NONBLOCK), "O_NONBLOCK of 12/13");
    CHECK(fcntl(10, F_GETFD) == FD_CLOEXEC && fcntl(11, F_GETFD) == 0, "FD_CLOEXEC of 10/11");
    expect(10, "one", p11);
    expect(10, "two22", p11);
    expect(10, "three", p14);
    expect(12, "six", p13);
    expect(13, "back", p12);
    CHECK(write(11, "new", 3) == 3 && write(13, "new6", 4) == 4, "new writes");
    expect(10, "new", p11);
    expect(12, "new6", p13);
    printf("%s\n", g_failures ? "verify failed" : "verify ok");
    return g_failures ? 1 : 0;
}
