// CRC-32C of concatenated data from the CRCs of its parts (so page chunks can be checksummed
// by several threads, in any order, and still yield the one whole-file CRC the manifest
// records), and the fastest CRC-32C of large buffers.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cryo::checkpoint {

// crc32c(A || B) from crc32c(A), crc32c(B) and the length of B (crc32c as in crc32c.h:
// initial value and final xor 0xFFFFFFFF; crc32c of nothing is 0).
uint32_t crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t length_b);

// Same result as crc32c_update(crc, data, size): that when the CPU has 512-bit carry-less
// multiplication (or the buffer is under 64 KiB), crc32c_three_streams otherwise.
uint32_t crc32c_fast(uint32_t crc, void const* data, size_t size);

// Same result; splits buffers of 64 KiB and more into three streams the CPU computes in
// parallel (the crc32 instruction has a latency of three cycles), combined. For CPUs with
// SSE4.2 but no 512-bit folding; the rest goes through the one-stream crc32 instruction path.
// Exposed for tests and benchmarks (it is the old crc32c_fast).
uint32_t crc32c_three_streams(uint32_t crc, void const* data, size_t size);

} // namespace cryo::checkpoint
