// Page files end to end without root: PageFileWriter copies pages out of this process and
// writes chunks (raw and compressed, streaming and deferred, two threads) into an image, the manifest records size, CRC and compression, and restore_pages
// fills memory of this very process (process_vm_writev to ourselves) from them; frames round
// trip; a corrupt frame is a clear error.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <sys/mman.h>
#include <unistd.h>

#include "checkpoint/compress.h"
#include "checkpoint/crc32c.h"
#include "checkpoint/image.h"
#include "checkpoint/pages.h"
#include "sys/file.h"
#include "temp_dir.h"
#include "test_mapping.h"

using namespace cryo;
using namespace cryo::checkpoint;

namespace {

using cryo::test::TempDir;

// Half compressible (repeating words), half random: frames of both kinds.
std::vector<uint8_t> sample(size_t size, unsigned seed)
{
    std::vector<uint8_t> v(size);
    std::mt19937_64 rng(seed);
    for (size_t i = 0; i + 8 <= size; i += 8) {
        uint64_t w = (i / (4 << 20)) % 2 ? rng() : (i / 64) * 0x0101010101010101ULL;
        std::memcpy(v.data() + i, &w, 8);
    }
    return v;
}

using cryo::test::Mapping;

// Writes `data` (a multiple of 4096 bytes) as pages-1.img through PageFileWriter, copying it out of this
// very process (process_vm_readv from ourselves) as three segments, the middle one read
// through /proc/self/mem as if unreadable; commits, returns the image dir.
std::string write_image(TempDir const& tmp, std::vector<uint8_t> const& data, Compression c, bool deferred)
{
    std::string dir = tmp.path + "/img-" + compression_name(c) + (deferred ? "-deferred" : "");
    auto w = MUST(ImageWriter::create(dir));
    ChunkPool pool;
    auto sink = MUST(w.create_file("pages-1.img"));
    PageFileWriter writer(std::move(sink), pool, { .compression = c, .deferred = deferred, .progress = nullptr });
    Mapping pages(data.size()); // page aligned, as a process's pages are
    std::memcpy(pages.data, data.data(), data.size());
    uint64_t base = reinterpret_cast<uint64_t>(pages.data);
    uint64_t a = data.size() / 3 / 4096 * 4096, b = 2 * a;
    PagePlan plan;
    plan.segments = { { base, a, true }, { base + a, b - a, false }, { base + b, data.size() - b, true } };
    plan.bytes = data.size();
    MUST(copy_pages(::getpid(), plan, pool, writer));
    auto sink_done = MUST(writer.finish());
    MUST(w.close_file(std::move(sink_done)));
    Manifest m;
    m.root_pid = 1;
    m.pids = { 1 };
    MUST(w.commit(m));
    return dir;
}

bool can_load(Compression c) { return static_cast<bool>(load_compression(c)); }

} // namespace

TEST(PageFrames, RoundTripEveryCodec)
{
    auto data = sample(3 << 20, 1);
    for (auto c : { Compression::None, Compression::Zstd, Compression::Lz4 }) {
        if (!can_load(c))
            continue;
        std::vector<uint8_t> frame;
        MUST(compress_frame(c, data.data(), data.size(), frame));
        FrameHeader h;
        std::memcpy(&h, frame.data(), sizeof h);
        EXPECT_EQ(h.magic, kFrameMagic);
        EXPECT_EQ(h.raw_size, data.size());
        EXPECT_EQ(h.stored_size + kFrameHeaderSize, frame.size());
        if (c != Compression::None) {
            EXPECT_LT(frame.size(), data.size()) << compression_name(c);
        }
        std::vector<uint8_t> back(data.size());
        MUST(decompress_frame(h, frame.data() + kFrameHeaderSize, back.data()));
        EXPECT_EQ(back, data) << compression_name(c);
    }
}

TEST(PageFiles, WriteThenRestoreIntoOwnMemory)
{
    TempDir tmp;
    // 2.5 chunks, two runs with a hole between them in the target.
    size_t size = kPageChunk * 2 + kPageChunk / 2;
    auto data = sample(size, 2);
    for (auto [c, deferred] : { std::pair { Compression::None, false }, { Compression::None, true },
             { Compression::Zstd, false }, { Compression::Zstd, true }, { Compression::Lz4, false } }) {
        if (!can_load(c))
            continue;
        auto dir = write_image(tmp, data, c, deferred);
        auto image = MUST(ImageReader::open(dir));
        auto const& entry = image.manifest().files.at("pages-1.img");
        EXPECT_EQ(image.manifest().version, c == Compression::None ? 1 : 2);
        if (c == Compression::None) {
            EXPECT_EQ(entry.size, size);
            EXPECT_EQ(entry.crc32c, crc32c(data.data(), data.size()));
            EXPECT_TRUE(entry.compression.empty());
        } else {
            EXPECT_EQ(entry.compression, compression_name(c));
            EXPECT_EQ(entry.raw_size, size);
            EXPECT_LT(entry.size, size);
        }
        // The whole-file CRC the writer combined from its chunks is the file's CRC.
        MUST(image.read_file("pages-1.img"));

        Mapping target(size + 4 * 4096);
        uint64_t base = reinterpret_cast<uint64_t>(target.data);
        size_t first = 1000 * 4096;
        std::vector<PageRun> runs { { base, first / 4096 }, { base + first + 4 * 4096, (size - first) / 4096 } };
        auto source = MUST(image.open_file("pages-1.img"));
        MUST(restore_pages(::getpid(), runs, source));
        EXPECT_EQ(std::memcmp(target.data, data.data(), first), 0) << compression_name(c);
        EXPECT_EQ(std::memcmp(target.data + first + 4 * 4096, data.data() + first, size - first), 0) << compression_name(c);
        for (size_t i = first; i < first + 4 * 4096; ++i)
            ASSERT_EQ(target.data[i], 0) << "hole written at " << i;
    }
}

TEST(PageFiles, CorruptFrameIsAClearError)
{
    if (!can_load(Compression::Zstd))
        GTEST_SKIP() << "no libzstd";
    TempDir tmp;
    auto data = sample(kPageChunk + 4096, 3);
    auto dir = write_image(tmp, data, Compression::Zstd, false);
    // Break the second frame's magic: restore names the file and the offset; nothing crashes.
    std::string path = dir + "/pages-1.img";
    auto bytes = MUST(sys::read_file(path));
    FrameHeader h;
    std::memcpy(&h, bytes.data(), sizeof h);
    bytes[kFrameHeaderSize + h.stored_size] ^= 0x55;
    MUST(sys::write_file(path, bytes));
    auto image = MUST(ImageReader::open(dir));
    Mapping target(data.size());
    std::vector<PageRun> runs { { reinterpret_cast<uint64_t>(target.data), data.size() / 4096 } };
    auto source = MUST(image.open_file("pages-1.img"));
    auto r = restore_pages(::getpid(), runs, source);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("pages-1.img: bad frame at byte"), std::string::npos) << r.error().message();
}
