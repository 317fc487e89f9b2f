// Shared by the socket workloads cr_tcp_pending.c and cr_udp.c: failure counting (CHECK),
// die, moving an fd to a fixed number, local and peer ports of a socket, and the SIGUSR1
// "go" signal (blocked except while waiting for it, so it is never lost).
#pragma once

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t g_go;
static int g_failures;

#define CHECK(cond, ...)                                                                                               \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            printf("FAIL: " __VA_ARGS__);                                                                              \
            printf("\n");                                                                                              \
            g_failures++;                                                                                              \
        }                                                                                                              \
    } while (0)

static void die(char const* what)
{
    printf("FAIL: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void on_usr1(int sig)
{
    (void)sig;
    g_go = 1;
}

// SIGUSR1 sets g_go; blocked until wait_go (a signal sent while cryo still holds a restored
// process could otherwise be lost).
static void setup_go(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct sigaction sa = { .sa_handler = on_usr1 };
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
}

static void wait_go(void)
{
    sigset_t none;
    sigemptyset(&none);
    while (!g_go)
        sigsuspend(&none);
}

static void place(int fd, int want)
{
    if (fd < 0)
        die("socket");
    if (fd != want) {
        if (dup2(fd, want) < 0)
            die("dup2");
        close(fd);
    }
}

static int port_in(struct sockaddr_storage const* a)
{
    return a->ss_family == AF_INET ? ntohs(((struct sockaddr_in const*)a)->sin_port)
                                   : ntohs(((struct sockaddr_in6 const*)a)->sin6_port);
}

static int port_of(int fd)
{
    struct sockaddr_storage a;
    socklen_t n = sizeof a;
    if (getsockname(fd, (struct sockaddr*)&a, &n) < 0)
        return -1;
    return port_in(&a);
}

// -1 when not connected.
static int peer_of(int fd)
{
    struct sockaddr_storage a;
    socklen_t n = sizeof a;
    if (getpeername(fd, (struct sockaddr*)&a, &n) < 0)
        return -1;
    return port_in(&a);
}
