#include "checkpoint/crc32c_combine.h"

#include <array>
#include <cstring>

#include "checkpoint/crc32c.h"
#include "checkpoint/crc32c_gf2.h"

namespace cryo::checkpoint {

namespace {

using gf2::kOne;
using gf2::multiply;

// x^(2^k) mod P for k = 0..63.
constexpr std::array<uint32_t, 64> make_powers()
{
    std::array<uint32_t, 64> p {};
    p[0] = kOne >> 1; // x^1
    for (size_t k = 1; k < p.size(); ++k)
        p[k] = multiply(p[k - 1], p[k - 1]);
    return p;
}

constexpr auto kPowers = make_powers();

// x^(8 * bytes) mod P: the effect of feeding `bytes` zero bytes through the CRC register.
uint32_t shift_of(uint64_t bytes)
{
    uint32_t result = kOne;
    size_t k = 3; // 8 * bytes = bytes << 3
    for (; bytes != 0; bytes >>= 1, ++k)
        if (bytes & 1)
            result = multiply(kPowers[k % 64], result);
    return result;
}

} // namespace

uint32_t crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t length_b)
{
    // With R(s, M) the raw register after M from state s, R is linear in s and
    // crc(M) = ~R(~0, M); so crc(A||B) = shift(crc(A), |B|) ^ crc(B): the init and final
    // xors cancel out.
    if (length_b == 0)
        return crc_a;
    return multiply(shift_of(length_b), crc_a) ^ crc_b;
}

__attribute__((target("sse4.2"))) static void three_streams(uint32_t (&state)[3], unsigned char const* p, size_t stride,
                                                            size_t words)
{
    uint64_t a = state[0], b = state[1], c = state[2];
    for (size_t i = 0; i < words; ++i) {
        uint64_t x, y, z;
        std::memcpy(&x, p + 8 * i, 8);
        std::memcpy(&y, p + stride + 8 * i, 8);
        std::memcpy(&z, p + 2 * stride + 8 * i, 8);
        a = __builtin_ia32_crc32di(a, x);
        b = __builtin_ia32_crc32di(b, y);
        c = __builtin_ia32_crc32di(c, z);
    }
    state[0] = static_cast<uint32_t>(a);
    state[1] = static_cast<uint32_t>(b);
    state[2] = static_cast<uint32_t>(c);
}

uint32_t crc32c_three_streams(uint32_t crc, void const* data, size_t size)
{
    // The one-stream crc32 instruction path for what is not split, as crc32c_fast did before
    // folding existed (the benchmark's baseline).
    static auto const single = crc32c_path_available(Crc32cPath::Sse42) ? Crc32cPath::Sse42 : Crc32cPath::Table;
    constexpr size_t kMinSplit = 1 << 16;
    if (size < kMinSplit || single != Crc32cPath::Sse42)
        return crc32c_update_with(single, crc, data, size);
    auto const* p = static_cast<unsigned char const*>(data);
    size_t third = (size / 3) & ~size_t { 7 };
    // Raw register states (no init/final xor): the first stream continues `crc`, the other
    // two start as crc32c of nothing would (~0).
    uint32_t state[3] = { ~crc, ~0U, ~0U };
    three_streams(state, p, third, third / 8);
    uint32_t c0 = ~state[0], c1 = ~state[1], c2 = ~state[2];
    c2 = crc32c_update_with(single, c2, p + 3 * third, size - 3 * third);
    uint32_t result = crc32c_combine(c0, c1, third);
    return crc32c_combine(result, c2, size - 2 * third);
}

uint32_t crc32c_fast(uint32_t crc, void const* data, size_t size)
{
    // On Zen 5, 512-bit folding alongside crc32 streams runs at about three times the three
    // streams; 128-bit and 256-bit folding alone were measured at half of them and at par
    // (bench/crc32c.cpp), so without AVX-512 large buffers keep the three streams.
    static bool const wide = static_cast<int>(crc32c_best_path()) >= static_cast<int>(Crc32cPath::Vpclmul512);
    if (wide || size < (1 << 16))
        return crc32c_update(crc, data, size);
    return crc32c_three_streams(crc, data, size);
}

} // namespace cryo::checkpoint
