// Checkpoint/restore workload for unix sockets connected to a peer outside the tree
// (tests/cr/cr_ext_unix.sh, cryo dump --ext-unix-sk): a stream socket connected to the
// listener at PATH and a datagram socket connected to the bound datagram socket PATH.d, both
// served by a process outside the tree. It sends "before" on both (the stream gets the
// server's echo; the server logs datagrams), prints "ready PID", and on SIGUSR1 (after the
// restore: new connections to the same names) sends "after" on both, expecting the stream's
// echo. Prints "verify ok" or "FAIL: ...".
// Usage: cr_ext_unix PATH
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t g_verify;
static void on_usr1(int sig) { (void)sig; g_verify = 1; }

static int connected(char const* path, int type)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    int fd = socket(AF_UNIX, type, 0);
    if (fd < 0 || connect(fd, (struct sockaddr*)&a, sizeof a) != 0)
        return -1;
    return fd;
}

// Sends `word` and expects "echo:<word>" back within 5 s.
static int exchange(int fd, char const* what, char const* word, char* error, size_t n)
{
    char reply[64] = "", expected[64];
    snprintf(expected, sizeof expected, "echo:%s", word);
    if (send(fd, word, strlen(word), 0) != (ssize_t)strlen(word))
        return snprintf(error, n, "%s: send %s: %s", what, word, strerror(errno)), 0;
    struct timeval tv = { 5, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    size_t got = 0;
    while (got < strlen(expected)) {
        ssize_t r = recv(fd, reply + got, sizeof reply - 1 - got, 0);
        if (r <= 0)
            return snprintf(error, n, "%s: no echo of %s (%s)", what, word, r == 0 ? "EOF" : strerror(errno)), 0;
        got += (size_t)r;
    }
    reply[got] = 0;
    if (strcmp(reply, expected) != 0)
        return snprintf(error, n, "%s: got \"%s\", expected \"%s\"", what, reply, expected), 0;
    return 1;
}

int main(int argc, char** argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc != 2)
        return fprintf(stderr, "usage: cr_ext_unix PATH\n"), 2;
    struct sigaction sa = { 0 };
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    char dgram_path[108];
    snprintf(dgram_path, sizeof dgram_path, "%s.d", argv[1]);
    int stream = connected(argv[1], SOCK_STREAM);
    int dgram = connected(dgram_path, SOCK_DGRAM);
    if (stream < 0 || dgram < 0)
        return printf("FAIL: connect: %s\n", strerror(errno)), 1;
    char error[256] = "";
    if (!exchange(stream, "stream", "before", error, sizeof error))
        return printf("FAIL: %s\n", error), 1;
    // The datagram socket has no name: the server only logs what it receives.
    if (send(dgram, "before", 6, 0) != 6)
        return printf("FAIL: datagram send: %s\n", strerror(errno)), 1;
    printf("ready %d\n", getpid());
    while (!g_verify) {
        struct timespec ts = { 0, 20000000 };
        nanosleep(&ts, NULL);
    }
    if (!exchange(stream, "stream", "after", error, sizeof error))
        return printf("FAIL: %s\n", error), 1;
    if (send(dgram, "after", 5, 0) != 5)
        return printf("FAIL: datagram send: %s\n", strerror(errno)), 1;
    printf("verify ok\n");
    return 0;
}
