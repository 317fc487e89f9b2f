// CRC-32C's arithmetic: polynomials over GF(2) modulo the Castagnoli polynomial P, held as the
// CRC register holds them (reflected: bit i is the coefficient of x^(31-i), so x^0 is bit 31
// and multiplying by x is a right shift, folding x^32 back in as the low terms of P). Shared
// by the folding constants (crc32c.cpp) and the combination of CRCs (crc32c_combine.cpp);
// constexpr, so both compute their tables at compile time.
#pragma once

#include <cstdint>

namespace cryo::checkpoint::gf2 {

inline constexpr uint32_t kPolynomial = 0x82F63B78; // reflected Castagnoli
inline constexpr uint32_t kOne = 1U << 31; // x^0

// a * x mod P.
constexpr uint32_t times_x(uint32_t a)
{
    return (a & 1) ? (a >> 1) ^ kPolynomial : a >> 1;
}

// x^n mod P.
constexpr uint32_t x_pow(uint32_t n)
{
    uint32_t r = kOne;
    for (uint32_t i = 0; i < n; ++i)
        r = times_x(r);
    return r;
}

// a * b mod P.
constexpr uint32_t multiply(uint32_t a, uint32_t b)
{
    uint32_t product = 0;
    for (uint32_t m = kOne; m != 0; m >>= 1) {
        if (a & m)
            product ^= b;
        b = times_x(b);
    }
    return product;
}

static_assert(x_pow(31) == 1U);
static_assert(x_pow(32) == kPolynomial); // x^32 mod P: the terms of P below x^32
static_assert(multiply(x_pow(40), x_pow(50)) == x_pow(90));

} // namespace cryo::checkpoint::gf2
