#include <gtest/gtest.h>

#include "sys/idmap.h"

using namespace cryo;

TEST(SysIdMap, ParsesProcFormat)
{
    // As the kernel prints it: right-aligned columns.
    auto map = sys::parse_id_map("         0     200000      65536\n     65536       1000          1\n");
    ASSERT_TRUE(map.has_value()) << map.error().message();
    ASSERT_EQ(2u, map->size());
    EXPECT_EQ((sys::IdMapRange { .inside = 0, .outside = 200000, .count = 65536 }), (*map)[0]);
    EXPECT_EQ((sys::IdMapRange { .inside = 65536, .outside = 1000, .count = 1 }), (*map)[1]);
    EXPECT_TRUE(sys::parse_id_map("")->empty());
}

TEST(SysIdMap, RejectsGarbage)
{
    EXPECT_FALSE(sys::parse_id_map("0 1\n").has_value());
    EXPECT_FALSE(sys::parse_id_map("0 1 2 3\n").has_value());
    EXPECT_FALSE(sys::parse_id_map("a b c\n").has_value());
}

TEST(SysIdMap, TranslatesOutsideIds)
{
    auto map = *sys::parse_id_map("0 200000 65536\n65536 1000 1\n");
    EXPECT_EQ(0u, sys::id_inside(map, 200000));
    EXPECT_EQ(1000u, sys::id_inside(map, 201000));
    EXPECT_EQ(65535u, sys::id_inside(map, 265535));
    EXPECT_EQ(65536u, sys::id_inside(map, 1000));
    EXPECT_FALSE(sys::id_inside(map, 265536).has_value());
    EXPECT_FALSE(sys::id_inside(map, 0).has_value());
    // The initial namespace maps everything onto itself.
    auto identity = *sys::parse_id_map("0 0 4294967295\n");
    EXPECT_EQ(123456u, sys::id_inside(identity, 123456));
}

// What counts as a number and a separator (pinned when the parser moved onto sys/text.h):
// fields are separated by spaces only, each a whole unsigned 32-bit decimal.
TEST(SysIdMap, FieldsAreSpaceSeparatedDecimalUint32)
{
    auto blank_lines = sys::parse_id_map("   \n0 1 2\n\n");
    ASSERT_TRUE(blank_lines.has_value()) << blank_lines.error().message();
    ASSERT_EQ(1u, blank_lines->size());
    EXPECT_EQ((sys::IdMapRange { .inside = 0, .outside = 1, .count = 2 }), (*blank_lines)[0]);
    auto no_newline = sys::parse_id_map("0 1 4294967295");
    ASSERT_TRUE(no_newline.has_value());
    EXPECT_EQ(4294967295u, (*no_newline)[0].count);
    for (char const* bad : { "0\t1\t2\n", "0 1 2\t\n", "\t\n", "0 1 2\r\n", "0 1 4294967296\n", "0 1 -2\n", "0 1 +2\n",
                             "0 1 0x2\n", "0 1 2x\n" })
        EXPECT_FALSE(sys::parse_id_map(bad).has_value()) << bad;
    auto error = sys::parse_id_map("0 1 2\n0 1\n");
    ASSERT_FALSE(error.has_value());
    EXPECT_EQ(error.error().message(), "id map line \"0 1\": not three numbers");
    EXPECT_EQ(sys::parse_id_map("0 1 99999999999\n").error().message(),
              "id map line \"0 1 99999999999\": not three numbers");
}
