// Pseudo-random fill and verify of memory, shared by the checkpoint workloads
// (tests/cr/cr_memory.c, bench/cr_bench_workload.c): word i of a region filled with seed s is
// prng_word(s + i), so every page differs (incompressible, no two pages merge) and a verifier
// needs only the seed to find the first wrong word.
#pragma once

#include <stddef.h>
#include <stdint.h>

// The 64-bit finalizer of MurmurHash3: a bijection that spreads every input bit over the word.
inline static uint64_t prng_word(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

inline static void prng_fill(uint64_t* p, size_t words, uint64_t seed)
{
    for (size_t i = 0; i < words; ++i)
        p[i] = prng_word(seed + i);
}

// Index of the first word that differs from prng_fill(p, words, seed), or -1 if none does.
inline static long prng_check(uint64_t const* p, size_t words, uint64_t seed)
{
    for (size_t i = 0; i < words; ++i)
        if (p[i] != prng_word(seed + i))
            return (long)i;
    return -1;
}
