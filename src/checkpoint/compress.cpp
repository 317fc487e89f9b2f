#include "checkpoint/compress.h"

#include <cstring>
#include <dlfcn.h>
#include <mutex>

namespace cryo::checkpoint {

namespace {

// The few entry points used, with the types of zstd.h / lz4.h (stable ABI of libzstd.so.1,
// liblz4.so.1); declared here so the headers and libraries are not needed at build time.
struct Zstd {
    size_t (*compress)(void*, size_t, void const*, size_t, int);
    size_t (*decompress)(void*, size_t, void const*, size_t);
    size_t (*bound)(size_t);
    unsigned (*is_error)(size_t);
    char const* (*error_name)(size_t);
};
struct Lz4 {
    int (*compress)(char const*, char*, int, int);
    int (*decompress)(char const*, char*, int, int);
    int (*bound)(int);
};

struct Libraries {
    std::mutex mutex;
    Zstd zstd {};
    Lz4 lz4 {};
    bool zstd_loaded { false };
    bool lz4_loaded { false };
};

Libraries& libraries()
{
    static Libraries l;
    return l;
}

template<typename Fn>
Result<void> bind(void* handle, char const* library, char const* name, Fn& out)
{
    void* symbol = ::dlsym(handle, name);
    if (!symbol)
        return Error::format("{} has no {}", library, name);
    // SAFETY: the symbol is the library's definition of `name`, whose type the struct field
    // declares as in the library's public header.
    out = reinterpret_cast<Fn>(symbol);
    return {};
}

Result<void*> open_library(char const* soname, char const* package)
{
    // The handle is never closed: function pointers from it stay valid for the process.
    void* handle = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!handle)
        return Error::format("load {} (Debian package {}): {}", soname, package, ::dlerror());
    return handle;
}

} // namespace

std::optional<Compression> parse_compression(std::string_view name)
{
    if (name == "none" || name.empty())
        return Compression::None;
    if (name == "zstd")
        return Compression::Zstd;
    if (name == "lz4")
        return Compression::Lz4;
    return std::nullopt;
}

char const* compression_name(Compression c)
{
    switch (c) {
    case Compression::Zstd:
        return "zstd";
    case Compression::Lz4:
        return "lz4";
    case Compression::None:
        break;
    }
    return "none";
}

Result<void> load_compression(Compression c)
{
    auto& l = libraries();
    std::lock_guard lock(l.mutex);
    if (c == Compression::Zstd && !l.zstd_loaded) {
        void* h = TRY(open_library("libzstd.so.1", "libzstd1"));
        TRY(bind(h, "libzstd.so.1", "ZSTD_compress", l.zstd.compress));
        TRY(bind(h, "libzstd.so.1", "ZSTD_decompress", l.zstd.decompress));
        TRY(bind(h, "libzstd.so.1", "ZSTD_compressBound", l.zstd.bound));
        TRY(bind(h, "libzstd.so.1", "ZSTD_isError", l.zstd.is_error));
        TRY(bind(h, "libzstd.so.1", "ZSTD_getErrorName", l.zstd.error_name));
        l.zstd_loaded = true;
    }
    if (c == Compression::Lz4 && !l.lz4_loaded) {
        void* h = TRY(open_library("liblz4.so.1", "liblz4-1"));
        TRY(bind(h, "liblz4.so.1", "LZ4_compress_default", l.lz4.compress));
        TRY(bind(h, "liblz4.so.1", "LZ4_decompress_safe", l.lz4.decompress));
        TRY(bind(h, "liblz4.so.1", "LZ4_compressBound", l.lz4.bound));
        l.lz4_loaded = true;
    }
    return {};
}

Result<void> compress_frame(Compression c, void const* raw, size_t size, std::vector<uint8_t>& out)
{
    if (size > UINT32_MAX / 2)
        return Error::format("compress: chunk of {} bytes is too large", size);
    auto const& l = libraries();
    FrameHeader h;
    h.raw_size = static_cast<uint32_t>(size);
    size_t stored = 0;
    if (c == Compression::Zstd) {
        out.resize(kFrameHeaderSize + l.zstd.bound(size));
        // Level 1: zstd's fastest standard level; pages are often zeros or repeated patterns.
        size_t n = l.zstd.compress(out.data() + kFrameHeaderSize, out.size() - kFrameHeaderSize, raw, size, 1);
        if (l.zstd.is_error(n))
            return Error::format("zstd compress: {}", l.zstd.error_name(n));
        stored = n;
        h.codec = 1;
    } else if (c == Compression::Lz4) {
        out.resize(kFrameHeaderSize + static_cast<size_t>(l.lz4.bound(static_cast<int>(size))));
        // SAFETY: lz4 takes char buffers; these are the same bytes.
        int n = l.lz4.compress(static_cast<char const*>(raw), reinterpret_cast<char*>(out.data() + kFrameHeaderSize),
                               static_cast<int>(size), static_cast<int>(out.size() - kFrameHeaderSize));
        if (n <= 0)
            return Error::make("lz4 compress failed");
        stored = static_cast<size_t>(n);
        h.codec = 2;
    }
    if (c == Compression::None || stored >= size) {
        // Incompressible (random data, already compressed): store as is.
        out.resize(kFrameHeaderSize + size);
        std::memcpy(out.data() + kFrameHeaderSize, raw, size);
        stored = size;
        h.codec = 0;
    }
    out.resize(kFrameHeaderSize + stored);
    h.stored_size = static_cast<uint32_t>(stored);
    std::memcpy(out.data(), &h, sizeof h);
    return {};
}

Result<void> decompress_frame(FrameHeader const& header, void const* payload, void* raw)
{
    auto const& l = libraries();
    switch (header.codec) {
    case 0:
        if (header.stored_size != header.raw_size)
            return Error::format("stored frame of {} bytes claims {} raw bytes", header.stored_size, header.raw_size);
        std::memcpy(raw, payload, header.raw_size);
        return {};
    case 1: {
        TRY(load_compression(Compression::Zstd));
        size_t n = l.zstd.decompress(raw, header.raw_size, payload, header.stored_size);
        if (l.zstd.is_error(n))
            return Error::format("zstd decompress: {}", l.zstd.error_name(n));
        if (n != header.raw_size)
            return Error::format("zstd frame decompressed to {} bytes, header says {}", n, header.raw_size);
        return {};
    }
    case 2: {
        TRY(load_compression(Compression::Lz4));
        // SAFETY: lz4 takes char buffers; these are the same bytes.
        int n = l.lz4.decompress(static_cast<char const*>(payload), static_cast<char*>(raw),
                                 static_cast<int>(header.stored_size), static_cast<int>(header.raw_size));
        if (n < 0 || static_cast<uint32_t>(n) != header.raw_size)
            return Error::format("lz4 frame is corrupt (decompressed {} of {} bytes)", n, header.raw_size);
        return {};
    }
    default:
        return Error::format("unknown frame codec {}", header.codec);
    }
}

} // namespace cryo::checkpoint
