#include "checkpoint/crc32c.h"

#include <immintrin.h>

#include <array>
#include <cstring>

#include "checkpoint/crc32c_gf2.h"

// Folding, in short (Gopal et al., "Fast CRC Computation for Generic Polynomials Using
// PCLMULQDQ", Intel 2009, reflected variant). Over GF(2), with P the Castagnoli polynomial,
// the CRC register after a message M from a zero register is M(x) * x^32 mod P, so any
// shorter message congruent to M mod P gives the same register. A 16-byte lane X at some
// position stands for X(x) * x^d where d is the number of bits after it; X * x^d mod P is
// computed as two 64x64 carry-less products with constants x^k mod P (below), giving a value
// of at most 128 bits that is xored into the lane d bits further on. Several lanes folded
// in parallel hide the multiplier's latency; at the end they are folded into one lane whose
// 16 bytes, run through the crc32 instruction from a zero register, give the register of the
// whole prefix. The caller's running register is xored into the first four bytes (for a
// reflected CRC that is the same as starting the register with it).

namespace cryo::checkpoint {

namespace {

using gf2::x_pow;

constexpr std::array<uint32_t, 256> make_table()
{
    std::array<uint32_t, 256> table {};
    for (uint32_t i = 0; i < 256; ++i) {
        uint32_t c = i;
        for (int k = 0; k < 8; ++k)
            c = gf2::times_x(c);
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

// Moves a 16-byte lane `bits` further on. Loaded little-endian, the lane's first 8 bytes are
// the polynomial H with bit i standing for x^(127-i), the last 8 bytes L with x^(63-i): the
// lane is H * x^64 + L. A carry-less product of a 64-bit reflected H with a constant K held
// in the register's bit order (low 32 bits) is, read as a reflected 128-bit lane,
// H * K * x^33. So `first` = x^(bits + 64 - 33) multiplies H and `second` = x^(bits - 33)
// multiplies L; the sum has degree below 128 and fits one lane.
struct FoldConstants {
    uint64_t first; // for bytes 0-7 of the lane (the low qword, selector 0x00)
    uint64_t second; // for bytes 8-15 (the high qword, selector 0x11)
};
static_assert(sizeof(FoldConstants) == 16);

constexpr FoldConstants fold_by(uint32_t bits)
{
    return { x_pow(bits + 31), x_pow(bits - 33) };
}

// kReduce[15 - t] moves a lane t lanes on, to where the last of 16 lanes is (t = 0: zero,
// the last lane is taken as it is). A run of m lanes ending at the last one is folded into
// it with the m constants from kReduce[16 - m], loadable as one vector per accumulator.
constexpr std::array<FoldConstants, 16> make_reduce()
{
    std::array<FoldConstants, 16> r {};
    for (uint32_t g = 0; g < 15; ++g)
        r[g] = fold_by(128 * (15 - g));
    return r;
}

alignas(64) constexpr auto kReduce = make_reduce();
constexpr FoldConstants kOneLane = fold_by(128);
constexpr FoldConstants kFold1024 = fold_by(1024); // eight 16-byte or four 32-byte lanes
constexpr FoldConstants kFold2048 = fold_by(2048); // four 64-byte vectors

#define CRYO_PCLMUL __attribute__((target("pclmul,sse4.2")))
#define CRYO_VPCLMUL256 __attribute__((target("avx2,vpclmulqdq,pclmul,sse4.2")))
#define CRYO_VPCLMUL512 __attribute__((target("avx512f,avx512vl,vpclmulqdq,pclmul,sse4.2")))

CRYO_PCLMUL inline __m128i load128(void const* p)
{
    // SAFETY: an unaligned 16-byte load; callers pass a pointer with 16 readable bytes.
    return _mm_loadu_si128(reinterpret_cast<__m128i const*>(p));
}

CRYO_PCLMUL inline __m128i fold128(__m128i lane, __m128i k)
{
    return _mm_xor_si128(_mm_clmulepi64_si128(lane, k, 0x00), _mm_clmulepi64_si128(lane, k, 0x11));
}

// One lane congruent to everything before p, then the last `size` bytes: the raw register.
CRYO_PCLMUL uint32_t finish(__m128i lane, unsigned char const* p, size_t size)
{
    __m128i const k = load128(&kOneLane);
    for (; size >= 16; p += 16, size -= 16)
        lane = _mm_xor_si128(fold128(lane, k), load128(p));
    uint64_t c = _mm_crc32_u64(0, static_cast<uint64_t>(_mm_cvtsi128_si64(lane)));
    c = _mm_crc32_u64(c, static_cast<uint64_t>(_mm_extract_epi64(lane, 1)));
    return hardware(static_cast<uint32_t>(c), p, size);
}

CRYO_PCLMUL uint32_t fold_pclmul(uint32_t reg, unsigned char const* p, size_t size)
{
    constexpr size_t kLanes = 8;
    constexpr size_t kBlock = 16 * kLanes;
    if (size < kBlock)
        return hardware(reg, p, size);
    __m128i acc[kLanes];
    for (size_t i = 0; i < kLanes; ++i)
        acc[i] = load128(p + 16 * i);
    acc[0] = _mm_xor_si128(acc[0], _mm_cvtsi32_si128(static_cast<int>(reg)));
    p += kBlock;
    size -= kBlock;
    __m128i const k = load128(&kFold1024);
    for (; size >= kBlock; p += kBlock, size -= kBlock)
        for (size_t i = 0; i < kLanes; ++i)
            acc[i] = _mm_xor_si128(fold128(acc[i], k), load128(p + 16 * i));
    __m128i lane = acc[kLanes - 1];
    for (size_t i = 0; i + 1 < kLanes; ++i)
        lane = _mm_xor_si128(lane, fold128(acc[i], load128(&kReduce[16 - kLanes + i])));
    return finish(lane, p, size);
}

CRYO_VPCLMUL256 inline __m256i load256(void const* p)
{
    // SAFETY: an unaligned 32-byte load; callers pass a pointer with 32 readable bytes.
    return _mm256_loadu_si256(reinterpret_cast<__m256i const*>(p));
}

CRYO_VPCLMUL256 inline __m256i fold256(__m256i v, __m256i k)
{
    return _mm256_xor_si256(_mm256_clmulepi64_epi128(v, k, 0x00), _mm256_clmulepi64_epi128(v, k, 0x11));
}

CRYO_VPCLMUL256 uint32_t fold_vpclmul256(uint32_t reg, unsigned char const* p, size_t size)
{
    constexpr size_t kVectors = 4;
    constexpr size_t kBlock = 32 * kVectors;
    if (size < kBlock)
        return hardware(reg, p, size);
    __m256i acc[kVectors];
    for (size_t i = 0; i < kVectors; ++i)
        acc[i] = load256(p + 32 * i);
    acc[0] = _mm256_xor_si256(acc[0], _mm256_zextsi128_si256(_mm_cvtsi32_si128(static_cast<int>(reg))));
    p += kBlock;
    size -= kBlock;
    __m256i const k = _mm256_broadcastsi128_si256(load128(&kFold1024));
    for (; size >= kBlock; p += kBlock, size -= kBlock)
        for (size_t i = 0; i < kVectors; ++i)
            acc[i] = _mm256_xor_si256(fold256(acc[i], k), load256(p + 32 * i));
    // Eight lanes, each moved to the last one; the last lane's constants are zero.
    __m256i sum = _mm256_setzero_si256();
    for (size_t i = 0; i < kVectors; ++i)
        sum = _mm256_xor_si256(sum, fold256(acc[i], load256(&kReduce[16 - 2 * kVectors + 2 * i])));
    __m128i lane = _mm_xor_si128(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
    lane = _mm_xor_si128(lane, _mm256_extracti128_si256(acc[kVectors - 1], 1));
    return finish(lane, p, size);
}

CRYO_VPCLMUL512 inline __m512i load512(void const* p)
{
    // SAFETY: an unaligned 64-byte load; callers pass a pointer with 64 readable bytes.
    return _mm512_loadu_si512(p);
}

CRYO_VPCLMUL512 inline __m512i fold512(__m512i v, __m512i k, __m512i next)
{
    return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(v, k, 0x00), _mm512_clmulepi64_epi128(v, k, 0x11), next,
                                     0x96); // a ^ b ^ c
}

CRYO_VPCLMUL512 uint32_t fold_vpclmul512(uint32_t reg, unsigned char const* p, size_t size)
{
    constexpr size_t kVectors = 4;
    constexpr size_t kBlock = 64 * kVectors;
    if (size < kBlock)
        return fold_pclmul(reg, p, size);
    __m512i acc[kVectors];
    for (size_t i = 0; i < kVectors; ++i)
        acc[i] = load512(p + 64 * i);
    acc[0] = _mm512_xor_si512(acc[0], _mm512_zextsi128_si512(_mm_cvtsi32_si128(static_cast<int>(reg))));
    p += kBlock;
    size -= kBlock;
    __m512i const k = _mm512_broadcast_i32x4(load128(&kFold2048));
    for (; size >= kBlock; p += kBlock, size -= kBlock)
        for (size_t i = 0; i < kVectors; ++i)
            acc[i] = fold512(acc[i], k, load512(p + 64 * i));
    // Sixteen lanes, each moved to the last one; the last lane's constants are zero, so it is
    // added as it is.
    __m512i sum = _mm512_maskz_mov_epi64(0xC0, acc[kVectors - 1]);
    for (size_t i = 0; i < kVectors; ++i)
        sum = fold512(acc[i], load512(&kReduce[16 - 4 * kVectors + 4 * i]), sum);
    __m128i lane = _mm_xor_si128(_mm512_extracti32x4_epi32(sum, 0), _mm512_extracti32x4_epi32(sum, 1));
    lane = _mm_xor_si128(lane, _mm_xor_si128(_mm512_extracti32x4_epi32(sum, 2), _mm512_extracti32x4_epi32(sum, 3)));
    return finish(lane, p, size);
}

// kShiftFactors[i] = x^(2^i - 33) mod P for i >= 6 (2^i >= 64 bits): see shift_constant.
constexpr std::array<uint32_t, 64> make_shift_factors()
{
    std::array<uint32_t, 64> f {};
    uint32_t square = x_pow(64); // x^(2^i) mod P
    f[6] = x_pow(64 - 33);
    for (size_t i = 6; i + 1 < f.size(); ++i) {
        f[i + 1] = gf2::multiply(f[i], square);
        square = gf2::multiply(square, square);
    }
    return f;
}

constexpr auto kShiftFactors = make_shift_factors();
static_assert(kShiftFactors[7] == x_pow(128 - 33));
static_assert(kShiftFactors[12] == x_pow(4096 - 33));

// a * b * x^33 mod P: the 63-bit carry-less product, read as a reflected 64-bit word, is
// a * b * x; the crc32 instruction from a zero register multiplies a word by x^32 mod P.
CRYO_PCLMUL inline uint32_t multiply_x33(uint32_t a, uint32_t b)
{
    __m128i product
        = _mm_clmulepi64_si128(_mm_cvtsi32_si128(static_cast<int>(a)), _mm_cvtsi32_si128(static_cast<int>(b)), 0x00);
    return static_cast<uint32_t>(_mm_crc32_u64(0, static_cast<uint64_t>(_mm_cvtsi128_si64(product))));
}

// x^(bits - 33) mod P for a nonzero multiple of 64 bits: multiply_x33(r, it) moves the
// register r `bits` further on, as feeding that many zero bits would.
CRYO_PCLMUL uint32_t shift_constant(uint64_t bits)
{
    uint32_t c = 0;
    bool first = true;
    for (size_t i = 6; i < 64; ++i) {
        if (((bits >> i) & 1) == 0)
            continue;
        c = first ? kShiftFactors[i] : multiply_x33(c, kShiftFactors[i]);
        first = false;
    }
    return c;
}

// 512-bit folding is bound by the carry-less multiplier; the crc32 instruction runs on other
// execution units, so three crc32 streams over the end of the buffer run alongside it for
// free. Layout: [vector part][stream 0][stream 1][stream 2][tail]; the streams start from a
// zero register and are appended to the vector part's register by shifting it over each
// (R(s, X || Y) = R(s, X) * x^(8|Y|) + R(0, Y)).
CRYO_VPCLMUL512 uint32_t fold_vpclmul512_crc32(uint32_t reg, unsigned char const* p, size_t size)
{
    constexpr size_t kVectors = 4;
    constexpr size_t kBlock = 64 * kVectors;
    constexpr size_t kWords = 5; // per stream and block, in proportion to the speeds
    constexpr size_t kStep = 8 * kWords;
    if (size < 2 * kBlock + 3 * kStep)
        return fold_vpclmul512(reg, p, size);
    size_t const loops = (size - kBlock) / (kBlock + 3 * kStep);
    size_t const stream = loops * kStep;
    unsigned char const* s0 = p + kBlock * (loops + 1);
    unsigned char const* s1 = s0 + stream;
    unsigned char const* s2 = s1 + stream;
    unsigned char const* tail = s2 + stream;
    size_t const tail_size = size - static_cast<size_t>(tail - p);

    __m512i acc[kVectors];
    for (size_t i = 0; i < kVectors; ++i)
        acc[i] = load512(p + 64 * i);
    acc[0] = _mm512_xor_si512(acc[0], _mm512_zextsi128_si512(_mm_cvtsi32_si128(static_cast<int>(reg))));
    __m512i const k = _mm512_broadcast_i32x4(load128(&kFold2048));
    uint64_t c0 = 0, c1 = 0, c2 = 0;
    for (size_t l = 0; l < loops; ++l) {
        p += kBlock;
        for (size_t i = 0; i < kVectors; ++i)
            acc[i] = fold512(acc[i], k, load512(p + 64 * i));
        for (size_t w = 0; w < kWords; ++w) {
            uint64_t x, y, z;
            std::memcpy(&x, s0 + 8 * w, 8);
            std::memcpy(&y, s1 + 8 * w, 8);
            std::memcpy(&z, s2 + 8 * w, 8);
            c0 = _mm_crc32_u64(c0, x);
            c1 = _mm_crc32_u64(c1, y);
            c2 = _mm_crc32_u64(c2, z);
        }
        s0 += kStep;
        s1 += kStep;
        s2 += kStep;
    }
    __m512i sum = _mm512_maskz_mov_epi64(0xC0, acc[kVectors - 1]);
    for (size_t i = 0; i < kVectors; ++i)
        sum = fold512(acc[i], load512(&kReduce[16 - 4 * kVectors + 4 * i]), sum);
    __m128i lane = _mm_xor_si128(_mm512_extracti32x4_epi32(sum, 0), _mm512_extracti32x4_epi32(sum, 1));
    lane = _mm_xor_si128(lane, _mm_xor_si128(_mm512_extracti32x4_epi32(sum, 2), _mm512_extracti32x4_epi32(sum, 3)));
    uint32_t r = finish(lane, p, 0);
    uint32_t const shift = shift_constant(8 * uint64_t { stream });
    r = multiply_x33(r, shift) ^ static_cast<uint32_t>(c0);
    r = multiply_x33(r, shift) ^ static_cast<uint32_t>(c1);
    r = multiply_x33(r, shift) ^ static_cast<uint32_t>(c2);
    return hardware(r, tail, tail_size);
}

bool cpu_has(Crc32cPath path)
{
    __builtin_cpu_init();
    switch (path) {
    case Crc32cPath::Table:
        return true;
    case Crc32cPath::Sse42:
        return __builtin_cpu_supports("sse4.2");
    case Crc32cPath::Pclmul:
        return __builtin_cpu_supports("sse4.2") && __builtin_cpu_supports("pclmul");
    case Crc32cPath::Vpclmul256:
        return cpu_has(Crc32cPath::Pclmul) && __builtin_cpu_supports("vpclmulqdq") && __builtin_cpu_supports("avx2");
    case Crc32cPath::Vpclmul512:
    case Crc32cPath::Vpclmul512Crc32:
        return cpu_has(Crc32cPath::Pclmul) && __builtin_cpu_supports("vpclmulqdq") && __builtin_cpu_supports("avx512f")
            && __builtin_cpu_supports("avx512vl");
    }
    return false;
}

Crc32cPath detect_best_path()
{
    for (auto path : { Crc32cPath::Vpclmul512Crc32, Crc32cPath::Vpclmul512, Crc32cPath::Vpclmul256, Crc32cPath::Pclmul,
                       Crc32cPath::Sse42 })
        if (cpu_has(path))
            return path;
    return Crc32cPath::Table;
}

// The raw register (no initial or final inversion) after the bytes, through one path.
uint32_t run(Crc32cPath path, uint32_t reg, unsigned char const* p, size_t size)
{
    switch (path) {
    case Crc32cPath::Table:
        return software(reg, p, size);
    case Crc32cPath::Sse42:
        return hardware(reg, p, size);
    case Crc32cPath::Pclmul:
        return fold_pclmul(reg, p, size);
    case Crc32cPath::Vpclmul256:
        return fold_vpclmul256(reg, p, size);
    case Crc32cPath::Vpclmul512:
        return fold_vpclmul512(reg, p, size);
    case Crc32cPath::Vpclmul512Crc32:
        return fold_vpclmul512_crc32(reg, p, size);
    }
    return software(reg, p, size);
}

} // namespace

Crc32cPath crc32c_best_path()
{
    static Crc32cPath const best = detect_best_path();
    return best;
}

bool crc32c_path_available(Crc32cPath path)
{
    static auto const available = [] {
        std::array<bool, 6> a {};
        for (size_t i = 0; i < a.size(); ++i)
            a[i] = cpu_has(static_cast<Crc32cPath>(i));
        return a;
    }();
    auto i = static_cast<size_t>(path);
    return i < available.size() && available[i];
}

uint32_t crc32c_update_with(Crc32cPath path, uint32_t crc, void const* data, size_t size)
{
    if (!crc32c_path_available(path))
        path = crc32c_best_path();
    return ~run(path, ~crc, static_cast<unsigned char const*>(data), size);
}

uint32_t crc32c_update(uint32_t crc, void const* data, size_t size)
{
    auto path = crc32c_best_path();
    // Below this the shifts that append the crc32 streams cost more than the streams save.
    constexpr size_t kMinStreams = 8192;
    if (path == Crc32cPath::Vpclmul512Crc32 && size < kMinStreams)
        path = Crc32cPath::Vpclmul512;
    return ~run(path, ~crc, static_cast<unsigned char const*>(data), size);
}

} // namespace cryo::checkpoint
