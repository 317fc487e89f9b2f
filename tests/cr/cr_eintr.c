// Checkpoint/restore workload for the syscalls the kernel ends with a plain EINTR, never
// restarted, when a freeze interrupts them (the eintr_reentry_safe table of
// src/checkpoint/syscall_reentry.cpp). One thread per call, all started together and timed on
// CLOCK_MONOTONIC from the common start:
//   epoll_inf        epoll_wait(ep on the wake pipe, -1): ends when main writes the pipe
//   epoll_timeout    epoll_wait(ep on a pipe nobody writes, S)
//   pwait_inf        epoll_pwait(ep on the wake pipe, -1, mask without SIGUSR2); then checks
//                    that its own mask (SIGUSR1 and SIGUSR2 blocked) is back: RET 2 if not
//   pwait2_timeout   epoll_pwait2(idle ep, S as a timespec, NULL)
//   sigtimedwait     rt_sigtimedwait({SIGUSR2}, S): nobody sends it
//   semtimedop       semtimedop(-1 on a semaphore at 0, S)
//   recv_timeout     recv on a unix socket nobody writes, SO_RCVTIMEO S
//   recv_block       recv on a unix socket without a timeout (-ERESTARTSYS, not EINTR, at a
//                    freeze): main writes it with the wake pipe
//   signalled        epoll_wait(idle ep, -1), the one thread with SIGUSR1 unblocked: the test
//                    sends SIGUSR1 to the process, the handler runs in it and the call must
//                    end with EINTR then (and only then)
// Prints "sem ID" (its semaphore set), then "ready PID" once every thread is inside its call
// (and 200 ms more); when the timed calls are over, main writes the wake pipe; when all are
// done it prints one line per call, "result NAME RET ERRNO ELAPSED_MS" (RET the raw return,
// ERRNO 0 or the errno name), then "handler N" (SIGUSR1 handler runs) and "done".
// tests/cr/cr_eintr.sh judges.
// Usage: cr_eintr S_MS [MIB]: MIB of memory written first (a longer frozen copy for a test that
// must act while the dump holds the process)
#define _GNU_SOURCE
#include "cr_workload.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441
#endif

enum {
    kEpollInf,
    kEpollTimeout,
    kPwaitInf,
    kPwait2Timeout,
    kSigtimedwait,
    kSemtimedop,
    kRecvTimeout,
    kRecvBlock,
    kSignalled,
    kCalls
};
static struct blocking_call g_calls[kCalls]
    = { [kEpollInf] = { .name = "epoll_inf" },        [kEpollTimeout] = { .name = "epoll_timeout" },
        [kPwaitInf] = { .name = "pwait_inf" },        [kPwait2Timeout] = { .name = "pwait2_timeout" },
        [kSigtimedwait] = { .name = "sigtimedwait" }, [kSemtimedop] = { .name = "semtimedop" },
        [kRecvTimeout] = { .name = "recv_timeout" },  [kRecvBlock] = { .name = "recv_block" },
        [kSignalled] = { .name = "signalled" } };
static long g_ms;
static int g_idle[2]; // nobody writes
static int g_wake[2]; // written once the timed calls are over
static int g_sem;
static int g_sock[2];
static int g_sock_block[2];
static int volatile g_handled;

static void on_usr1(int sig)
{
    (void)sig;
    ++g_handled;
}

static int epoll_on(int fd)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        perror("epoll");
        exit(1);
    }
    return ep;
}

static void* run(void* arg)
{
    int i = (int)(intptr_t)arg;
    struct epoll_event ev;
    struct timespec rel = { g_ms / 1000, (g_ms % 1000) * 1000000L };
    int ep = epoll_on(i == kEpollInf || i == kPwaitInf ? g_wake[0] : g_idle[0]);
    long r = -1;
    sigset_t set;
    char byte;
    errno = 0;
    if (i == kSignalled) {
        sigemptyset(&set);
        sigaddset(&set, SIGUSR1);
        pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    }
    g_calls[i].entering = 1;
    switch (i) {
    case kEpollInf:
    case kSignalled:
        r = epoll_wait(ep, &ev, 1, -1);
        break;
    case kEpollTimeout:
        r = epoll_wait(ep, &ev, 1, (int)g_ms);
        break;
    case kPwaitInf: {
        sigset_t during, after;
        sigfillset(&during);
        sigdelset(&during, SIGUSR2);
        r = epoll_pwait(ep, &ev, 1, -1, &during);
        int saved = errno;
        pthread_sigmask(SIG_SETMASK, NULL, &after);
        if (r == 1 && !(sigismember(&after, SIGUSR1) && sigismember(&after, SIGUSR2)))
            r = 2; // epoll_pwait's mask stayed
        errno = saved;
        break;
    }
    case kPwait2Timeout:
        r = syscall(SYS_epoll_pwait2, ep, &ev, 1, &rel, NULL, 8);
        break;
    case kSigtimedwait:
        sigemptyset(&set);
        sigaddset(&set, SIGUSR2);
        r = sigtimedwait(&set, NULL, &rel);
        break;
    case kSemtimedop: {
        struct sembuf op = { .sem_num = 0, .sem_op = -1, .sem_flg = 0 };
        r = semtimedop(g_sem, &op, 1, &rel);
        break;
    }
    case kRecvTimeout:
        r = recv(g_sock[0], &byte, 1, 0);
        break;
    case kRecvBlock:
        r = recv(g_sock_block[0], &byte, 1, 0);
        break;
    }
    end_call(&g_calls[i], r);
    close(ep);
    return NULL;
}

int main(int argc, char** argv)
{
    if (argc < 2 || argc > 3 || (g_ms = atol(argv[1])) <= 0)
        return fprintf(stderr, "usage: cr_eintr S_MS [MIB]\n"), 2;
    size_t bytes = argc == 3 ? (size_t)atol(argv[2]) << 20 : 0;
    char* memory = bytes ? malloc(bytes) : NULL;
    for (size_t i = 0; memory && i < bytes; i += 4096)
        memory[i] = (char)(i >> 12);
    setvbuf(stdout, NULL, _IONBF, 0);
    if (pipe2(g_idle, O_CLOEXEC) != 0 || pipe2(g_wake, O_CLOEXEC) != 0)
        return perror("pipe"), 1;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, g_sock) != 0
        || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, g_sock_block) != 0)
        return perror("socketpair"), 1;
    struct timeval tv = { g_ms / 1000, (g_ms % 1000) * 1000 };
    if (setsockopt(g_sock[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0)
        return perror("SO_RCVTIMEO"), 1;
    if ((g_sem = semget(IPC_PRIVATE, 1, 0600)) < 0)
        return perror("semget"), 1;
    printf("sem %d\n", g_sem); // the test removes it if this process does not get to
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART; // epoll_wait is never restarted after a handler, SA_RESTART or not
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t blocked;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGUSR1);
    sigaddset(&blocked, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &blocked, NULL); // every thread but `signalled` keeps them blocked
    start_calls(g_calls, kCalls, run);
    wait_calls_inside(g_calls, kCalls);
    printf("ready %d\n", getpid());
    for (int i = 0; i < kCalls; ++i)
        if (i != kEpollInf && i != kPwaitInf && i != kRecvBlock && i != kSignalled)
            pthread_join(g_calls[i].thread, NULL);
    if (write(g_wake[1], "x", 1) != 1 || write(g_sock_block[1], "x", 1) != 1)
        return perror("write"), 1;
    pthread_join(g_calls[kEpollInf].thread, NULL);
    pthread_join(g_calls[kPwaitInf].thread, NULL);
    pthread_join(g_calls[kRecvBlock].thread, NULL);
    pthread_join(g_calls[kSignalled].thread, NULL);
    semctl(g_sem, 0, IPC_RMID);
    print_call_results(g_calls, kCalls);
    printf("handler %d\ndone\n", g_handled);
    return 0;
}
