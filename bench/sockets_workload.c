// Workload of bench/socket_options.sh: one process holding many sockets, the case where
// per-socket work during a dump's freeze adds up. PAIRS established TCP connections over
// loopback (both ends here: 2 * PAIRS sockets, plus their listener), UDP IPv4 sockets and
// UDP IPv6 sockets (UDP sockets bound to loopback ports). A few carry non-default options
// (IP_TOS, TCP_KEEPIDLE, IP_PKTINFO), so the dump keeps some. Prints "ready N" (N sockets)
// to stdout, then sleeps until killed.
// Usage: sockets_workload PAIRS UDP4 UDP6
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static void die(char const* what)
{
    fprintf(stderr, "sockets_workload: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int udp(int family)
{
    int s = socket(family, SOCK_DGRAM, 0);
    if (s < 0)
        die("socket udp");
    if (family == AF_INET) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        if (bind(s, (struct sockaddr*)&a, sizeof a) < 0)
            die("bind udp");
    } else {
        struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = 0, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
        if (bind(s, (struct sockaddr*)&a, sizeof a) < 0)
            die("bind udp6");
    }
    return s;
}

int main(int argc, char** argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: sockets_workload PAIRS UDP4 UDP6\n");
        return 2;
    }
    int pairs = atoi(argv[1]), udp4 = atoi(argv[2]), udp6 = atoi(argv[3]);
    int want = 2 * pairs + udp4 + udp6 + 16;
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < (rlim_t)want) {
        limit.rlim_cur = limit.rlim_max < (rlim_t)want ? limit.rlim_max : (rlim_t)want;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0)
        die("socket");
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t size = sizeof address;
    if (bind(listener, (struct sockaddr*)&address, sizeof address) < 0 || listen(listener, 128) < 0
        || getsockname(listener, (struct sockaddr*)&address, &size) < 0)
        die("listen");
    int count = 1;
    for (int i = 0; i < pairs; ++i) {
        int client = socket(AF_INET, SOCK_STREAM, 0);
        if (client < 0 || connect(client, (struct sockaddr*)&address, sizeof address) < 0)
            die("connect");
        int server = accept(listener, NULL, NULL);
        if (server < 0)
            die("accept");
        if (i % 10 == 0) {
            int idle = 77, tos = 0x10;
            setsockopt(client, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
            setsockopt(server, IPPROTO_IP, IP_TOS, &tos, sizeof tos);
        }
        count += 2;
    }
    for (int i = 0; i < udp4; ++i) {
        int s = udp(AF_INET);
        if (i % 10 == 0) {
            int on = 1;
            setsockopt(s, IPPROTO_IP, IP_PKTINFO, &on, sizeof on);
        }
        ++count;
    }
    for (int i = 0; i < udp6; ++i) {
        udp(AF_INET6);
        ++count;
    }
    printf("ready %d\n", count);
    fflush(stdout);
    for (;;)
        pause();
}
