// Page compression (cryo dump --compress zstd|lz4|none). libzstd and liblz4 are loaded with
// dlopen on first use, so plain cryo commands neither link nor map them. A compressed page
// file is a sequence of frames, each one chunk of raw page bytes compressed independently (so
// two threads can compress and decompress at once): a 16-byte header (magic "CRPF", codec,
// raw size, stored size) then the stored bytes. A chunk that does not shrink is stored raw.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace cryo::checkpoint {

enum class Compression { None, Zstd, Lz4 };

std::optional<Compression> parse_compression(std::string_view name);
char const* compression_name(Compression c);

inline constexpr uint32_t kFrameMagic = 0x46505243; // "CRPF" little-endian
inline constexpr size_t kFrameHeaderSize = 16;

struct FrameHeader {
    uint32_t magic { kFrameMagic };
    uint32_t codec { 0 }; // 0 stored raw, 1 zstd, 2 lz4
    uint32_t raw_size { 0 };
    uint32_t stored_size { 0 };
};
static_assert(sizeof(FrameHeader) == kFrameHeaderSize);

// Fails with a clear message if the library is missing (names the Debian package).
Result<void> load_compression(Compression c);

// Compresses raw into out (resized): header + payload. The codec must be loaded.
Result<void> compress_frame(Compression c, void const* raw, size_t size, std::vector<uint8_t>& out);
// Decompresses one frame payload into raw (exactly header.raw_size bytes).
Result<void> decompress_frame(FrameHeader const& header, void const* payload, void* raw);

} // namespace cryo::checkpoint
