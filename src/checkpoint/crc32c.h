// CRC-32C (Castagnoli), the checksum of every image file. Buffers of a few hundred bytes and
// more are folded with carry-less multiplication (PCLMULQDQ, or VPCLMULQDQ on 256/512-bit
// vectors; with AVX-512 and 8 KiB or more, alongside crc32 instruction streams) when the CPU
// has it, the rest uses the SSE4.2 crc32 instruction, a table otherwise; all paths give
// bit-identical results.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cryo::checkpoint {

// Continues a running checksum: crc32c_update(crc32c_update(0, a), b) == crc of a+b.
uint32_t crc32c_update(uint32_t crc, void const* data, size_t size);
inline uint32_t crc32c(void const* data, size_t size)
{
    return crc32c_update(0, data, size);
}

// The implementations crc32c_update chooses from, slowest first. The folding paths hand
// buffers shorter than their block (and the last bytes of every buffer) to the slower ones.
enum class Crc32cPath {
    Table, // byte at a time, any CPU
    Sse42, // crc32 instruction, 8 bytes at a time
    Pclmul, // 128-bit folding of eight lanes (PCLMULQDQ)
    Vpclmul256, // 256-bit folding of four vectors (VPCLMULQDQ + AVX2)
    Vpclmul512, // 512-bit folding of four vectors (VPCLMULQDQ + AVX-512F/VL)
    Vpclmul512Crc32, // the same alongside three crc32 instruction streams (large buffers)
};

// The fastest path this CPU runs: what crc32c_update uses.
Crc32cPath crc32c_best_path();
bool crc32c_path_available(Crc32cPath path);
// crc32c_update through one given path, for tests and benchmarks; a path the CPU lacks is
// replaced by crc32c_best_path().
uint32_t crc32c_update_with(Crc32cPath path, uint32_t crc, void const* data, size_t size);

} // namespace cryo::checkpoint
