// crc32c_combine and crc32c_fast agree with the plain streaming crc32c on random data of
// many sizes and split points (the page writer relies on both for the manifest checksum).
#include <gtest/gtest.h>

#include "checkpoint/crc32c.h"
#include "checkpoint/crc32c_combine.h"
#include "random_bytes.h"

using namespace cryo::checkpoint;

TEST(Crc32cCombine, MatchesStreamingCrcAtEverySplit)
{
    auto data = random_bytes(3000, 1);
    uint32_t whole = crc32c(data.data(), data.size());
    for (size_t split : { size_t { 0 }, size_t { 1 }, size_t { 7 }, size_t { 8 }, size_t { 1024 }, size_t { 2999 },
                          size_t { 3000 } }) {
        uint32_t a = crc32c(data.data(), split);
        uint32_t b = crc32c(data.data() + split, data.size() - split);
        EXPECT_EQ(crc32c_combine(a, b, data.size() - split), whole) << "split " << split;
    }
}

TEST(Crc32cCombine, ChainsManyChunks)
{
    auto data = random_bytes(1 << 20, 2);
    uint32_t combined = 0;
    for (size_t off = 0; off < data.size(); off += 40000) {
        size_t n = std::min<size_t>(40000, data.size() - off);
        combined = crc32c_combine(combined, crc32c(data.data() + off, n), n);
    }
    EXPECT_EQ(combined, crc32c(data.data(), data.size()));
}

TEST(Crc32cFast, EqualsPlainCrcForLargeAndOddSizes)
{
    auto data = random_bytes((1 << 20) + 13, 3);
    for (size_t n : { size_t { 100 }, size_t { 65536 }, size_t { 65537 }, size_t { 200003 }, data.size() }) {
        EXPECT_EQ(crc32c_fast(0, data.data(), n), crc32c(data.data(), n)) << n;
        EXPECT_EQ(crc32c_fast(0x12345678, data.data(), n), crc32c_update(0x12345678, data.data(), n)) << n;
    }
}

TEST(Crc32cCombine, KnownVector)
{
    // "123456789" -> e3069283, as two parts.
    char const* s = "123456789";
    EXPECT_EQ(crc32c_combine(crc32c(s, 4), crc32c(s + 4, 5), 5), 0xe3069283U);
}
