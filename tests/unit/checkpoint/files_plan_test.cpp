// Pure parts of the open-file engine: grouping fds into descriptions, de-duplicating
// descriptions across processes, flag helpers, device policy.
#include <gtest/gtest.h>

#include <fcntl.h>

#include "checkpoint/files_collect.h"
#include "checkpoint/files_restore.h"

using namespace cryo;
using namespace cryo::checkpoint;

TEST(FilesPlan, GroupsOnlyWhatTheComparatorJoins)
{
    // Candidates 0, 2 and 3 are one description; 1 has another key; 4 shares the key of 0
    // but the comparator says it is a different description (two opens of one file).
    std::vector<DescriptionCandidate> c { { 1, 10 }, { 1, 11 }, { 1, 10 }, { 1, 10 }, { 1, 10 } };
    std::vector<std::pair<size_t, size_t>> asked;
    auto groups = group_descriptions(c, [&](size_t a, size_t b) -> Result<bool> {
        asked.push_back({ a, b });
        return b != 4;
    });
    ASSERT_TRUE(groups);
    EXPECT_EQ(*groups, (std::vector<uint32_t> { 0, 1, 0, 0, 2 }));
    for (auto [a, b] : asked)
        EXPECT_EQ(c[a].key_b, c[b].key_b) << "compared candidates with different keys";
}

TEST(FilesPlan, GroupingPropagatesComparatorErrors)
{
    std::vector<DescriptionCandidate> c { { 1, 1 }, { 1, 1 } };
    auto groups = group_descriptions(c, [](size_t, size_t) -> Result<bool> { return Error::make("kcmp: denied"); });
    ASSERT_FALSE(groups);
    EXPECT_EQ(groups.error().message(), "kcmp: denied");
}

TEST(FilesPlan, UniqueDescriptionsAcrossProcesses)
{
    Process a, b;
    a.pid = 1;
    b.pid = 2;
    FileDescription shared { .id = 1, .kind = FileKind::Regular, .path = "/f", .position = 4 };
    FileDescription own { .id = 2, .kind = FileKind::Pipe, .inode = 7 };
    a.file_descriptions = { shared, own };
    b.file_descriptions = { shared };
    auto all = unique_descriptions({ a, b });
    ASSERT_TRUE(all);
    ASSERT_EQ(all->size(), 2u);
    EXPECT_EQ((*all)[0].id, 1u);
    EXPECT_EQ((*all)[1].id, 2u);

    b.file_descriptions[0].position = 5; // a corrupt image: one id, two offsets
    auto bad = unique_descriptions({ a, b });
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message(), "file description 1 differs between processes (process 2)");
}

TEST(FilesPlan, ReopenFlagsDropCreationFlags)
{
    EXPECT_EQ(reopen_flags(O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_EXCL | O_NOCTTY | O_LARGEFILE),
              O_WRONLY | O_APPEND | O_LARGEFILE);
    EXPECT_EQ(reopen_flags(O_RDONLY | O_DIRECTORY | O_NONBLOCK), O_RDONLY | O_DIRECTORY | O_NONBLOCK);
    EXPECT_EQ(reopen_flags(O_PATH), O_PATH);
    EXPECT_EQ(settable_flags(O_RDWR | O_APPEND | O_NONBLOCK | O_LARGEFILE),
              static_cast<uint32_t>(O_APPEND | O_NONBLOCK));
}

TEST(FilesPlan, CharDevicePolicy)
{
    for (unsigned minor : { 3u, 5u, 7u, 8u, 9u })
        EXPECT_TRUE(is_supported_char_device(1, minor)) << minor;
    EXPECT_FALSE(is_supported_char_device(1, 1)); // /dev/mem
    EXPECT_FALSE(is_supported_char_device(1, 11)); // /dev/kmsg
    EXPECT_TRUE(is_supported_char_device(5, 0)); // /dev/tty
    EXPECT_FALSE(is_supported_char_device(5, 2)); // /dev/ptmx
    EXPECT_TRUE(is_supported_char_device(136, 4)); // /dev/pts/4
    EXPECT_FALSE(is_supported_char_device(10, 200)); // /dev/net/tun
    EXPECT_FALSE(is_supported_char_device(226, 0)); // a GPU
}

TEST(FilesPlan, KindNamesRoundTrip)
{
    for (auto k : { FileKind::Regular, FileKind::Deleted, FileKind::Directory, FileKind::CharDevice, FileKind::Fifo,
                    FileKind::Pipe, FileKind::Eventfd, FileKind::UnixSocket, FileKind::Memfd, FileKind::Signalfd,
                    FileKind::Timerfd, FileKind::Epoll, FileKind::Inotify }) {
        FileKind back = FileKind::Regular;
        ASSERT_TRUE(file_kind_from_string(to_string(k), back)) << to_string(k);
        EXPECT_EQ(back, k);
    }
    FileKind unused;
    EXPECT_FALSE(file_kind_from_string("other", unused));
    EXPECT_EQ(file_data_name(17), "file-17.data");
}
