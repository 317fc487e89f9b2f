// Deterministic pseudo-random test data for the checksum tests (the same seed gives the same
// bytes in every run).
#pragma once

#include <cstddef>
#include <random>
#include <vector>

inline std::vector<unsigned char> random_bytes(size_t n, unsigned seed)
{
    std::mt19937 rng(seed);
    std::vector<unsigned char> v(n);
    for (auto& b : v)
        b = static_cast<unsigned char>(rng());
    return v;
}
