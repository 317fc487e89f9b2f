// CRC-32C of concatenated data from the CRCs of its parts (so page chunks can be checksummed
// by several threads, in any order, and still yield the one whole-file CRC the manifest
// records), and a faster CRC-32C of large buffers (three independent streams, combined).
#pragma once

#include <cstddef>
#include <cstdint>

namespace cryo::checkpoint {

// crc32c(A || B) from crc32c(A), crc32c(B) and the length of B (crc32c as in crc32c.h:
// initial value and final xor 0xFFFFFFFF; crc32c of nothing is 0).
uint32_t crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t length_b);

// Same result as crc32c_update(crc, data, size); splits large buffers into three streams the
// CPU computes in parallel (the crc32 instruction has a latency of three cycles).
uint32_t crc32c_fast(uint32_t crc, void const* data, size_t size);

} // namespace cryo::checkpoint
