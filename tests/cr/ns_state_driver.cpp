// Test driver of checkpoint/ns_state.h (tests/cr/ns_ipc.sh, tests/cr/ns_net.sh):
//   ns_state_driver {dump|restore}-{ipc|net} PID DIR
//     Prints nothing on success; the error as one line on stderr otherwise (exit 1).
//   ns_state_driver ipc-setup   (in the ipc namespace it runs in: objects with known contents)
//   ns_state_driver ipc-show    (prints every object of its ipc namespace, contents included)
//   ns_state_driver ipc-attach-removed  (holds a segment marked IPC_RMID; prints "ready ID")
//   ns_state_driver ipc-sparse  (a 64 MiB segment with one page written)
// ipc-setup and ipc-show use raw SysV calls, not the code under test: they are the oracle.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>
#include <vector>

#include "checkpoint/ns_state.h"

using namespace cryo;

namespace {

[[noreturn]] void die(char const* what)
{
    std::fprintf(stderr, "ns_state_driver: %s: %s\n", what, std::strerror(errno));
    std::exit(1);
}

int check(int r, char const* what)
{
    if (r < 0)
        die(what);
    return r;
}

void write_sysctl(char const* name, char const* value)
{
    std::string path = std::string("/proc/sys/kernel/") + name;
    FILE* f = std::fopen(path.c_str(), "w");
    if (!f || std::fputs(value, f) < 0 || std::fclose(f) != 0)
        die(path.c_str());
}

union SemArgument {
    int value;
    struct semid_ds* buffer;
    unsigned short* array;
};

struct Message {
    long type;
    char text[256];
};

void send(int queue, long type, char const* text)
{
    Message m {};
    m.type = type;
    std::strcpy(m.text, text);
    check(msgsnd(queue, &m, std::strlen(text), IPC_NOWAIT), "msgsnd");
}

// Ids with a sequence number above 0 (made, removed, made again), owners other than root, a
// creator other than root, a segment with a pattern, a locked one, semaphores with values, a
// queue with two messages and a smaller size, an empty private queue.
int ipc_setup()
{
    for (int i = 0; i < 2; ++i)
        check(shmctl(check(shmget(IPC_PRIVATE, 4096, 0600), "shmget"), IPC_RMID, nullptr), "shmctl IPC_RMID");
    int shm = check(shmget(0x5eed, 3 * 4096 + 100, IPC_CREAT | 0640), "shmget 0x5eed");
    auto* p = static_cast<unsigned char*>(shmat(shm, nullptr, 0));
    if (p == reinterpret_cast<unsigned char*>(-1))
        die("shmat");
    for (size_t i = 0; i < 3 * 4096 + 100; ++i)
        p[i] = static_cast<unsigned char>(i * 7 + 3);
    shmdt(p);
    struct shmid_ds ds { };
    check(shmctl(shm, IPC_STAT, &ds), "shmctl IPC_STAT");
    ds.shm_perm.uid = 1000;
    ds.shm_perm.gid = 1001;
    check(shmctl(shm, IPC_SET, &ds), "shmctl IPC_SET");

    int locked = check(shmget(0x10c4, 8192, IPC_CREAT | 0600), "shmget 0x10c4");
    check(shmctl(locked, SHM_LOCK, nullptr), "SHM_LOCK");

    // Made by uid 1234 (cuid), the way a container's non-root process would.
    if (setresgid(-1, 4321, -1) < 0 || setresuid(-1, 1234, -1) < 0)
        die("setresuid");
    int by_user = check(shmget(0xabc, 4096, IPC_CREAT | 0666), "shmget 0xabc");
    int sem = check(semget(0x5e4, 3, IPC_CREAT | 0660), "semget");
    if (setresuid(-1, 0, -1) < 0 || setresgid(-1, 0, -1) < 0)
        die("setresuid 0");
    (void)by_user;
    unsigned short values[3] = { 7, 0, 42 };
    SemArgument argument { .array = values };
    check(semctl(sem, 0, SETALL, argument), "semctl SETALL");

    int queue = check(msgget(0x3e55, IPC_CREAT | 0620), "msgget");
    send(queue, 1, "first message");
    send(queue, 5, "second, of type 5");
    struct msqid_ds qs { };
    check(msgctl(queue, IPC_STAT, &qs), "msgctl IPC_STAT");
    qs.msg_qbytes = 4000;
    qs.msg_perm.uid = 1000;
    check(msgctl(queue, IPC_SET, &qs), "msgctl IPC_SET");
    check(msgget(IPC_PRIVATE, 0600), "msgget private");
    // Limits of the namespace's own, one below a queue's size (a restore must widen it for a
    // moment: raising msg_qbytes above msgmnb would need CAP_SYS_RESOURCE).
    write_sysctl("msgmnb", "2000");
    write_sysctl("shmmni", "1000");
    write_sysctl("sem", "250 32000 64 1000");
    return 0;
}

// A segment marked for removal while this process stays attached (as a container's process
// would be): prints "ready ID", then waits to be killed.
int ipc_attach_removed()
{
    int shm = check(shmget(IPC_PRIVATE, 8192, 0600), "shmget");
    auto* p = static_cast<unsigned char*>(shmat(shm, nullptr, 0));
    if (p == reinterpret_cast<unsigned char*>(-1))
        die("shmat");
    for (size_t i = 0; i < 8192; ++i)
        p[i] = static_cast<unsigned char>(i ^ 0x5a);
    check(shmctl(shm, IPC_RMID, nullptr), "shmctl IPC_RMID");
    std::printf("ready %d\n", shm);
    std::fflush(stdout);
    for (;;)
        pause();
}

// A 64 MiB segment of which only one page, at 32 MiB, was ever written.
int ipc_sparse()
{
    size_t const size = 64 << 20;
    int shm = check(shmget(0x5a11, size, IPC_CREAT | 0600), "shmget 0x5a11");
    auto* p = static_cast<unsigned char*>(shmat(shm, nullptr, 0));
    if (p == reinterpret_cast<unsigned char*>(-1))
        die("shmat");
    for (size_t i = 0; i < 4096; ++i)
        p[(32 << 20) + i] = static_cast<unsigned char>(i * 13 + 1);
    shmdt(p);
    return 0;
}

std::vector<int> ids_of(char const* path)
{
    std::vector<int> ids;
    FILE* f = std::fopen(path, "r");
    if (!f)
        die(path);
    char line[512];
    if (!std::fgets(line, sizeof line, f))
        die("header");
    while (std::fgets(line, sizeof line, f)) {
        long long key;
        int id;
        if (std::sscanf(line, "%lld %d", &key, &id) == 2)
            ids.push_back(id);
    }
    std::fclose(f);
    return ids;
}

void print_perm(struct ipc_perm const& p)
{
    std::printf(" key=%#x mode=%o uid=%u gid=%u cuid=%u cgid=%u", static_cast<unsigned>(p.__key), p.mode & 07777, p.uid,
                p.gid, p.cuid, p.cgid);
}

int ipc_show()
{
    for (char const* name : { "msgmnb", "msgmax", "shmmni", "sem", "shmmax" }) {
        std::string path = std::string("/proc/sys/kernel/") + name;
        FILE* f = std::fopen(path.c_str(), "r");
        char value[128] {};
        if (!f || !std::fgets(value, sizeof value, f))
            die(path.c_str());
        std::fclose(f);
        std::printf("sysctl %s=%s", name, value);
    }
    for (int id : ids_of("/proc/sysvipc/shm")) {
        struct shmid_ds ds { };
        check(shmctl(id, IPC_STAT, &ds), "shmctl IPC_STAT");
        std::printf("shm %d", id);
        print_perm(ds.shm_perm);
        auto* p = static_cast<unsigned char*>(shmat(id, nullptr, SHM_RDONLY));
        if (p == reinterpret_cast<unsigned char*>(-1))
            die("shmat");
        unsigned long sum = 0;
        for (size_t i = 0; i < ds.shm_segsz; ++i)
            sum = sum * 31 + p[i];
        shmdt(p);
        std::printf(" size=%zu sum=%lx\n", ds.shm_segsz, sum);
    }
    for (int id : ids_of("/proc/sysvipc/sem")) {
        struct semid_ds ds { };
        SemArgument argument { .buffer = &ds };
        check(semctl(id, 0, IPC_STAT, argument), "semctl IPC_STAT");
        std::printf("sem %d", id);
        print_perm(ds.sem_perm);
        std::vector<unsigned short> values(ds.sem_nsems);
        argument.array = values.data();
        check(semctl(id, 0, GETALL, argument), "semctl GETALL");
        std::printf(" values=");
        for (auto v : values)
            std::printf("%u,", v);
        std::printf("\n");
    }
    for (int id : ids_of("/proc/sysvipc/msg")) {
        struct msqid_ds ds { };
        check(msgctl(id, IPC_STAT, &ds), "msgctl IPC_STAT");
        std::printf("msg %d", id);
        print_perm(ds.msg_perm);
        std::printf(" qbytes=%lu qnum=%lu", ds.msg_qbytes, ds.msg_qnum);
        for (size_t i = 0; i < ds.msg_qnum; ++i) {
            Message m {};
            ssize_t n = msgrcv(id, &m, sizeof m.text, static_cast<long>(i), IPC_NOWAIT | MSG_COPY);
            if (n < 0)
                die("msgrcv MSG_COPY");
            std::printf(" [%ld:%.*s]", m.type, static_cast<int>(n), m.text);
        }
        std::printf("\n");
    }
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    if (argc == 2 && std::strcmp(argv[1], "ipc-setup") == 0)
        return ipc_setup();
    if (argc == 2 && std::strcmp(argv[1], "ipc-show") == 0)
        return ipc_show();
    if (argc == 2 && std::strcmp(argv[1], "ipc-attach-removed") == 0)
        return ipc_attach_removed();
    if (argc == 2 && std::strcmp(argv[1], "ipc-sparse") == 0)
        return ipc_sparse();
    if (argc != 4) {
        std::fprintf(stderr, "usage: ns_state_driver {dump|restore}-{ipc|net} PID DIR | ipc-setup | ipc-show\n");
        return 2;
    }
    std::string verb = argv[1];
    int pid = std::atoi(argv[2]);
    std::string dir = argv[3];
    Result<void> result = Error::format("unknown verb {}", verb);
    if (verb == "dump-ipc")
        result = checkpoint::dump_ipc_namespace(pid, dir);
    else if (verb == "restore-ipc")
        result = checkpoint::restore_ipc_namespace(pid, dir);
    else if (verb == "dump-net")
        result = checkpoint::dump_net_namespace(pid, dir);
    else if (verb == "restore-net")
        result = checkpoint::restore_net_namespace(pid, dir);
    if (!result) {
        std::fprintf(stderr, "ns_state_driver: %s\n", result.error().message().c_str());
        return 1;
    }
    return 0;
}
