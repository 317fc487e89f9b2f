// sys/test_hooks.h: parsing of CRYO_TEST_KILL_TRACEE=NR[:PID] and whom it matches.
#include <gtest/gtest.h>

#include "sys/test_hooks.h"

using namespace cryo::sys;

TEST(KillTraceeHook, Unset)
{
    auto p = parse_kill_tracee(nullptr);
    EXPECT_FALSE(p.hook);
    EXPECT_TRUE(p.warning.empty());
}

TEST(KillTraceeHook, NumberAlone)
{
    auto p = parse_kill_tracee("9");
    ASSERT_TRUE(p.hook);
    EXPECT_TRUE(p.warning.empty());
    EXPECT_EQ(*p.hook, (KillTraceeHook { 9, std::nullopt }));
    EXPECT_TRUE(p.hook->matches(9, 1234));
    EXPECT_TRUE(p.hook->matches(9, 99));
    EXPECT_FALSE(p.hook->matches(10, 1234));
    EXPECT_TRUE(parse_kill_tracee("0").hook); // read(2) is number 0
}

TEST(KillTraceeHook, NumberAndPid)
{
    auto p = parse_kill_tracee("435:1234");
    ASSERT_TRUE(p.hook);
    EXPECT_EQ(*p.hook, (KillTraceeHook { 435, 1234 }));
    EXPECT_TRUE(p.hook->matches(435, 1234));
    EXPECT_FALSE(p.hook->matches(435, 1235));
    EXPECT_FALSE(p.hook->matches(434, 1234));
}

TEST(KillTraceeHook, InvalidIsIgnoredWithAWarning)
{
    for (char const* bad : { "", "x", "9x", "-1", "9:", ":5", "9:0", "9:x", "9:5:6", " 9", "9 " }) {
        auto p = parse_kill_tracee(bad);
        EXPECT_FALSE(p.hook) << bad;
        EXPECT_NE(p.warning.find("ignoring CRYO_TEST_KILL_TRACEE="), std::string::npos) << bad;
    }
    EXPECT_EQ(parse_kill_tracee("9:x").warning, "ignoring CRYO_TEST_KILL_TRACEE=\"9:x\": not NR or NR:PID");
}
