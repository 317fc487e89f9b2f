#include <gtest/gtest.h>

#include <cstdlib>

#include "sys/file.h"

using namespace cryo;

TEST(SysFile, AtomicWriteThenRead)
{
    char dir_template[] = "/tmp/cryo-unit-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    std::string dir = dir_template;
    auto path = dir + "/state.json";
    ASSERT_TRUE(sys::write_file_atomic(path, "{\"a\":1}"));
    auto content = sys::read_file(path);
    ASSERT_TRUE(content);
    EXPECT_EQ(*content, "{\"a\":1}");
    EXPECT_FALSE(sys::exists(path + ".tmp"));
    ASSERT_TRUE(sys::mkdir_all(dir + "/a/b/c", 0755));
    ASSERT_TRUE(sys::remove_all(dir));
    EXPECT_FALSE(sys::exists(dir));
}

TEST(SysFile, MissingFileNamesPath)
{
    auto r = sys::read_file("/nonexistent/cryo");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "open /nonexistent/cryo: No such file or directory");
}
