// SHA-256 (FIPS 180-4), streaming: what layer and blob digests are computed and verified with.
// Own compact implementation because no library already linked exposes one (libarchive keeps
// its digests private and OpenSSL is not installed).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace cryo::image {

class Sha256 {
public:
    Sha256();
    void update(void const* data, size_t size);
    void update(std::string_view data) { update(data.data(), data.size()); }
    // Lower-case hex of the digest; the object must not be updated afterwards.
    std::string hex_digest();

private:
    void compress(uint8_t const* block);

    std::array<uint32_t, 8> m_state;
    std::array<uint8_t, 64> m_buffer {};
    size_t m_buffered { 0 };
    uint64_t m_total { 0 };
};

std::string sha256_hex(std::string_view data);

} // namespace cryo::image
