// runtime::top's pure helpers: user names from a container's passwd, printable commands.
#include <gtest/gtest.h>

#include "runtime/top.h"

using namespace cryo::runtime;

TEST(Top, ParsePasswd)
{
    auto users = parse_passwd("root:x:0:0:root:/root:/bin/sh\n"
                              "# not a user\n"
                              "daemon:x:1:1::/:/bin/false\n"
                              "broken line\n"
                              ":x:5:5::/:\n"
                              "bad:x:notanumber:0::/:\n"
                              "big:x:4294967296:0::/:\n"
                              "toor:x:0:0::/:\n"
                              "nobody:x:65534:65534:nobody:/nonexistent:/bin/false");
    ASSERT_EQ(users.size(), 3u);
    EXPECT_EQ(users.at(0), "root"); // the first name of a uid wins
    EXPECT_EQ(users.at(1), "daemon");
    EXPECT_EQ(users.at(65534), "nobody"); // last line without a newline
}

TEST(Top, CommandLine)
{
    using namespace std::string_view_literals;
    EXPECT_EQ(command_line("sleep\0"
                           "1000\0"sv,
                           "sleep"),
              "sleep 1000");
    EXPECT_EQ(command_line("sh\0-c\0echo a\nb\0"sv, "sh"), "sh -c echo a?b");
    EXPECT_EQ(command_line(""sv, "kworker"), "[kworker]");
    EXPECT_EQ(command_line("\0\0"sv, "zombie"), "[zombie]");
}
