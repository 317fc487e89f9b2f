// Socket options across checkpoint/restore (tests/cr/cr_sockopts.sh). Sets non-default
// options on: fd 10 a TCP listener on 127.0.0.1 (IP_FREEBIND, TCP_DEFER_ACCEPT and
// TCP_FASTOPEN before bind/listen; SO_RCVTIMEO, TCP_KEEPIDLE, TCP_CONGESTION reno, IP_TOS,
// SO_PRIORITY, SO_MARK after), fd 11 a client connected to it and fd 12 its accepted end
// (SO_LINGER, keepalive tuning, TCP_USER_TIMEOUT, TCP_NOTSENT_LOWAT, SO_SNDTIMEO, IP_TTL,
// SO_OOBINLINE ...), fd 13 a UDP socket bound to 127.0.0.1 (IP_PKTINFO, IP_RECVTTL,
// IP_RECVTOS, SO_TIMESTAMPNS, multicast TTL and loop, SO_RCVTIMEO) and fd 14 a UDP sender,
// fd 15/16 a unix datagram socketpair (SO_PASSCRED, SO_SNDTIMEO on 15), fd 17 an IPv6 UDP
// socket on ::1 (IPV6_RECVPKTINFO, IPV6_TCLASS, IPV6_UNICAST_HOPS); fd 13 is also bound to
// the device lo (SO_BINDTODEVICE, set before bind). Remembers every
// option as getsockopt shows it, prints "ready PID". On SIGUSR1 it reads every option again
// and compares, then checks behaviour: a datagram to 13 carries IP_PKTINFO and IP_TTL
// ancillary data, one to 17 IPV6_PKTINFO, one to 15 SCM_CREDENTIALS, the TCP pair still exchanges bytes and the
// listener accepts a new connection. Prints "verify ok" or what failed.
// `cr_sockopts bind-device NAME`: only a UDP socket bound to the device NAME (fd 10).
// `cr_sockopts ttl`: two UDP sockets, fd 10 with IP_TTL 64, fd 11 with the default.
#define _GNU_SOURCE
#include "cr_net.h"

#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/time.h>

struct Option {
    int fd;
    int level;
    int name;
    char const* text;
    unsigned char before[32];
    socklen_t size;
};

#define OPT(fd, level, name)                                                                                           \
    {                                                                                                                  \
        fd, level, name, #fd " " #name, { 0 }, 0                                                                       \
    }
static struct Option g_options[] = {
    OPT(10, IPPROTO_IP, IP_FREEBIND),
    OPT(10, IPPROTO_TCP, TCP_DEFER_ACCEPT),
    OPT(10, IPPROTO_TCP, TCP_FASTOPEN),
    OPT(10, SOL_SOCKET, SO_RCVTIMEO),
    OPT(10, IPPROTO_TCP, TCP_KEEPIDLE),
    OPT(10, IPPROTO_TCP, TCP_CONGESTION),
    OPT(10, IPPROTO_IP, IP_TOS),
    OPT(10, SOL_SOCKET, SO_PRIORITY),
    OPT(10, SOL_SOCKET, SO_MARK),
    OPT(11, SOL_SOCKET, SO_LINGER),
    OPT(11, IPPROTO_TCP, TCP_KEEPINTVL),
    OPT(11, IPPROTO_TCP, TCP_KEEPCNT),
    OPT(11, IPPROTO_TCP, TCP_USER_TIMEOUT),
    OPT(11, IPPROTO_TCP, TCP_NOTSENT_LOWAT),
    OPT(11, SOL_SOCKET, SO_SNDTIMEO),
    OPT(11, IPPROTO_IP, IP_TTL),
    OPT(11, SOL_SOCKET, SO_KEEPALIVE),
    OPT(12, IPPROTO_TCP, TCP_CONGESTION),
    OPT(12, IPPROTO_IP, IP_TOS),
    OPT(12, SOL_SOCKET, SO_RCVTIMEO),
    OPT(12, SOL_SOCKET, SO_OOBINLINE),
    OPT(12, IPPROTO_TCP, TCP_USER_TIMEOUT),
    OPT(12, SOL_SOCKET, SO_RCVLOWAT),
    OPT(13, IPPROTO_IP, IP_PKTINFO),
    OPT(13, IPPROTO_IP, IP_RECVTTL),
    OPT(13, IPPROTO_IP, IP_RECVTOS),
    OPT(13, SOL_SOCKET, SO_TIMESTAMPNS),
    OPT(13, IPPROTO_IP, IP_MULTICAST_TTL),
    OPT(13, IPPROTO_IP, IP_MULTICAST_LOOP),
    OPT(13, SOL_SOCKET, SO_RCVTIMEO),
    OPT(15, SOL_SOCKET, SO_PASSCRED),
    OPT(15, SOL_SOCKET, SO_SNDTIMEO),
    OPT(16, SOL_SOCKET, SO_PASSCRED),
    OPT(13, SOL_SOCKET, SO_BINDTODEVICE),
    OPT(17, IPPROTO_IPV6, IPV6_RECVPKTINFO),
    OPT(17, IPPROTO_IPV6, IPV6_TCLASS),
    OPT(17, IPPROTO_IPV6, IPV6_UNICAST_HOPS),
};
#define NOPTIONS (sizeof g_options / sizeof g_options[0])

static void set_int(int fd, int level, int name, int value, char const* what)
{
    if (setsockopt(fd, level, name, &value, sizeof value) < 0)
        die(what);
}

static void set_time(int fd, int name, long usec)
{
    struct timeval tv = { usec / 1000000, usec % 1000000 };
    if (setsockopt(fd, SOL_SOCKET, name, &tv, sizeof tv) < 0)
        die("SO_*TIMEO");
}

static struct sockaddr_in loopback(int port)
{
    struct sockaddr_in a
        = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    return a;
}

static void read_option(struct Option* o, unsigned char* out, socklen_t* size)
{
    memset(out, 0, 32);
    *size = 32;
    if (getsockopt(o->fd, o->level, o->name, out, size) < 0) {
        CHECK(0, "getsockopt %s: %s", o->text, strerror(errno));
        *size = 0;
    }
}

static int recv_with_cmsg(int fd, char* buffer, size_t size, int level, int type, void* data, size_t data_size)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    if (poll(&p, 1, 2000) != 1)
        return -1;
    char control[512];
    struct iovec iov = { buffer, size };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control };
    ssize_t got = recvmsg(fd, &m, MSG_DONTWAIT);
    if (got < 0)
        return -1;
    int found = 0;
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
        if (c->cmsg_level == level && c->cmsg_type == type) {
            memcpy(data, CMSG_DATA(c), data_size);
            found = 1;
        }
    return found ? (int)got : 0;
}

static void verify(void)
{
    for (size_t i = 0; i < NOPTIONS; ++i) {
        unsigned char now[32];
        socklen_t size;
        read_option(&g_options[i], now, &size);
        CHECK(size == g_options[i].size && memcmp(now, g_options[i].before, size) == 0,
              "%s differs after restore (%u bytes, first int %d; was %u bytes, %d)", g_options[i].text, size,
              *(int*)now, g_options[i].size, *(int*)g_options[i].before);
    }
    // IP_PKTINFO / IP_RECVTTL: ancillary data on a datagram.
    struct sockaddr_in to = loopback(port_of(13));
    if (sendto(14, "ping", 4, 0, (struct sockaddr*)&to, sizeof to) != 4)
        die("sendto");
    char buffer[64];
    struct in_pktinfo info;
    memset(&info, 0, sizeof info);
    int got = recv_with_cmsg(13, buffer, sizeof buffer, IPPROTO_IP, IP_PKTINFO, &info, sizeof info);
    CHECK(got == 4, "udp: no datagram with IP_PKTINFO (%d)", got);
    CHECK(info.ipi_addr.s_addr == htonl(INADDR_LOOPBACK), "udp: IP_PKTINFO destination %x",
          ntohl(info.ipi_addr.s_addr));
    if (sendto(14, "pong", 4, 0, (struct sockaddr*)&to, sizeof to) != 4)
        die("sendto");
    int ttl = 0;
    got = recv_with_cmsg(13, buffer, sizeof buffer, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl);
    CHECK(got == 4 && ttl > 0, "udp: no IP_TTL ancillary data (%d, ttl %d)", got, ttl);
    // IPV6_RECVPKTINFO on fd 17, sent from fd 14's IPv6 twin.
    int sender6 = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in6 to6
        = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port_of(17)), .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    if (sendto(sender6, "six", 3, 0, (struct sockaddr*)&to6, sizeof to6) != 3)
        die("sendto ::1");
    close(sender6);
    struct in6_pktinfo info6;
    memset(&info6, 0, sizeof info6);
    got = recv_with_cmsg(17, buffer, sizeof buffer, IPPROTO_IPV6, IPV6_PKTINFO, &info6, sizeof info6);
    CHECK(got == 3 && IN6_IS_ADDR_LOOPBACK(&info6.ipi6_addr), "udp6: no datagram with IPV6_PKTINFO (%d)", got);
    // SO_PASSCRED: credentials on a unix datagram.
    if (send(16, "cred", 4, 0) != 4)
        die("send unix");
    struct ucred cred = { 0, 0, 0 };
    got = recv_with_cmsg(15, buffer, sizeof buffer, SOL_SOCKET, SCM_CREDENTIALS, &cred, sizeof cred);
    CHECK(got == 4 && cred.pid == getpid(), "unix: no SCM_CREDENTIALS (%d, pid %d)", got, cred.pid);
    // The connection still carries bytes both ways (SO_RCVLOWAT 2 on fd 12: send 4).
    CHECK(send(11, "abcd", 4, 0) == 4, "tcp: send from the client");
    memset(buffer, 0, sizeof buffer);
    CHECK(recv(12, buffer, sizeof buffer, 0) == 4 && memcmp(buffer, "abcd", 4) == 0, "tcp: server got \"%s\"", buffer);
    CHECK(send(12, "wxyz", 4, 0) == 4, "tcp: send from the server");
    memset(buffer, 0, sizeof buffer);
    CHECK(recv(11, buffer, sizeof buffer, 0) == 4 && memcmp(buffer, "wxyz", 4) == 0, "tcp: client got \"%s\"", buffer);
    // The listener (TCP_DEFER_ACCEPT) accepts a new connection once it sent data.
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in l = loopback(port_of(10));
    CHECK(connect(c, (struct sockaddr*)&l, sizeof l) == 0, "tcp: connect to the restored listener: %s",
          strerror(errno));
    CHECK(send(c, "new", 3, 0) == 3, "tcp: send on the new connection");
    int a = accept4(10, NULL, NULL, SOCK_CLOEXEC);
    CHECK(a >= 0, "tcp: accept: %s", strerror(errno));
    if (a >= 0) {
        unsigned char congestion[32] = { 0 };
        socklen_t n = sizeof congestion;
        getsockopt(a, IPPROTO_TCP, TCP_CONGESTION, congestion, &n);
        CHECK(strcmp((char*)congestion, "reno") == 0, "tcp: a new connection uses %s, not reno", congestion);
        close(a);
    }
    close(c);
}

int main(int argc, char** argv)
{
    setup_go();
    (void)peer_of; // cr_net.h helper this workload does not need
    if (argc == 3 && strcmp(argv[1], "bind-device") == 0) {
        // Only fd 10, a UDP socket bound to the device argv[2], for a restore that must fail
        // once the device is gone.
        place(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), 10);
        if (setsockopt(10, SOL_SOCKET, SO_BINDTODEVICE, argv[2], (socklen_t)strlen(argv[2])) < 0)
            die("SO_BINDTODEVICE");
        printf("ready %d\n", getpid());
        wait_go();
        printf("verify ok\n");
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "ttl") == 0) {
        // Started in a network namespace whose ip_default_ttl is not cryo's: fd 10 sets
        // IP_TTL to 64 (cryo's default, not this namespace's), fd 11 keeps the default.
        place(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), 10);
        place(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), 11);
        set_int(10, IPPROTO_IP, IP_TTL, 64, "IP_TTL");
        printf("ready %d\n", getpid());
        wait_go();
        int ttl = 0;
        socklen_t n = sizeof ttl;
        getsockopt(10, IPPROTO_IP, IP_TTL, &ttl, &n);
        CHECK(ttl == 64, "fd 10: IP_TTL %d after restore, set to 64", ttl);
        printf(g_failures == 0 ? "verify ok\n" : "verify failed\n");
        return g_failures ? 1 : 0;
    }
    // fd 10: the listener.
    place(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), 10);
    set_int(10, IPPROTO_IP, IP_FREEBIND, 1, "IP_FREEBIND");
    set_int(10, IPPROTO_TCP, TCP_DEFER_ACCEPT, 5, "TCP_DEFER_ACCEPT");
    set_int(10, IPPROTO_TCP, TCP_FASTOPEN, 16, "TCP_FASTOPEN");
    struct sockaddr_in any = loopback(0);
    if (bind(10, (struct sockaddr*)&any, sizeof any) < 0 || listen(10, 8) < 0)
        die("listen");
    set_time(10, SO_RCVTIMEO, 1500000);
    set_int(10, IPPROTO_TCP, TCP_KEEPIDLE, 77, "TCP_KEEPIDLE");
    if (setsockopt(10, IPPROTO_TCP, TCP_CONGESTION, "reno", 4) < 0)
        die("TCP_CONGESTION");
    set_int(10, IPPROTO_IP, IP_TOS, 0x10, "IP_TOS");
    set_int(10, SOL_SOCKET, SO_PRIORITY, 3, "SO_PRIORITY");
    set_int(10, SOL_SOCKET, SO_MARK, 42, "SO_MARK");
    // fd 11 connects, sends (the listener defers accept until data), fd 12 is accepted.
    place(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), 11);
    struct sockaddr_in l = loopback(port_of(10));
    if (connect(11, (struct sockaddr*)&l, sizeof l) < 0 || send(11, "hi", 2, 0) != 2)
        die("connect");
    place(accept4(10, NULL, NULL, SOCK_CLOEXEC), 12);
    char hello[2];
    if (recv(12, hello, 2, MSG_WAITALL) != 2)
        die("recv hello");
    struct linger linger = { 1, 5 };
    if (setsockopt(11, SOL_SOCKET, SO_LINGER, &linger, sizeof linger) < 0)
        die("SO_LINGER");
    set_int(11, SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE");
    set_int(11, IPPROTO_TCP, TCP_KEEPINTVL, 9, "TCP_KEEPINTVL");
    set_int(11, IPPROTO_TCP, TCP_KEEPCNT, 4, "TCP_KEEPCNT");
    set_int(11, IPPROTO_TCP, TCP_USER_TIMEOUT, 30000, "TCP_USER_TIMEOUT");
    set_int(11, IPPROTO_TCP, TCP_NOTSENT_LOWAT, 16384, "TCP_NOTSENT_LOWAT");
    set_time(11, SO_SNDTIMEO, 2000000);
    set_int(11, IPPROTO_IP, IP_TTL, 33, "IP_TTL");
    set_int(12, SOL_SOCKET, SO_OOBINLINE, 1, "SO_OOBINLINE");
    set_int(12, IPPROTO_TCP, TCP_USER_TIMEOUT, 40000, "TCP_USER_TIMEOUT");
    set_int(12, SOL_SOCKET, SO_RCVLOWAT, 2, "SO_RCVLOWAT");
    // fd 13: a UDP receiver with ancillary data on; fd 14 sends to it.
    place(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), 13);
    if (bind(13, (struct sockaddr*)&any, sizeof any) < 0)
        die("bind udp");
    set_int(13, IPPROTO_IP, IP_PKTINFO, 1, "IP_PKTINFO");
    if (setsockopt(13, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3) < 0)
        die("SO_BINDTODEVICE");
    set_int(13, IPPROTO_IP, IP_RECVTTL, 1, "IP_RECVTTL");
    set_int(13, IPPROTO_IP, IP_RECVTOS, 1, "IP_RECVTOS");
    set_int(13, SOL_SOCKET, SO_TIMESTAMPNS, 1, "SO_TIMESTAMPNS");
    set_int(13, IPPROTO_IP, IP_MULTICAST_TTL, 5, "IP_MULTICAST_TTL");
    set_int(13, IPPROTO_IP, IP_MULTICAST_LOOP, 0, "IP_MULTICAST_LOOP");
    set_time(13, SO_RCVTIMEO, 500000);
    place(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), 14);
    // fd 17: IPv6 UDP on ::1 with IPV6_RECVPKTINFO, a traffic class and hop limit.
    place(socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0), 17);
    struct sockaddr_in6 any6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    if (bind(17, (struct sockaddr*)&any6, sizeof any6) < 0)
        die("bind ::1");
    set_int(17, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO");
    set_int(17, IPPROTO_IPV6, IPV6_TCLASS, 0x28, "IPV6_TCLASS");
    set_int(17, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 17, "IPV6_UNICAST_HOPS");
    // fd 15/16: unix datagrams with credentials.
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair) < 0)
        die("socketpair");
    place(pair[0], 15);
    place(pair[1], 16);
    set_int(15, SOL_SOCKET, SO_PASSCRED, 1, "SO_PASSCRED");
    set_time(15, SO_SNDTIMEO, 250000);

    for (size_t i = 0; i < NOPTIONS; ++i)
        read_option(&g_options[i], g_options[i].before, &g_options[i].size);
    if (g_failures)
        return 1;
    printf("ready %d\n", getpid());
    wait_go();
    verify();
    printf(g_failures == 0 ? "verify ok\n" : "verify failed\n");
    return g_failures ? 1 : 0;
}
