// Every CRC-32C path this CPU has (table, crc32 instruction, PCLMULQDQ and VPCLMULQDQ folding)
// against the byte-at-a-time table reference: all lengths 0..4096 at every misalignment
// 0..63, large and odd sizes, nonzero initial CRCs, and the standard check value.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "checkpoint/crc32c.h"
#include "checkpoint/crc32c_combine.h"
#include "random_bytes.h"

using namespace cryo::checkpoint;

namespace {

// The plain definition, bit at a time, so the reference shares no code with the paths.
uint32_t bitwise_update(uint32_t crc, unsigned char const* p, size_t size)
{
    crc = ~crc;
    for (size_t i = 0; i < size; ++i) {
        crc ^= p[i];
        for (int k = 0; k < 8; ++k)
            crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78U : crc >> 1;
    }
    return ~crc;
}

// A 64-byte aligned buffer with room to place data at any misalignment 0..63.
class Placed {
public:
    explicit Placed(size_t size)
        : m_storage(size + 128)
    {
    }
    unsigned char* at(std::vector<unsigned char> const& data, size_t misalignment)
    {
        auto base = reinterpret_cast<uintptr_t>(m_storage.data()); // SAFETY: only the address is used
        unsigned char* p = m_storage.data() + ((64 - base % 64) % 64) + misalignment;
        std::memcpy(p, data.data(), data.size());
        return p;
    }

private:
    std::vector<unsigned char> m_storage;
};

// Pages whose last one is inaccessible: data placed to end at the guard faults on any read
// past its end.
class GuardedPages {
public:
    explicit GuardedPages(size_t data_pages)
        : m_page(static_cast<size_t>(sysconf(_SC_PAGESIZE)))
        , m_size((data_pages + 1) * m_page)
    {
        void* p = mmap(nullptr, m_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        EXPECT_NE(p, MAP_FAILED);
        m_base = static_cast<unsigned char*>(p);
        EXPECT_EQ(mprotect(m_base + m_size - m_page, m_page, PROT_NONE), 0);
    }
    ~GuardedPages() { munmap(m_base, m_size); }
    GuardedPages(GuardedPages const&) = delete;
    GuardedPages& operator=(GuardedPages const&) = delete;
    // The last `size` bytes before the guard page, holding the first `size` bytes of data.
    unsigned char const* ending_at_guard(std::vector<unsigned char> const& data, size_t size)
    {
        unsigned char* p = m_base + m_size - m_page - size;
        std::memcpy(p, data.data(), size);
        return p;
    }

private:
    size_t m_page;
    size_t m_size;
    unsigned char* m_base;
};

std::string name_of(Crc32cPath path)
{
    switch (path) {
    case Crc32cPath::Table:
        return "Table";
    case Crc32cPath::Sse42:
        return "Sse42";
    case Crc32cPath::Pclmul:
        return "Pclmul";
    case Crc32cPath::Vpclmul256:
        return "Vpclmul256";
    case Crc32cPath::Vpclmul512:
        return "Vpclmul512";
    case Crc32cPath::Vpclmul512Crc32:
        return "Vpclmul512Crc32";
    }
    return "?";
}

class Crc32cPathTest : public testing::TestWithParam<Crc32cPath> {
protected:
    void SetUp() override
    {
        if (!crc32c_path_available(GetParam()))
            GTEST_SKIP() << name_of(GetParam()) << " not supported by this CPU";
    }
};

} // namespace

TEST_P(Crc32cPathTest, CheckValue)
{
    EXPECT_EQ(crc32c_update_with(GetParam(), 0, "123456789", 9), 0xE3069283U);
    // The same string long enough for the folding paths (a block or more), checked against
    // the bitwise definition.
    std::string s;
    while (s.size() < 1000)
        s += "123456789";
    auto const* p = reinterpret_cast<unsigned char const*>(s.data()); // SAFETY: bytes of a string
    EXPECT_EQ(crc32c_update_with(GetParam(), 0, s.data(), s.size()), bitwise_update(0, p, s.size()));
}

TEST_P(Crc32cPathTest, EveryLengthUpTo4096AtEveryMisalignment)
{
    constexpr size_t kMax = 4096;
    auto data = random_bytes(kMax, 11);
    Placed placed(kMax);
    for (uint32_t initial : { 0U, 0x9E3779B9U, 0xFFFFFFFFU }) {
        // The reference for every prefix, in one bitwise pass.
        std::vector<uint32_t> expected(kMax + 1);
        expected[0] = initial;
        for (size_t n = 1; n <= kMax; ++n)
            expected[n] = bitwise_update(expected[n - 1], &data[n - 1], 1);
        for (size_t misalignment = 0; misalignment < 64; ++misalignment) {
            // The table path is the slowest: every misalignment for the folding paths, a few
            // for the table (whose loop does not depend on alignment).
            if (GetParam() == Crc32cPath::Table && misalignment % 21 != 0)
                continue;
            unsigned char const* p = placed.at(data, misalignment);
            for (size_t n = 0; n <= kMax; ++n)
                ASSERT_EQ(crc32c_update_with(GetParam(), initial, p, n), expected[n])
                    << "length " << n << " misalignment " << misalignment << " initial " << initial;
        }
    }
}

TEST_P(Crc32cPathTest, LargeAndOddSizesAtEveryMisalignment)
{
    for (size_t size : { size_t { 1 } << 20, (size_t { 1 } << 20) + 1, (size_t { 1 } << 20) + 255,
                         (size_t { 3 } << 20) - 7, size_t { 65536 + 4096 + 17 } }) {
        auto data = random_bytes(size, static_cast<unsigned>(size));
        uint32_t const initial = static_cast<uint32_t>(size * 2654435761U);
        uint32_t const expected = bitwise_update(initial, data.data(), size);
        Placed placed(size);
        for (size_t misalignment = 0; misalignment < 64; ++misalignment) {
            if (GetParam() == Crc32cPath::Table && misalignment % 21 != 0)
                continue;
            ASSERT_EQ(crc32c_update_with(GetParam(), initial, placed.at(data, misalignment), size), expected)
                << "size " << size << " misalignment " << misalignment;
        }
    }
}

TEST_P(Crc32cPathTest, ReadsNothingPastTheEnd)
{
    // Every length up to 4096 (all tails after each block size) and a large odd one, ending
    // right at an inaccessible page: a read past the end would crash the test.
    constexpr size_t kLarge = (size_t { 1 } << 18) + 333;
    auto data = random_bytes(kLarge, 13);
    GuardedPages pages(kLarge / 4096 + 2);
    for (size_t n = 0; n <= 4096; ++n)
        ASSERT_EQ(crc32c_update_with(GetParam(), 5, pages.ending_at_guard(data, n), n),
                  bitwise_update(5, data.data(), n))
            << "length " << n;
    EXPECT_EQ(crc32c_update_with(GetParam(), 5, pages.ending_at_guard(data, kLarge), kLarge),
              bitwise_update(5, data.data(), kLarge));
}

TEST_P(Crc32cPathTest, ContinuesAcrossSplits)
{
    auto data = random_bytes(100000, 5);
    uint32_t const whole = bitwise_update(0x01020304, data.data(), data.size());
    for (size_t split : { 0, 1, 15, 16, 127, 128, 255, 256, 257, 4099, 65536, 99999, 100000 }) {
        uint32_t crc = crc32c_update_with(GetParam(), 0x01020304, data.data(), split);
        crc = crc32c_update_with(GetParam(), crc, data.data() + split, data.size() - split);
        EXPECT_EQ(crc, whole) << "split " << split;
    }
}

INSTANTIATE_TEST_SUITE_P(AllPaths, Crc32cPathTest,
                         testing::Values(Crc32cPath::Table, Crc32cPath::Sse42, Crc32cPath::Pclmul,
                                         Crc32cPath::Vpclmul256, Crc32cPath::Vpclmul512, Crc32cPath::Vpclmul512Crc32),
                         [](testing::TestParamInfo<Crc32cPath> const& param) { return name_of(param.param); });

TEST(Crc32cDispatch, BestPathIsAvailableAndEntryPointsAgree)
{
    EXPECT_TRUE(crc32c_path_available(crc32c_best_path()));
    EXPECT_TRUE(crc32c_path_available(Crc32cPath::Table));
    auto data = random_bytes((1 << 20) + 77, 9);
    for (size_t n : { size_t { 0 }, size_t { 9 }, size_t { 300 }, size_t { 8191 }, size_t { 8192 }, size_t { 65535 },
                      size_t { 65536 }, size_t { 70000 }, data.size() }) {
        uint32_t const expected = bitwise_update(0xDEADBEEF, data.data(), n);
        EXPECT_EQ(crc32c_update(0xDEADBEEF, data.data(), n), expected) << n;
        EXPECT_EQ(crc32c_fast(0xDEADBEEF, data.data(), n), expected) << n;
        EXPECT_EQ(crc32c_three_streams(0xDEADBEEF, data.data(), n), expected) << n;
    }
    EXPECT_EQ(crc32c("123456789", 9), 0xE3069283U);
    EXPECT_EQ(crc32c_fast(0, "123456789", 9), 0xE3069283U);
}
