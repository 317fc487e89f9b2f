// CRC-32C (Castagnoli), the checksum of every image file. Uses the SSE4.2 crc32 instruction
// when the CPU has it (several GB/s), a table otherwise; both give identical results.
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

} // namespace cryo::checkpoint
