// crc32c_bench: GB/s of each CRC-32C path on buffers hot in cache, the old page-writer path
// (three crc32 instruction streams, combined) against carry-less multiplication folding.
//
//   build-<dir>/bench/crc32c_bench [--rounds R] [--ms M] [SIZE...]
//
// Each round runs every path for M ms (default 30) on each size (default 1 MiB, 64 KiB,
// 4 KiB, 1 KiB, 256 B), the paths taking turns so that load from other work on the machine
// hits all alike; the best round of R (default 9) is printed, with its ratio to the old path.
// Every path's CRC is checked against the table path's before timing.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "checkpoint/crc32c.h"
#include "checkpoint/crc32c_combine.h"

using namespace cryo::checkpoint;

namespace {

struct Variant {
    char const* name;
    uint32_t (*run)(uint32_t crc, void const* data, size_t size);
    bool available;
};

template<Crc32cPath Path>
uint32_t through(uint32_t crc, void const* data, size_t size)
{
    return crc32c_update_with(Path, crc, data, size);
}

double seconds_since(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Bytes per second of one variant over `ms` milliseconds of repeated calls on one buffer.
double measure(Variant const& v, unsigned char const* data, size_t size, double ms)
{
    volatile uint32_t sink = 0;
    uint64_t calls = 0;
    auto start = std::chrono::steady_clock::now();
    double elapsed = 0;
    uint32_t crc = 0;
    do {
        for (int i = 0; i < 16; ++i)
            crc = v.run(crc, data, size);
        calls += 16;
        elapsed = seconds_since(start);
    } while (elapsed * 1000 < ms);
    sink = crc;
    (void)sink;
    return static_cast<double>(calls * size) / elapsed;
}

} // namespace

int main(int argc, char** argv)
{
    int rounds = 9;
    double ms = 30;
    std::vector<size_t> sizes;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--rounds" && i + 1 < argc)
            rounds = std::atoi(argv[++i]);
        else if (arg == "--ms" && i + 1 < argc)
            ms = std::atof(argv[++i]);
        else if (!arg.empty() && arg[0] != '-')
            sizes.push_back(std::strtoull(arg.c_str(), nullptr, 0));
        else {
            std::fprintf(stderr, "usage: %s [--rounds R] [--ms M] [SIZE...]\n", argv[0]);
            return 2;
        }
    }
    if (sizes.empty())
        sizes = { 1 << 20, 1 << 16, 4096, 1024, 256 };

    std::vector<Variant> variants = {
        { "old: three streams (crc32c_fast before)", crc32c_three_streams, true },
        { "sse42: one crc32 stream", through<Crc32cPath::Sse42>, crc32c_path_available(Crc32cPath::Sse42) },
        { "pclmul: 8 x 128-bit lanes", through<Crc32cPath::Pclmul>, crc32c_path_available(Crc32cPath::Pclmul) },
        { "vpclmul256: 4 x 256-bit", through<Crc32cPath::Vpclmul256>, crc32c_path_available(Crc32cPath::Vpclmul256) },
        { "vpclmul512: 4 x 512-bit", through<Crc32cPath::Vpclmul512>, crc32c_path_available(Crc32cPath::Vpclmul512) },
        { "vpclmul512crc32: + 3 crc32 streams", through<Crc32cPath::Vpclmul512Crc32>,
          crc32c_path_available(Crc32cPath::Vpclmul512Crc32) },
        { "new: crc32c_fast", crc32c_fast, true },
    };

    size_t largest = 0;
    for (size_t s : sizes)
        largest = std::max(largest, s);
    std::vector<unsigned char> storage(largest + 64);
    std::mt19937 rng(1);
    for (auto& b : storage)
        b = static_cast<unsigned char>(rng());
    auto offset = (64 - reinterpret_cast<uintptr_t>(storage.data()) % 64) % 64; // SAFETY: address only
    unsigned char const* data = storage.data() + offset;

    for (size_t size : sizes) {
        uint32_t reference = crc32c_update_with(Crc32cPath::Table, 0, data, size);
        for (auto const& v : variants)
            if (v.available && v.run(0, data, size) != reference) {
                std::fprintf(stderr, "%s: wrong CRC on %zu bytes\n", v.name, size);
                return 1;
            }
        std::vector<double> best(variants.size(), 0);
        for (int r = 0; r < rounds; ++r)
            for (size_t i = 0; i < variants.size(); ++i)
                if (variants[i].available)
                    best[i] = std::max(best[i], measure(variants[i], data, size, ms));
        std::printf("%zu bytes (best of %d rounds of %.0f ms):\n", size, rounds, ms);
        for (size_t i = 0; i < variants.size(); ++i) {
            if (!variants[i].available)
                std::printf("  %-42s  not supported by this CPU\n", variants[i].name);
            else
                std::printf("  %-42s %7.2f GB/s  %5.2fx old\n", variants[i].name, best[i] / 1e9, best[i] / best[0]);
        }
    }
    std::printf(
        "crc32c_update uses path %d (0 table, 1 sse42, 2 pclmul, 3 vpclmul256, 4 vpclmul512, 5 vpclmul512crc32)\n",
        static_cast<int>(crc32c_best_path()));
    return 0;
}
