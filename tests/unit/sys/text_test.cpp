// sys/text.h: trimming, whole-field numbers in a base, word splitting.
#include <gtest/gtest.h>

#include <climits>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sys/text.h"

using namespace cryo::sys;

namespace {

// The number if `s` parses as T in `base`, nullopt otherwise: one assertion per case.
template<typename T>
std::optional<T> whole(std::string_view s, int base = 10)
{
    T out {};
    return parse_whole_number(s, out, base) ? std::optional<T>(out) : std::nullopt;
}

template<typename T>
std::optional<T> trimmed(std::string_view s, int base = 10)
{
    T out {};
    return parse_number(s, out, base) ? std::optional<T>(out) : std::nullopt;
}

} // namespace

TEST(SysText, TrimRemovesBlanksAndTrailingNewlines)
{
    EXPECT_EQ(trim(" \t a b \t\n\n"), "a b");
    EXPECT_EQ(trim("\na\r"), "\na\r"); // a newline only at the end, never '\r'
    EXPECT_EQ(trim(" \t\n"), "");
    EXPECT_EQ(trim(""), "");
}

TEST(SysText, WholeNumberInEachBase)
{
    EXPECT_EQ(whole<uint64_t>("12345"), 12345u);
    EXPECT_EQ(whole<uint64_t>("2a", 16), 0x2au);
    EXPECT_EQ(whole<uint64_t>("2A", 16), 0x2au);
    EXPECT_EQ(whole<uint32_t>("04002", 8), 04002u); // fdinfo flags: leading zero, octal
    EXPECT_EQ(whole<uint32_t>("777", 8), 0777u);
    EXPECT_EQ(whole<unsigned>("101", 2), 5u);
    EXPECT_EQ(whole<int>("-3"), -3);
    EXPECT_EQ(whole<int>("-0"), 0);
    EXPECT_EQ(whole<uint64_t>("0"), 0u);
}

TEST(SysText, WholeNumberRejectsAnythingElse)
{
    for (char const* bad : { "", " 1", "1 ", "1\n", "\t1", "+1", "-1", "1x", "x1", "1.0", "1,0", "٣" })
        EXPECT_EQ(whole<uint64_t>(bad), std::nullopt) << bad;
    EXPECT_EQ(whole<uint64_t>("0x2a", 16), std::nullopt); // no prefix
    EXPECT_EQ(whole<uint64_t>("2g", 16), std::nullopt);
    EXPECT_EQ(whole<uint32_t>("8", 8), std::nullopt);
    EXPECT_EQ(whole<uint32_t>("0o7", 8), std::nullopt);
    EXPECT_EQ(whole<uint32_t>("a", 10), std::nullopt); // a hex digit is not a decimal one
    EXPECT_EQ(whole<unsigned>("2", 2), std::nullopt);
    EXPECT_EQ(whole<int>("--1"), std::nullopt);
    EXPECT_EQ(whole<int>("-"), std::nullopt);
}

TEST(SysText, WholeNumberRejectsOverflowOfItsType)
{
    EXPECT_EQ(whole<uint8_t>("255"), 255u);
    EXPECT_EQ(whole<uint8_t>("256"), std::nullopt);
    EXPECT_EQ(whole<uint8_t>("ff", 16), 0xffu);
    EXPECT_EQ(whole<uint8_t>("100", 16), std::nullopt);
    EXPECT_EQ(whole<uint32_t>("4294967295"), UINT32_MAX);
    EXPECT_EQ(whole<uint32_t>("4294967296"), std::nullopt);
    EXPECT_EQ(whole<uint32_t>("37777777777", 8), UINT32_MAX);
    EXPECT_EQ(whole<uint32_t>("40000000000", 8), std::nullopt);
    EXPECT_EQ(whole<int>("2147483647"), INT_MAX);
    EXPECT_EQ(whole<int>("2147483648"), std::nullopt);
    EXPECT_EQ(whole<int>("-2147483648"), INT_MIN);
    EXPECT_EQ(whole<int>("-2147483649"), std::nullopt);
    EXPECT_EQ(whole<uint64_t>("ffffffffffffffff", 16), UINT64_MAX);
    EXPECT_EQ(whole<uint64_t>("10000000000000000", 16), std::nullopt);
    EXPECT_EQ(whole<uint64_t>("18446744073709551616"), std::nullopt);
    EXPECT_EQ(whole<uint64_t>("99999999999999999999999999999999"), std::nullopt);
}

TEST(SysText, ParseNumberAllowsWhatTrimRemoves)
{
    EXPECT_EQ(trimmed<uint64_t>(" \t42 \t\n"), 42u);
    EXPECT_EQ(trimmed<uint32_t>("\t0644\n", 8), 0644u);
    EXPECT_EQ(trimmed<uint64_t>("  7fff  ", 16), 0x7fffu);
    EXPECT_EQ(trimmed<int>(" -5"), -5);
    for (char const* bad : { "", " \t\n", "\n42", "42\r", "4 2", "+42", "42x" })
        EXPECT_EQ(trimmed<uint64_t>(bad), std::nullopt) << bad;
    EXPECT_EQ(trimmed<uint8_t>(" 256 "), std::nullopt);
    EXPECT_EQ(trimmed<uint32_t>(" 9 ", 8), std::nullopt);
}

TEST(SysText, SplitsOnRunsOfBlanks)
{
    using Words = std::vector<std::string_view>;
    EXPECT_EQ(split_ws("  a\t\tbc  d \t"), (Words { "a", "bc", "d" }));
    EXPECT_EQ(split_ws("a\nb"), (Words { "a\nb" })); // newlines are not blanks unless told
    EXPECT_EQ(split_ws(""), Words {});
    EXPECT_EQ(split_ws(" \t "), Words {});
    EXPECT_EQ(split_ws("a\tb c", " "), (Words { "a\tb", "c" }));
    EXPECT_EQ(split_ws("1 0x2\n0x3\n", " \n"), (Words { "1", "0x2", "0x3" }));
    EXPECT_EQ(split_ws("a,,b,", ","), (Words { "a", "b" }));
    // Views into the text given, not copies.
    std::string text = "ab cd";
    auto words = split_ws(text);
    ASSERT_EQ(words.size(), 2u);
    EXPECT_EQ(words[1].data(), text.data() + 3);
}
