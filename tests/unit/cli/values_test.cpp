// Flag value parsers: sizes (go-units RAMInBytes), Go durations, signals as kill takes them.
#include <gtest/gtest.h>

#include <csignal>

#include "cli/values.h"
#include "oci/names.h"

using namespace cryo;
using namespace cryo::cli;
using namespace std::chrono_literals;

TEST(CliValues, Sizes)
{
    EXPECT_EQ(parse_size("4096").value(), 4096);
    EXPECT_EQ(parse_size("512m").value(), 512LL << 20);
    EXPECT_EQ(parse_size("512M").value(), 512LL << 20);
    EXPECT_EQ(parse_size("1g").value(), 1LL << 30);
    EXPECT_EQ(parse_size("1G").value(), 1LL << 30);
    EXPECT_EQ(parse_size("64k").value(), 64LL << 10);
    EXPECT_EQ(parse_size("64KiB").value(), 64LL << 10);
    EXPECT_EQ(parse_size("64kb").value(), 64LL << 10);
    EXPECT_EQ(parse_size("2t").value(), 2LL << 40);
    EXPECT_EQ(parse_size("1p").value(), 1LL << 50);
    EXPECT_EQ(parse_size("1.5g").value(), 3LL << 29);
    EXPECT_EQ(parse_size("10 m").value(), 10LL << 20);
    EXPECT_EQ(parse_size("100b").value(), 100);
    EXPECT_EQ(parse_size("7 ").value(), 7); // go-units' regexp allows the lone space
}

TEST(CliValues, BadSizes)
{
    for (std::string_view bad : { "", "m", "12x", "-1", "1..5g", ".5g", "1gg", "1.", "1 2", "1  m" }) {
        auto result = parse_size(bad);
        EXPECT_FALSE(result) << bad;
    }
    EXPECT_EQ(parse_size("12x").error().message(), "invalid size: '12x'");
    EXPECT_FALSE(parse_size("9000p")); // beyond int64
}

TEST(CliValues, Durations)
{
    EXPECT_EQ(parse_duration("5s").value(), 5s);
    EXPECT_EQ(parse_duration("100ms").value(), 100ms);
    EXPECT_EQ(parse_duration("1m30s").value(), 90s);
    EXPECT_EQ(parse_duration("1h").value(), 3600s);
    EXPECT_EQ(parse_duration("1.5s").value(), 1500ms);
    EXPECT_EQ(parse_duration("250us").value(), 250us);
    EXPECT_EQ(parse_duration("250\xC2\xB5s").value(), 250us);
    EXPECT_EQ(parse_duration("42ns").value(), 42ns);
    EXPECT_EQ(parse_duration("0").value(), 0ns);
    EXPECT_EQ(parse_duration("-2s").value(), -2s);
    EXPECT_EQ(parse_duration("+2s").value(), 2s);
    EXPECT_EQ(parse_duration(".5s").value(), 500ms);
}

TEST(CliValues, BadDurations)
{
    EXPECT_EQ(parse_duration("5").error().message(), "time: missing unit in duration \"5\"");
    EXPECT_EQ(parse_duration("5x").error().message(), "time: unknown unit \"x\" in duration \"5x\"");
    EXPECT_EQ(parse_duration("").error().message(), "time: invalid duration \"\"");
    EXPECT_FALSE(parse_duration("s"));
    EXPECT_FALSE(parse_duration("-"));
    EXPECT_FALSE(parse_duration("1s2"));
    EXPECT_FALSE(parse_duration("100000000h")); // overflows int64 nanoseconds
}

TEST(CliValues, Integers)
{
    EXPECT_EQ(parse_int("-5").value(), -5);
    EXPECT_EQ(parse_int("42").value(), 42);
    EXPECT_FALSE(parse_int("4x"));
    EXPECT_FALSE(parse_int(""));
    EXPECT_FALSE(parse_int("99999999999999999999"));
    EXPECT_EQ(parse_uint("42").value(), 42u);
    EXPECT_FALSE(parse_uint("-1"));
}

// kill's signal argument goes through oci::parse_signal; these are the forms clients send.
TEST(CliValues, SignalsAsKillTakesThem)
{
    EXPECT_EQ(oci::parse_signal("9").value(), SIGKILL);
    EXPECT_EQ(oci::parse_signal("15").value(), SIGTERM);
    EXPECT_EQ(oci::parse_signal("KILL").value(), SIGKILL);
    EXPECT_EQ(oci::parse_signal("SIGKILL").value(), SIGKILL);
    EXPECT_EQ(oci::parse_signal("kill").value(), SIGKILL);
    EXPECT_EQ(oci::parse_signal("SIGUSR1").value(), SIGUSR1);
    EXPECT_EQ(oci::parse_signal("HUP").value(), SIGHUP);
    EXPECT_FALSE(oci::parse_signal("FOO"));
    EXPECT_EQ(oci::parse_signal("FOO").error().message(), "unknown signal \"FOO\"");
}
