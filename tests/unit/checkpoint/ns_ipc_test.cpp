// ipc namespace image: /proc/sysvipc parsing and the ipc.json codec (checkpoint/ns_state_model.h).
#include <cstdlib>
#include <gtest/gtest.h>
#include <unistd.h>

#include "checkpoint/ns_state_model.h"
#include "sys/file_kinds.h"
#include "sys/sysvipc.h"

using namespace cryo;
using namespace cryo::checkpoint;

namespace {

// Real /proc/sysvipc tables of linux 6.18 (keys above 2^31 print negative).
constexpr char const* kShmTable
    = "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      "
      "dtime      ctime                   rss                  swap\n"
      "1472481635          0   644                  4096 27069     0      0     0     0     0     0          0         "
      " "
      "0 1795821356                     0                     0\n"
      "         0      32769  1600                 12388 27070 27071      2  1000  1001     0     0 1795821400 "
      "1795821300 1795821356                 12288                     0\n";
constexpr char const* kSemTable
    = "       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n"
      "-518390622          0   644          3     0     0     0     0          0 1795821356\n";
constexpr char const* kMsgTable
    = "       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime    "
      "  "
      "ctime\n"
      "1481904862          0   644           0          0     0     0     0     0     0     0          0          0 "
      "1795821356\n"
      "-1079709270          1   644          30          2   812     0     0     0     0     0 1795821390          0 "
      "1795821356\n";

IpcState sample_state()
{
    IpcState state;
    state.sysctls = { { "shmmax", "18446744073692774399" }, { "msgmnb", "2000" }, { "sem", "250\t32000\t64\t1000" } };
    ShmSegment shm;
    shm.id = 32769;
    shm.owner = { .key = 0x5eed, .uid = 1000, .gid = 1001, .cuid = 1234, .cgid = 4321, .mode = 0640 };
    shm.size = 12388;
    shm.locked = true;
    shm.destroyed = true;
    shm.data_file = "ipc-shm-32769.img";
    shm.crc32c = 0xe3069283;
    state.shm.push_back(shm);
    state.semaphores.push_back({ .id = 0, .owner = { .key = -518390622, .mode = 0660 }, .values = { 7, 0, 65535 } });
    MessageQueue queue;
    queue.id = 1;
    queue.owner = { .key = 0x3e55, .uid = 1000, .mode = 0620 };
    queue.max_bytes = 4000;
    queue.messages = { { .type = 1, .text = { 'h', 'i' } },
                       { .type = 5, .text = { 0, 0xff, 0x80, '\n' } },
                       { .type = 9, .text = {} } };
    state.queues.push_back(queue);
    return state;
}

} // namespace

TEST(NsIpc, SysvipcTablesGiveIdsAndKeys)
{
    auto shm = parse_sysvipc(kShmTable, "shmid");
    ASSERT_TRUE(shm) << shm.error().message();
    ASSERT_EQ(shm->size(), 2u);
    EXPECT_EQ((*shm)[0], (SysvIpcEntry { .key = 1472481635, .id = 0 }));
    EXPECT_EQ((*shm)[1], (SysvIpcEntry { .key = 0, .id = 32769 }));

    auto sem = parse_sysvipc(kSemTable, "semid");
    ASSERT_TRUE(sem) << sem.error().message();
    ASSERT_EQ(sem->size(), 1u);
    EXPECT_EQ((*sem)[0].key, -518390622);

    auto msg = parse_sysvipc(kMsgTable, "msqid");
    ASSERT_TRUE(msg) << msg.error().message();
    ASSERT_EQ(msg->size(), 2u);
    EXPECT_EQ((*msg)[1], (SysvIpcEntry { .key = -1079709270, .id = 1 }));
}

TEST(NsIpc, SysvipcEmptyTableAndBadInput)
{
    auto empty = parse_sysvipc("       key      semid perms      nsems\n", "semid");
    ASSERT_TRUE(empty);
    EXPECT_TRUE(empty->empty());

    EXPECT_FALSE(parse_sysvipc("", "shmid"));
    auto wrong_column = parse_sysvipc(kSemTable, "shmid");
    ASSERT_FALSE(wrong_column);
    EXPECT_NE(wrong_column.error().message().find("'shmid'"), std::string::npos);
    auto bad_id = parse_sysvipc("key shmid\n12 x7\n", "shmid");
    ASSERT_FALSE(bad_id);
    EXPECT_EQ(bad_id.error().message(), "sysvipc line 2: bad key or id \"12\" \"x7\"");
    EXPECT_FALSE(parse_sysvipc("key shmid perms\n12\n", "shmid"));
    EXPECT_FALSE(parse_sysvipc("key shmid\n12 -3\n", "shmid"));
}

TEST(NsIpc, StateRoundTrips)
{
    auto state = sample_state();
    auto decoded = decode_ipc_state(encode_ipc_state(state));
    ASSERT_TRUE(decoded) << decoded.error().message();
    EXPECT_EQ(decoded->sysctls, state.sysctls);
    ASSERT_EQ(decoded->shm.size(), 1u);
    auto const& shm = decoded->shm[0];
    EXPECT_EQ(shm.id, 32769);
    EXPECT_EQ(shm.owner, state.shm[0].owner);
    EXPECT_EQ(shm.size, 12388u);
    EXPECT_TRUE(shm.locked);
    EXPECT_TRUE(shm.destroyed);
    EXPECT_EQ(shm.data_file, "ipc-shm-32769.img");
    EXPECT_EQ(shm.crc32c, 0xe3069283u);
    ASSERT_EQ(decoded->semaphores.size(), 1u);
    EXPECT_EQ(decoded->semaphores[0].values, (std::vector<uint16_t> { 7, 0, 65535 }));
    EXPECT_EQ(decoded->semaphores[0].owner.key, -518390622);
    ASSERT_EQ(decoded->queues.size(), 1u);
    EXPECT_EQ(decoded->queues[0].max_bytes, 4000u);
    EXPECT_EQ(decoded->queues[0].messages, state.queues[0].messages);
}

TEST(NsIpc, DecodeIgnoresUnknownKeysAndSysctls)
{
    auto decoded = decode_ipc_state(R"({"schema":1,"future":true,"sysctls":{"msgmax":"8192","kernel_magic":"1"},
        "shm":[],"semaphores":[{"id":3,"owner":{"key":0,"mode":384,"extra":1},"values":[1]}]})");
    ASSERT_TRUE(decoded) << decoded.error().message();
    ASSERT_EQ(decoded->sysctls.size(), 1u);
    EXPECT_EQ(decoded->sysctls[0].first, "msgmax");
    ASSERT_EQ(decoded->semaphores.size(), 1u);
    EXPECT_EQ(decoded->semaphores[0].owner.mode, 0600u);
    EXPECT_TRUE(decoded->queues.empty());
}

TEST(NsIpc, DecodeRefusesBadImages)
{
    auto message = [](std::string const& text) {
        auto r = decode_ipc_state(text);
        return r ? std::string("accepted") : r.error().message();
    };
    EXPECT_EQ(message("{\"schema\":2}"), "ipc.json: schema 2 is not supported (this cryo reads 1 to 1)");
    EXPECT_EQ(message("[1,2"), "ipc.json: not a JSON object");
    EXPECT_EQ(message(R"({"schema":1,"shm":[{"id":1,"owner":{"key":0},"size":1,"data":"../etc/passwd"}]})"),
              "ipc.json: shm 1: bad data file name \"../etc/passwd\"");
    EXPECT_EQ(message(R"({"schema":1,"shm":[{"id":1,"owner":{"key":0},"size":1,"data":"a"},
                                            {"id":1,"owner":{"key":0},"size":1,"data":"b"}]})"),
              "ipc.json: shm id 1 is negative or repeated");
    EXPECT_EQ(message(R"({"schema":1,"queues":[{"id":1,"owner":{"key":0},"max_bytes":10,
                                                "messages":[{"type":0,"text":""}]}]})"),
              "ipc.json: queue 1: message type 0 is not positive");
    EXPECT_NE(message(R"({"schema":1,"queues":[{"id":1,"owner":{"key":0},"max_bytes":10,
                                                "messages":[{"type":1,"text":"zz"}]}]})")
                  .find("ipc.json: queue 1"),
              std::string::npos);
    EXPECT_EQ(message(R"({"schema":1,"semaphores":[{"id":2,"owner":{"key":0},"values":[]}]})"),
              "ipc.json: semaphore set 2 has no semaphores");
    // A wrong type is an error naming the file, never an exception.
    EXPECT_EQ(message(R"({"schema":1,"semaphores":[{"id":"x"}]})").rfind("ipc.json: ", 0), 0u);
}

TEST(NsIpc, DataRangesOfASparseFile)
{
    char path[] = "/tmp/ns_ipc_test.XXXXXX";
    int raw = ::mkstemp(path);
    ASSERT_GE(raw, 0);
    Fd fd(raw);
    ::unlink(path);
    uint64_t const size = 8 << 20;
    ASSERT_TRUE(sys::ftruncate(fd, size));
    auto holes_only = sys::data_ranges(fd, size);
    ASSERT_TRUE(holes_only) << holes_only.error().message();
    if (holes_only->size() == 1 && holes_only->front() == (sys::DataRange { 0, size }))
        GTEST_SKIP() << "this file system does not tell holes (SEEK_DATA)";
    EXPECT_TRUE(holes_only->empty());

    std::vector<uint8_t> page(4096, 0xab);
    ASSERT_TRUE(sys::pwrite_all(fd, page.data(), page.size(), 4 << 20));
    ASSERT_TRUE(sys::pwrite_all(fd, page.data(), 100, size - 100)); // the last, partial block
    auto ranges = sys::data_ranges(fd, size);
    ASSERT_TRUE(ranges) << ranges.error().message();
    ASSERT_EQ(ranges->size(), 2u);
    EXPECT_EQ((*ranges)[0].offset, uint64_t(4 << 20));
    EXPECT_GE((*ranges)[0].length, 4096u);
    EXPECT_LT((*ranges)[0].length, uint64_t(1 << 20));
    EXPECT_EQ((*ranges)[1].offset + (*ranges)[1].length, size) << "ranges end at size, never past it";
    // Asking for less than the file: nothing past `size` is reported.
    auto first_half = sys::data_ranges(fd, 4 << 20);
    ASSERT_TRUE(first_half);
    EXPECT_TRUE(first_half->empty());
}
