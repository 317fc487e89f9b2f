// Open files in the process metadata: round trip of every kind, schema 1 images, and
// rejection of inconsistent tables.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/socket.h>

#include "checkpoint/codec.h"

using namespace cryo;
using namespace cryo::checkpoint;

namespace {

Process minimal_process()
{
    Process p;
    p.pid = 42;
    Thread t;
    t.tid = 42;
    p.threads.push_back(t);
    return p;
}

Process process_with_every_kind()
{
    Process p = minimal_process();
    auto add = [&](FileDescription d) { p.file_descriptions.push_back(std::move(d)); };
    add({ .id = 1,
          .kind = FileKind::Regular,
          .path = "/tmp/a b",
          .flags = O_WRONLY | O_APPEND,
          .position = 77,
          .inode = 9 });
    add({ .id = 2,
          .kind = FileKind::Deleted,
          .path = "/tmp/gone",
          .flags = O_RDWR,
          .position = 3,
          .inode = 10,
          .mode = 0640,
          .uid = 1000,
          .gid = 100,
          .size = 13 });
    add({ .id = 3, .kind = FileKind::Directory, .path = "/tmp", .flags = O_RDONLY | O_DIRECTORY });
    add({ .id = 4, .kind = FileKind::CharDevice, .path = "/dev/null", .flags = O_RDWR });
    add({ .id = 5,
          .kind = FileKind::Fifo,
          .path = "/tmp/fifo",
          .flags = O_RDWR,
          .inode = 11,
          .size = 9,
          .pipe_size = 65536 });
    add({ .id = 6,
          .kind = FileKind::Pipe,
          .path = "pipe:[12]",
          .flags = O_RDONLY | O_NONBLOCK,
          .inode = 12,
          .size = 16,
          .pipe_size = 1 << 20 });
    add({ .id = 7, .kind = FileKind::Pipe, .path = "pipe:[12]", .flags = O_WRONLY, .inode = 12, .pipe_size = 1 << 20 });
    add({ .id = 8,
          .kind = FileKind::Eventfd,
          .path = "anon_inode:[eventfd]",
          .flags = O_RDWR | O_NONBLOCK,
          .eventfd_count = 0xfffffffffffffffeULL,
          .eventfd_semaphore = true });
    add({ .id = 9,
          .kind = FileKind::UnixSocket,
          .path = "socket:[13]",
          .flags = O_RDWR,
          .inode = 13,
          .size = 6,
          .socket_type = SOCK_DGRAM,
          .connected = true,
          .peer_inode = 14,
          .shutdown = 2,
          .messages = { 1, 2, 3 } });
    add({ .id = 10,
          .kind = FileKind::Memfd,
          .path = "cr-files",
          .flags = O_RDWR,
          .position = 2,
          .inode = 15,
          .mode = 0777,
          .size = 14,
          .seals = 0x6 });
    add({ .id = 11,
          .kind = FileKind::Signalfd,
          .path = "anon_inode:[signalfd]",
          .flags = O_RDWR | O_NONBLOCK,
          .signal_mask = 0x400000800ULL });
    add({ .id = 12,
          .kind = FileKind::Timerfd,
          .path = "anon_inode:[timerfd]",
          .flags = O_RDWR,
          .clock_id = 1,
          .ticks = 2,
          .value_ns = 99972914843ULL,
          .interval_ns = 1000000500ULL });
    add({ .id = 13,
          .kind = FileKind::Epoll,
          .path = "anon_inode:[eventpoll]",
          .flags = O_RDWR,
          .epoll_targets = { { 9, 12, 0x80000019, 0x1122334455667788ULL }, { 11, 0, 0x1c, 7 } } });
    add({ .id = 14,
          .kind = FileKind::UnixSocket,
          .path = "socket:[16]",
          .flags = O_RDWR | O_NONBLOCK,
          .inode = 16,
          .mode = 0600,
          .uid = 7,
          .gid = 8,
          .socket_type = SOCK_STREAM,
          .bound_name = "/run/cryo.sock",
          .listening = true,
          .backlog = 128 });
    add({ .id = 15,
          .kind = FileKind::UnixSocket,
          .path = "socket:[17]",
          .flags = O_RDWR,
          .inode = 17,
          .socket_type = SOCK_DGRAM,
          .bound_name = "@abstract name",
          .send_buffer = 4608,
          .receive_buffer = 425984 });
    add({ .id = 16,
          .kind = FileKind::Inotify,
          .path = "anon_inode:inotify",
          .flags = O_RDONLY | O_NONBLOCK,
          .inotify_watches = { { 1, "/tmp", 0x100 }, { 3, "/etc/host name", 0x80000002 } } });
    p.files = { { 18, 16, false }, { 16, 14, false }, { 17, 15, true }, { 13, 11, false }, { 14, 12, true },
                { 15, 13, false }, { 0, 4, false },   { 1, 1, false },  { 2, 1, false },   { 3, 2, true },
                { 7, 3, true },    { 8, 5, false },   { 9, 6, false },  { 10, 7, true },   { 11, 8, false },
                { 12, 9, false },  { 300, 10, true } };
    p.file_descriptions[0].stdio_mask = 0b110; // the runtime gave it as fds 1 and 2
    p.file_descriptions[3].stdio_mask = 0b001;
    return p;
}

void expect_same_files(Process const& a, Process const& b)
{
    ASSERT_EQ(a.file_descriptions.size(), b.file_descriptions.size());
    for (size_t i = 0; i < a.file_descriptions.size(); ++i)
        EXPECT_TRUE(a.file_descriptions[i] == b.file_descriptions[i]) << "description " << a.file_descriptions[i].id;
    ASSERT_EQ(a.files.size(), b.files.size());
    for (size_t i = 0; i < a.files.size(); ++i) {
        EXPECT_EQ(a.files[i].fd, b.files[i].fd);
        EXPECT_EQ(a.files[i].description, b.files[i].description);
        EXPECT_EQ(a.files[i].cloexec, b.files[i].cloexec);
    }
}

// Replaces the first occurrence of `from` in the encoded text.
std::string edited(std::string text, std::string const& from, std::string const& to)
{
    auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos)
        text.replace(at, from.size(), to);
    return text;
}

} // namespace

TEST(FilesCodec, RoundTripOfEveryKind)
{
    auto p = process_with_every_kind();
    auto decoded = decode_process(encode_process(p));
    ASSERT_TRUE(decoded) << decoded.error().message();
    expect_same_files(p, *decoded);
}

TEST(FilesCodec, NoFilesIsFine)
{
    auto decoded = decode_process(encode_process(minimal_process()));
    ASSERT_TRUE(decoded) << decoded.error().message();
    EXPECT_TRUE(decoded->files.empty());
    EXPECT_TRUE(decoded->file_descriptions.empty());
}

TEST(FilesCodec, SchemaOneInlineFilesBecomeOneDescriptionEach)
{
    auto text = encode_process(minimal_process());
    text = edited(text, "\"schema\": 2", "\"schema\": 1");
    text = edited(
        text, "\"files\": []",
        "\"files\": [{\"fd\": 0, \"kind\": \"char-device\", \"path\": \"/dev/null\", \"flags\": 32768, \"cloexec\": "
        "false, \"position\": 0}, {\"fd\": 3, \"kind\": \"regular\", \"path\": \"/x\", \"flags\": 525313, "
        "\"cloexec\": true, \"position\": 5}]");
    auto decoded = decode_process(text);
    ASSERT_TRUE(decoded) << decoded.error().message();
    ASSERT_EQ(decoded->files.size(), 2u);
    ASSERT_EQ(decoded->file_descriptions.size(), 2u);
    EXPECT_NE(decoded->files[0].description, decoded->files[1].description);
    auto const* d = find_description(*decoded, decoded->files[1].description);
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->kind, FileKind::Regular);
    EXPECT_EQ(d->path, "/x");
    EXPECT_EQ(d->position, 5u);
    EXPECT_EQ(d->flags, static_cast<uint32_t>(O_WRONLY | O_APPEND | O_LARGEFILE)); // O_CLOEXEC dropped
    EXPECT_TRUE(decoded->files[1].cloexec);
}

TEST(FilesCodec, UnknownKeysAreIgnored)
{
    auto text = edited(encode_process(process_with_every_kind()), "\"kind\": \"regular\"",
                       "\"kind\": \"regular\", \"future_field\": {\"x\": 1}");
    auto decoded = decode_process(text);
    ASSERT_TRUE(decoded) << decoded.error().message();
    expect_same_files(process_with_every_kind(), *decoded);
}

TEST(FilesCodec, RejectsInconsistentTables)
{
    auto text = encode_process(process_with_every_kind());
    struct Case {
        std::string from, to, message;
    } cases[] = {
        { "\"kind\": \"memfd\"", "\"kind\": \"io-uring\"", "unknown kind \"io-uring\"" },
        { "\"kind\": \"epoll\"", "\"kind\": \"fanotify\"", "unknown kind \"fanotify\"" },
        { "\"description\": 10", "\"description\": 99", "fd 300 refers to file description 99, which is missing" },
        { "\"fd\": 300", "\"fd\": 12", "fd 12 is negative or appears twice" },
        { "\"id\": 10", "\"id\": 9", "file description 9 appears twice" },
        { "\"size\": 6", "\"size\": 7", "queued messages add up to 6 bytes, not 7" },
        { "\"fd\": 300", "\"fd\": -1", "fd -1 is negative" },
        { "\"stdio\": [\n    1,", "\"stdio\": [\n    3,", "file description 1: stdio 3 is not 0, 1 or 2" },
    };
    for (auto const& c : cases) {
        auto decoded = decode_process(edited(text, c.from, c.to));
        ASSERT_FALSE(decoded) << c.to;
        EXPECT_NE(decoded.error().message().find(c.message), std::string::npos) << decoded.error().message();
    }
}

TEST(FilesCodec, WrongTypesAreErrorsNotCrashes)
{
    auto text = encode_process(process_with_every_kind());
    for (auto [from, to] :
         { std::pair { "\"fd\": 300", "\"fd\": \"x\"" }, std::pair { "\"messages\": [", "\"messages\": [\"y\", " },
           std::pair { "\"id\": 1,", "\"id\": -1," } }) {
        auto decoded = decode_process(edited(text, from, to));
        EXPECT_FALSE(decoded) << to;
    }
}
