// Unix connections waiting, not accepted yet, in listeners' accept queues
// (tests/cr/cr_unix_pending.sh). The parent listens on four sockets: fd 10 stream on
// DIR/stream.sock, fd 11 stream on an abstract name, fd 12 seqpacket on DIR/seq.sock, fd 13
// seqpacket on an abstract name. Its child and itself then connect clients to them in one
// global order, so each queue mixes both processes:
//   fd 10: child 20, parent 30, child 21      fd 11: parent 31, child 22
//   fd 12: child 23, child 24, parent 32      fd 13: parent 33, child 25
// Client fds 21 and 32 are O_NONBLOCK, 22 and 30 not close-on-exec; 32 has shut down its
// sending side (its server must read end of file, it can still receive). Nothing is accepted
// before SIGUSR1. Prints "ready PARENT CHILD" once every client is connected.
// The child runs as uid and gid 65534 (the parent as root): servers must see that identity
// with SO_PEERCRED on its connections, the clients root on theirs.
// On SIGUSR1 (to the parent, which passes it on): every client checks its fd (type, flags,
// close-on-exec, the listener's name as its peer, its peer's identity) and writes its tag
// ("c20", "p31"...); the parent accepts each listener's queue and must get the tags in the
// order above (seqpacket: one message each) from the right identities, then finds no further
// connection, and answers "ack:TAG" on every
// accepted socket, which each client must read: "child verify ok", then "verify ok".
// Modes: "data": client 21 also sends "early" before the checkpoint (its listener must then
// read it first). "extra": one more connection, from outside this tree, is expected at the
// end of fd 10's queue; the parent reads it to end of file and prints what it carried
// ("extra: TEXT"). "ext PATH": the child also connects fd 26 to the outside listener PATH
// (never accepted here); on SIGUSR1 it writes "c26" there and expects "ack:c26" back.
// Usage: cr_unix_pending DIR [data|extra|ext PATH]
#define _GNU_SOURCE
#pragma GCC diagnostic ignored "-Wunused-function" // cr_net.h's port helpers are for TCP
#include "cr_net.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

struct Listener {
    int fd;
    int type;
    struct sockaddr_un address;
    socklen_t length;
};

struct Client {
    int fd;
    int listener; // index into g_listeners
    int in_child;
    int nonblock;
    int keep_on_exec; // not close-on-exec
    int shut_write; // shut down its sending side before the checkpoint: sends no tag, its server reads EOF
};

static struct Listener g_listeners[4];
// The global order in which the clients connect.
static struct Client const g_clients[] = {
    { 20, 0, 1, 0, 0, 0 }, { 31, 1, 0, 0, 0, 0 }, { 30, 0, 0, 0, 1, 0 }, { 23, 2, 1, 0, 0, 0 }, { 21, 0, 1, 1, 0, 0 },
    { 33, 3, 0, 0, 0, 0 }, { 22, 1, 1, 0, 1, 0 }, { 24, 2, 1, 0, 0, 0 }, { 25, 3, 1, 0, 0, 0 }, { 32, 2, 0, 1, 0, 1 },
};
#define CLIENT_COUNT ((int)(sizeof g_clients / sizeof g_clients[0]))
static int g_data_mode, g_extra_mode;
static unsigned const kChildId = 65534; // the child's uid and gid
static char const* g_ext_path;

static void tag_of(struct Client const* c, char* tag)
{
    snprintf(tag, 8, "%c%d", c->in_child ? 'c' : 'p', c->fd);
}

static void make_listener(int index, int fd, int type, char const* name, int abstract, int backlog)
{
    struct Listener* l = &g_listeners[index];
    l->fd = fd;
    l->type = type;
    memset(&l->address, 0, sizeof l->address);
    l->address.sun_family = AF_UNIX;
    size_t n = strlen(name);
    if (abstract)
        memcpy(l->address.sun_path + 1, name, n); // sun_path[0] = 0: abstract
    else
        memcpy(l->address.sun_path, name, n + 1);
    l->length
        = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1); // the NUL, or the leading 0 of an abstract name
    int s = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    if (s < 0 || bind(s, (struct sockaddr*)&l->address, l->length) < 0 || listen(s, backlog) < 0)
        die(name);
    if (!abstract && chmod(name, 0777) < 0) // the child, uid 65534, connects too
        die("chmod");
    place(s, fd);
}

static void connect_client(struct Client const* c)
{
    struct Listener const* l = &g_listeners[c->listener];
    int s = socket(AF_UNIX, l->type | SOCK_CLOEXEC, 0);
    if (s < 0 || connect(s, (struct sockaddr const*)&l->address, l->length) < 0)
        die("connect");
    place(s, c->fd);
    if (c->nonblock)
        fcntl(c->fd, F_SETFL, O_NONBLOCK);
    fcntl(c->fd, F_SETFD, c->keep_on_exec ? 0 : FD_CLOEXEC); // dup2 in place() cleared it
    if (g_data_mode && c->fd == 21 && write(21, "early", 5) != 5)
        die("write early");
    if (c->shut_write && shutdown(c->fd, SHUT_WR) < 0)
        die("shutdown");
}

// Reads one message (seqpacket) or `want` bytes (stream) within 3 s; 0 when it is `want`.
static int expect(int fd, int type, char const* want)
{
    char buffer[64] = { 0 };
    size_t n = strlen(want), got = 0;
    while (got < n) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 3000) != 1)
            return -1;
        ssize_t r = recv(fd, buffer + got, type == SOCK_SEQPACKET ? sizeof buffer - 1 : n - got, MSG_DONTWAIT);
        if (r <= 0)
            return -2;
        got += (size_t)r;
        if (type == SOCK_SEQPACKET)
            break; // one message, exactly the tag
    }
    return got == n && memcmp(buffer, want, n) == 0 ? 0 : -3;
}

// The client's own checks, then its tag.
static void client_start(struct Client const* c)
{
    struct Listener const* l = &g_listeners[c->listener];
    char tag[8];
    tag_of(c, tag);
    int type = 0;
    socklen_t n = sizeof type;
    getsockopt(c->fd, SOL_SOCKET, SO_TYPE, &type, &n);
    CHECK(type == l->type, "client %s: socket type %d, want %d", tag, type, l->type);
    int status = fcntl(c->fd, F_GETFL);
    CHECK(((status & O_NONBLOCK) != 0) == c->nonblock, "client %s: O_NONBLOCK %s", tag,
          c->nonblock ? "lost" : "gained");
    int fd_flags = fcntl(c->fd, F_GETFD);
    CHECK(((fd_flags & FD_CLOEXEC) == 0) == c->keep_on_exec, "client %s: close-on-exec flag %#x", tag, fd_flags);
    struct sockaddr_un peer;
    socklen_t length = sizeof peer;
    memset(&peer, 0, sizeof peer);
    CHECK(getpeername(c->fd, (struct sockaddr*)&peer, &length) == 0 && length == l->length
              && memcmp(&peer, &l->address, length) == 0,
          "client %s: its peer is not the listener's address", tag);
    struct ucred cred;
    socklen_t cred_length = sizeof cred;
    CHECK(getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_length) == 0 && cred.uid == 0 && cred.gid == 0,
          "client %s: listener's uid %u gid %u, want 0", tag, cred.uid, cred.gid);
    if (c->shut_write)
        CHECK(send(c->fd, tag, strlen(tag), MSG_NOSIGNAL) < 0 && errno == EPIPE, "client %s: can send again", tag);
    else
        CHECK(send(c->fd, tag, strlen(tag), MSG_NOSIGNAL) == (ssize_t)strlen(tag), "client %s: send tag", tag);
}

static void client_finish(struct Client const* c)
{
    char tag[8], ack[16];
    tag_of(c, tag);
    snprintf(ack, sizeof ack, "ack:%s", tag);
    int r = expect(c->fd, g_listeners[c->listener].type, ack);
    CHECK(r == 0, "client %s: no %s from the server (%d)", tag, ack, r);
}

static void run_clients(int in_child)
{
    for (int i = 0; i < CLIENT_COUNT; ++i)
        if (g_clients[i].in_child == in_child)
            client_start(&g_clients[i]);
    if (in_child && g_ext_path)
        CHECK(send(26, "c26", 3, MSG_NOSIGNAL) == 3, "client c26: send tag");
}

static void finish_clients(int in_child)
{
    for (int i = 0; i < CLIENT_COUNT; ++i)
        if (g_clients[i].in_child == in_child)
            client_finish(&g_clients[i]);
    if (in_child && g_ext_path)
        CHECK(expect(26, SOCK_STREAM, "ack:c26") == 0, "client c26: no ack from the outside server");
}

static int accept_within(int listener, int timeout_ms)
{
    struct pollfd p = { .fd = listener, .events = POLLIN };
    if (poll(&p, 1, timeout_ms) != 1)
        return -1;
    return accept4(listener, NULL, NULL, SOCK_CLOEXEC);
}

int main(int argc, char** argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: cr_unix_pending DIR [data|extra|ext PATH]\n");
        return 2;
    }
    g_data_mode = argc > 2 && strcmp(argv[2], "data") == 0;
    g_extra_mode = argc > 2 && strcmp(argv[2], "extra") == 0;
    if (argc > 3 && strcmp(argv[2], "ext") == 0)
        g_ext_path = argv[3];
    setup_go();
    char name[200];
    snprintf(name, sizeof name, "%s/stream.sock", argv[1]);
    make_listener(0, 10, SOCK_STREAM, name, 0, 5);
    snprintf(name, sizeof name, "cryo-pending-stream-%d", getpid());
    make_listener(1, 11, SOCK_STREAM, name, 1, 3);
    snprintf(name, sizeof name, "%s/seq.sock", argv[1]);
    make_listener(2, 12, SOCK_SEQPACKET, name, 0, 4);
    snprintf(name, sizeof name, "cryo-pending-seq-%d", getpid());
    make_listener(3, 13, SOCK_SEQPACKET, name, 1, 2);

    // The parent tells the child which client to connect next (its index), the child answers.
    int to_child[2], from_child[2];
    if (pipe2(to_child, O_CLOEXEC) < 0 || pipe2(from_child, O_CLOEXEC) < 0)
        die("pipe");
    pid_t child = fork();
    if (child == 0) {
        for (int fd = 10; fd <= 13; ++fd)
            close(fd);
        // Another identity than the parent's: each server end records it (SO_PEERCRED).
        if (setgroups(0, NULL) < 0 || setresgid(kChildId, kChildId, kChildId) < 0
            || setresuid(kChildId, kChildId, kChildId) < 0)
            die("become 65534");
        int index;
        while (read(to_child[0], &index, sizeof index) == sizeof index) {
            if (index < 0)
                break;
            connect_client(&g_clients[index]);
            if (write(from_child[1], &index, sizeof index) != sizeof index)
                die("answer");
        }
        if (g_ext_path) {
            struct sockaddr_un a = { .sun_family = AF_UNIX };
            snprintf(a.sun_path, sizeof a.sun_path, "%s", g_ext_path);
            int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (s < 0 || connect(s, (struct sockaddr*)&a, sizeof a) < 0)
                die("connect to the outside listener");
            place(s, 26);
        }
        close(to_child[0]);
        close(from_child[1]);
        wait_go();
        run_clients(1);
        finish_clients(1);
        printf("child %s\n", g_failures ? "verify failed" : "verify ok");
        return g_failures ? 1 : 0;
    }
    close(to_child[0]);
    close(from_child[1]);
    for (int i = 0; i < CLIENT_COUNT; ++i) {
        if (!g_clients[i].in_child) {
            connect_client(&g_clients[i]);
            continue;
        }
        int answer = -1;
        if (write(to_child[1], &i, sizeof i) != sizeof i || read(from_child[0], &answer, sizeof answer) != sizeof answer
            || answer != i)
            die("child connect");
    }
    int done = -1;
    if (write(to_child[1], &done, sizeof done) != sizeof done)
        die("child done");
    close(to_child[1]);
    char end;
    if (read(from_child[0], &end, 1) != 0) // the child closed its end: fd 26 is connected too
        die("child setup");
    close(from_child[0]);
    printf("ready %d %d\n", getpid(), child);
    wait_go();

    kill(child, SIGUSR1);
    run_clients(0);
    int accepted[CLIENT_COUNT]; // in accept order, with the client each must be
    struct Client const* accepted_client[CLIENT_COUNT];
    int count = 0;
    for (int l = 0; l < 4; ++l) {
        for (int i = 0; i < CLIENT_COUNT; ++i) {
            struct Client const* c = &g_clients[i];
            if (c->listener != l)
                continue;
            char tag[8];
            tag_of(c, tag);
            int s = accept_within(g_listeners[l].fd, 3000);
            CHECK(s >= 0, "listener fd %d: nothing to accept where %s's connection was", g_listeners[l].fd, tag);
            if (s < 0)
                continue;
            if (g_data_mode && c->fd == 21)
                CHECK(expect(s, SOCK_STREAM, "early") == 0, "listener fd 10: %s's early bytes missing", tag);
            int r = 0;
            if (c->shut_write) {
                char byte;
                struct pollfd p = { .fd = s, .events = POLLIN };
                r = poll(&p, 1, 3000) == 1 && recv(s, &byte, 1, MSG_DONTWAIT) == 0 ? 0 : -4; // end of file
            } else {
                r = expect(s, g_listeners[l].type, tag);
            }
            CHECK(r == 0, "listener fd %d: connection %d is not %s's (%d)", g_listeners[l].fd, count, tag, r);
            struct ucred cred;
            socklen_t cred_length = sizeof cred;
            unsigned want = c->in_child ? kChildId : 0;
            CHECK(getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &cred_length) == 0 && cred.uid == want
                      && cred.gid == want,
                  "listener fd %d: %s's connection has peer uid %u gid %u, want %u", g_listeners[l].fd, tag, cred.uid,
                  cred.gid, want);
            accepted_client[count] = c;
            accepted[count++] = s;
        }
        if (g_extra_mode && l == 0) {
            int s = accept_within(g_listeners[0].fd, 3000);
            CHECK(s >= 0, "listener fd 10: no extra connection from outside the tree");
            if (s >= 0) {
                char text[64] = { 0 };
                size_t got = 0;
                ssize_t r;
                while (got < sizeof text - 1 && (r = read(s, text + got, sizeof text - 1 - got)) > 0)
                    got += (size_t)r;
                printf("extra: %s\n", text);
                close(s);
            }
        }
        CHECK(accept_within(g_listeners[l].fd, 0) < 0, "listener fd %d: a connection more than expected",
              g_listeners[l].fd);
    }
    for (int a = 0; a < count; ++a) {
        char tag[8], ack[16];
        tag_of(accepted_client[a], tag);
        snprintf(ack, sizeof ack, "ack:%s", tag);
        CHECK(send(accepted[a], ack, strlen(ack), MSG_NOSIGNAL) == (ssize_t)strlen(ack), "send %s", ack);
    }
    finish_clients(0);
    int status = 0;
    CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x",
          status);
    printf("%s\n", g_failures ? "verify failed" : "verify ok");
    return g_failures ? 1 : 0;
}
