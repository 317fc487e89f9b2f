#include "checkpoint/crc32c.h"

#include <array>
#include <cstring>

namespace cryo::checkpoint {

namespace {

constexpr uint32_t kPolynomial = 0x82F63B78; // reflected Castagnoli

constexpr std::array<uint32_t, 256> make_table()
{
    std::array<uint32_t, 256> table {};
    for (uint32_t i = 0; i < 256; ++i) {
        uint32_t c = i;
        for (int k = 0; k < 8; ++k)
            c = (c & 1) ? (c >> 1) ^ kPolynomial : c >> 1;
        table[i] = c;
    }
    return table;
}

constexpr auto kTable = make_table();

uint32_t software(uint32_t crc, unsigned char const* p, size_t size)
{
    for (size_t i = 0; i < size; ++i)
        crc = kTable[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return crc;
}

__attribute__((target("sse4.2"))) uint32_t hardware(uint32_t crc, unsigned char const* p, size_t size)
{
    uint64_t c = crc;
    while (size >= 8) {
        uint64_t word;
        std::memcpy(&word, p, 8);
        c = __builtin_ia32_crc32di(c, word);
        p += 8;
        size -= 8;
    }
    auto c32 = static_cast<uint32_t>(c);
    while (size > 0) {
        c32 = __builtin_ia32_crc32qi(c32, *p++);
        --size;
    }
    return c32;
}

bool have_sse42()
{
    static bool const has = __builtin_cpu_supports("sse4.2");
    return has;
}

} // namespace

uint32_t crc32c_update(uint32_t crc, void const* data, size_t size)
{
    auto const* p = static_cast<unsigned char const*>(data);
    crc = ~crc;
    crc = have_sse42() ? hardware(crc, p, size) : software(crc, p, size);
    return ~crc;
}

} // namespace cryo::checkpoint
