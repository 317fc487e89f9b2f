// Round trips and rejection of the task state and memory objects in the process metadata
// (task_state_codec.cpp), and the /proc/PID/timers parser.
#include <gtest/gtest.h>

#include <csignal>

#include "checkpoint/codec.h"
#include "sys/file_locks.h"
#include "sys/task_attrs.h"

using namespace cryo;
using namespace cryo::checkpoint;

namespace {

QueuedSignal queued(int sig, uint8_t fill)
{
    QueuedSignal s;
    s.signal = sig;
    s.siginfo.assign(kSiginfoSize, fill);
    s.siginfo[0] = static_cast<uint8_t>(sig);
    return s;
}

Process full_process()
{
    Process p;
    p.pid = 42;
    for (int tid : { 42, 43 }) {
        Thread t;
        t.tid = tid;
        p.threads.push_back(t);
    }
    auto& leader = p.threads[0].state;
    leader.comm = "main";
    leader.altstack = { 0x7000000, 0, 65536 };
    leader.has_sched = true;
    leader.nice = 7;
    leader.robust_list = RobustList { 0x7f12345679a0, 24 };
    auto& worker = p.threads[1].state;
    worker.comm = "worker thread";
    worker.pending = { queued(SIGURG, 1), queued(SIGRTMIN + 2, 2) };
    worker.has_sched = true;
    worker.sched_policy = 3; // SCHED_BATCH
    worker.sched_flags = 1;
    worker.nice = 12;
    worker.robust_list = RobustList { 0, 24 }; // none registered: restored as none
    auto& s = p.state;
    s.shared_pending = { queued(SIGUSR2, 3), queued(SIGRTMIN + 1, 4), queued(SIGRTMIN + 1, 5) };
    s.itimers = { { 0, 15000, 20000 }, { 1, 99000000, 7000000 } };
    s.posix_timers = { { .id = 5,
                         .clock_id = 1,
                         .notify = 0,
                         .signal = 37,
                         .value = 0x1234,
                         .target = 0,
                         .value_ns = 1000,
                         .interval_ns = 10000000 },
                       { .id = 7,
                         .clock_id = 0,
                         .notify = 4,
                         .signal = 38,
                         .value = 0x5678,
                         .target = 43,
                         .value_ns = 99000000000,
                         .interval_ns = 0 } };
    s.personality = 0x0440000;
    s.dumpable = 0;
    s.pdeathsig = SIGHUP;
    s.child_subreaper = true;
    s.securebits = 0x10;
    s.file_locks = { { LockKind::Flock, true, 3, 0, 0 },
                     { LockKind::Posix, false, 3, 100, 0 },
                     { LockKind::Ofd, true, 4, 10, 5 } };
    p.files = { { .fd = 3, .description = 1, .cloexec = false }, { .fd = 4, .description = 2, .cloexec = true } };
    p.file_descriptions = { { .id = 1, .kind = FileKind::Regular, .path = "/tmp/a" },
                            { .id = 2, .kind = FileKind::Regular, .path = "/tmp/b" } };
    MemoryObject shm { .id = 1,
                       .kind = MemoryObjectKind::SharedAnonymous,
                       .path = "",
                       .size = 4 << 20,
                       .mode = 0777,
                       .uid = 0,
                       .gid = 0,
                       .seals = 0,
                       .extents = { { 0, 8192 }, { 1 << 20, 4096 } },
                       .dev = 0,
                       .inode = 0 };
    MemoryObject memfd { .id = 2,
                         .kind = MemoryObjectKind::Memfd,
                         .path = "cr shared",
                         .size = 65536,
                         .mode = 0600,
                         .uid = 1000,
                         .gid = 100,
                         .seals = 8,
                         .extents = {},
                         .dev = 0,
                         .inode = 0 };
    p.memory_objects = { shm, memfd };
    MemoryArea a;
    a.start = 0x10000;
    a.end = 0x20000;
    a.kind = AreaKind::SharedAnonymous;
    a.object = 1;
    p.areas.push_back(a);
    MemoryArea b = a;
    b.start = 0x30000;
    b.end = 0x40000;
    b.kind = AreaKind::FileShared;
    b.name = "/memfd:cr shared (deleted)";
    b.object = 2;
    p.areas.push_back(b);
    MemoryArea plain = a;
    plain.start = 0x50000;
    plain.end = 0x51000;
    plain.kind = AreaKind::Anonymous;
    plain.object = 0;
    p.areas.push_back(plain);
    return p;
}

std::string edited(std::string text, std::string const& from, std::string const& to)
{
    auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos)
        text.replace(at, from.size(), to);
    return text;
}

} // namespace

TEST(TaskStateCodec, RoundTripKeepsEverything)
{
    auto p = full_process();
    auto decoded = decode_process(encode_process(p));
    ASSERT_TRUE(decoded) << decoded.error().message();
    EXPECT_EQ(decoded->state, p.state);
    ASSERT_EQ(decoded->threads.size(), 2u);
    EXPECT_EQ(decoded->threads[0].state, p.threads[0].state);
    EXPECT_EQ(decoded->threads[1].state, p.threads[1].state);
    EXPECT_EQ(decoded->memory_objects, p.memory_objects);
    ASSERT_EQ(decoded->areas.size(), 3u);
    EXPECT_EQ(decoded->areas[0].object, 1u);
    EXPECT_EQ(decoded->areas[1].object, 2u);
    EXPECT_EQ(decoded->areas[2].object, 0u);
    EXPECT_EQ(decoded->areas[0].kind, AreaKind::SharedAnonymous);
}

TEST(TaskStateCodec, ZombieRoundTrip)
{
    Process p;
    p.pid = 50;
    Thread t;
    t.tid = 50;
    p.threads.push_back(t);
    p.state.zombie = true;
    p.state.exit_status = 42 << 8;
    auto decoded = decode_process(encode_process(p));
    ASSERT_TRUE(decoded) << decoded.error().message();
    EXPECT_TRUE(decoded->state.zombie);
    EXPECT_EQ(decoded->state.exit_status, 42 << 8);
}

TEST(TaskStateCodec, ImageWithoutTaskKeysDecodesToDefaults)
{
    // An image written before this state existed: no "task" keys, no objects.
    Process p;
    p.pid = 7;
    Thread t;
    t.tid = 7;
    p.threads.push_back(t);
    auto text = encode_process(p);
    auto without = edited(text, "\"task\":", "\"old_unknown_task\":");
    auto decoded = decode_process(without);
    ASSERT_TRUE(decoded) << decoded.error().message();
    EXPECT_EQ(decoded->state, ProcessState {});
    EXPECT_FALSE(decoded->threads[0].state.has_sched);
    EXPECT_TRUE(decoded->threads[0].state.altstack.flags & 2); // SS_DISABLE
    EXPECT_FALSE(decoded->threads[0].state.robust_list);
}

TEST(TaskStateCodec, RobustListRoundTripAndOlderImages)
{
    auto p = full_process();
    auto text = encode_process(p);
    auto decoded = decode_process(text);
    ASSERT_TRUE(decoded) << decoded.error().message();
    ASSERT_TRUE(decoded->threads[0].state.robust_list);
    EXPECT_EQ(*decoded->threads[0].state.robust_list, (RobustList { 0x7f12345679a0, 24 }));
    ASSERT_TRUE(decoded->threads[1].state.robust_list);
    EXPECT_EQ(*decoded->threads[1].state.robust_list, (RobustList { 0, 24 }));

    // An image from before the key: the threads decode without one (restore leaves them as
    // created), everything else unchanged.
    auto older = text;
    for (size_t at; (at = older.find("\"robust_list\":")) != std::string::npos;)
        older.replace(at, 14, "\"old_unknown\":");
    decoded = decode_process(older);
    ASSERT_TRUE(decoded) << decoded.error().message();
    EXPECT_FALSE(decoded->threads[0].state.robust_list);
    EXPECT_FALSE(decoded->threads[1].state.robust_list);
    auto expected = p.threads[1].state;
    expected.robust_list.reset();
    EXPECT_EQ(decoded->threads[1].state, expected);

    // A length set_robust_list(2) never takes, and a head that is not a number.
    auto r = decode_process(edited(text, "\"length\": 24", "\"length\": 0"));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("robust list of length 0"), std::string::npos) << r.error().message();
    r = decode_process(edited(text, "\"head\": 0", "\"head\": \"x\""));
    EXPECT_FALSE(r);
}

TEST(TaskStateCodec, RejectsBadInput)
{
    auto text = encode_process(full_process());
    // An area naming an object the image does not have.
    auto r = decode_process(edited(text, "\"object\": 2", "\"object\": 9"));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("memory object 9 is not in the image"), std::string::npos)
        << r.error().message();
    // A siginfo of the wrong size.
    r = decode_process(edited(text, "\"siginfo\": \"", "\"siginfo\": \"00"));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("siginfo"), std::string::npos) << r.error().message();
    // The same timer id twice.
    r = decode_process(edited(text, "\"id\": 7", "\"id\": 5"));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("appears twice"), std::string::npos) << r.error().message();
    // An extent past the object's end.
    r = decode_process(edited(text, "1048576,", "4194300,"));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("bad extent"), std::string::npos) << r.error().message();
    // A lock on an fd that is not open, and an unknown lock kind.
    auto unopened = full_process();
    unopened.state.file_locks[2].fd = 9;
    r = decode_process(encode_process(unopened));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("file lock on fd 9, which is not open"), std::string::npos)
        << r.error().message();
    r = decode_process(edited(text, "\"kind\": \"ofd\"", "\"kind\": \"lease\""));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("unknown kind"), std::string::npos) << r.error().message();
    // An unknown object kind.
    r = decode_process(edited(text, "\"kind\": \"memfd\"", "\"kind\": \"sysv\""));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("unknown kind"), std::string::npos) << r.error().message();
}

TEST(ProcTimers, ParsesEveryNotifyKind)
{
    auto timers = sys::parse_proc_timers("ID: 8\nsignal: 0/0000000000000000\nnotify: none/pid.12201\nClockID: 7\n"
                                         "ID: 7\nsignal: 38/0000000000005678\nnotify: signal/tid.12203\nClockID: 0\n"
                                         "ID: 5\nsignal: 37/0000000000001234\nnotify: signal/pid.12201\nClockID: 1\n"
                                         "ID: 2\nsignal: 14/00007f0000000010\nnotify: thread/pid.9\nClockID: 0\n");
    ASSERT_TRUE(timers) << timers.error().message();
    ASSERT_EQ(timers->size(), 4u);
    EXPECT_EQ((*timers)[0].id, 8);
    EXPECT_EQ((*timers)[0].notify, SIGEV_NONE);
    EXPECT_EQ((*timers)[0].clock_id, 7);
    EXPECT_EQ((*timers)[1].notify, SIGEV_SIGNAL | SIGEV_THREAD_ID);
    EXPECT_EQ((*timers)[1].target, 12203);
    EXPECT_EQ((*timers)[1].value, 0x5678u);
    EXPECT_EQ((*timers)[1].signal, 38);
    EXPECT_EQ((*timers)[2].notify, SIGEV_SIGNAL);
    EXPECT_EQ((*timers)[2].target, 12201);
    EXPECT_EQ((*timers)[3].notify, SIGEV_THREAD);
    EXPECT_EQ((*timers)[3].value, 0x7f0000000010u);
    EXPECT_TRUE(sys::parse_proc_timers("")->empty());
}

TEST(ProcTimers, RejectsGarbage)
{
    EXPECT_FALSE(sys::parse_proc_timers("signal: 1/0\n"));
    EXPECT_FALSE(sys::parse_proc_timers("ID: x\n"));
    EXPECT_FALSE(sys::parse_proc_timers("ID: 1\nnotify: bogus/pid.1\n"));
    EXPECT_FALSE(sys::parse_proc_timers("ID: 1\nnotify: signal/who.1\n"));
    EXPECT_FALSE(sys::parse_proc_timers("ID: 1\nsignal: 14\n"));
}

TEST(FdinfoLocks, ParsesFlockPosixAndOfdLines)
{
    auto locks = sys::parse_fdinfo_locks("pos:\t0\nflags:\t02100002\nmnt_id:\t27\nino:\t11125839\n"
                                         "lock:\t1: FLOCK  ADVISORY  WRITE 23513 fe:00:11125828 0 EOF\n"
                                         "lock:\t2: POSIX  ADVISORY  WRITE 23513 fe:00:11125838 5 14\n"
                                         "lock:\t3: OFDLCK ADVISORY  READ -1 fe:00:11125839 0 EOF\n");
    ASSERT_TRUE(locks) << locks.error().message();
    ASSERT_EQ(locks->size(), 3u);
    EXPECT_EQ((*locks)[0].kind, "FLOCK");
    EXPECT_EQ((*locks)[0].access, "WRITE");
    EXPECT_EQ((*locks)[0].pid, 23513);
    EXPECT_EQ((*locks)[0].length, 0u);
    EXPECT_EQ((*locks)[1].kind, "POSIX");
    EXPECT_EQ((*locks)[1].start, 5u);
    EXPECT_EQ((*locks)[1].length, 10u); // bytes 5 to 14 inclusive
    EXPECT_EQ((*locks)[2].kind, "OFDLCK");
    EXPECT_EQ((*locks)[2].access, "READ");
    EXPECT_EQ((*locks)[2].pid, -1);
    EXPECT_TRUE(sys::parse_fdinfo_locks("pos:\t0\n")->empty());
}

TEST(FdinfoLocks, RejectsGarbage)
{
    EXPECT_FALSE(sys::parse_fdinfo_locks("lock:\t1: POSIX ADVISORY WRITE\n"));
    EXPECT_FALSE(sys::parse_fdinfo_locks("lock:\t1: POSIX ADVISORY WRITE x fe:00:1 0 EOF\n"));
    EXPECT_FALSE(sys::parse_fdinfo_locks("lock:\t1: POSIX ADVISORY WRITE 1 fe:00:1 9 3\n"));
}
