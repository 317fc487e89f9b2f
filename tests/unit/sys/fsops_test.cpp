#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>

#include "sys/file.h"
#include "sys/fsops.h"

using namespace cryo;

namespace {

// A fresh directory under /tmp, removed after the test.
class SysFsops : public ::testing::Test {
protected:
    void SetUp() override
    {
        char dir_template[] = "/tmp/cryo-unit-XXXXXX";
        ASSERT_NE(mkdtemp(dir_template), nullptr);
        dir = dir_template;
    }
    void TearDown() override { EXPECT_TRUE(sys::remove_all(dir)); }
    std::string dir;
};

} // namespace

// preallocate gives the file its size and its blocks before anything is written (or says the
// file system cannot), and a write into the allocated range keeps the size.
TEST_F(SysFsops, PreallocateSizesAndAllocates)
{
    auto fd = sys::open(dir + "/pages", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    ASSERT_TRUE(fd);
    auto done = sys::preallocate(fd->ref(), 3 << 20);
    ASSERT_TRUE(done) << done.error().message();
    struct stat st { };
    ASSERT_EQ(::fstat(fd->get(), &st), 0);
    if (*done) {
        EXPECT_EQ(st.st_size, 3 << 20);
        EXPECT_GE(st.st_blocks * 512, 3 << 20);
    }
    char const data[] = "page";
    ASSERT_TRUE(sys::pwrite_all(fd->ref(), data, sizeof data, 4096));
    ASSERT_EQ(::fstat(fd->get(), &st), 0);
    if (*done) {
        EXPECT_EQ(st.st_size, 3 << 20);
    }
    // Nothing to allocate: no call, no error.
    EXPECT_TRUE(sys::preallocate(fd->ref(), 0));
}

TEST_F(SysFsops, PreallocateErrorNamesSize)
{
    auto fd = sys::open(dir + "/ro", O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
    ASSERT_TRUE(fd);
    auto r = sys::preallocate(fd->ref(), 4096); // not open for writing: EBADF
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "preallocate 4096 bytes: Bad file descriptor");
}
