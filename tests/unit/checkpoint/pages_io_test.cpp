// Page files end to end without root: PageFileWriter copies pages out of this process and
// writes chunks (raw and compressed, streaming and deferred, two threads) into an image, the manifest records size, CRC
// and compression, and restore_pages fills memory of this very process (process_vm_writev to ourselves) from them;
// frames round trip; a corrupt frame is a clear error.
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
    // Raw: one file per part of the stripe layout, as dump.cpp makes them.
    uint32_t parts = c == Compression::None ? stripe_layout_for(data.size()).stripes : 1;
    std::vector<FileSink> sinks;
    for (uint32_t part = 0; part < parts; ++part)
        sinks.push_back(MUST(w.create_file(page_file_name(1, part))));
    PageFileWriter writer(std::move(sinks), pool, { .compression = c, .deferred = deferred, .progress = nullptr });
    Mapping pages(data.size()); // page aligned, as a process's pages are
    std::memcpy(pages.data, data.data(), data.size());
    uint64_t base = reinterpret_cast<uint64_t>(pages.data);
    uint64_t a = data.size() / 3 / 4096 * 4096, b = 2 * a;
    PagePlan plan;
    plan.segments = { { base, a, true }, { base + a, b - a, false }, { base + b, data.size() - b, true } };
    plan.bytes = data.size();
    MUST(copy_pages(::getpid(), plan, pool, writer));
    for (auto& sink : MUST(writer.finish()))
        MUST(w.close_file(std::move(sink)));
    Manifest m;
    m.root_pid = 1;
    m.pids = { 1 };
    MUST(w.commit(m));
    return dir;
}

bool can_load(Compression c)
{
    return static_cast<bool>(load_compression(c));
}

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
    for (auto [c, deferred] : { std::pair { Compression::None, false },
                                { Compression::None, true },
                                { Compression::Zstd, false },
                                { Compression::Zstd, true },
                                { Compression::Lz4, false } }) {
        if (!can_load(c))
            continue;
        auto dir = write_image(tmp, data, c, deferred);
        auto image = MUST(ImageReader::open(dir));
        auto const& entry = image.manifest().files.at("pages-1.img");
        EXPECT_EQ(image.manifest().version, c == Compression::None ? 3 : 2);
        if (c == Compression::None) {
            // Striped over two files, units of kStreamChunk taking turns: each part is its units in order.
            EXPECT_EQ(entry.stripes, 2u);
            EXPECT_EQ(entry.stripe_size, kStreamChunk);
            EXPECT_TRUE(entry.compression.empty());
            for (uint32_t part = 0; part < 2; ++part) {
                std::vector<uint8_t> expected;
                for (size_t at = part * kStreamChunk; at < size; at += 2 * kStreamChunk)
                    expected.insert(expected.end(), data.begin() + at,
                                    data.begin() + std::min(size, at + kStreamChunk));
                auto const& e = image.manifest().files.at(page_file_name(1, part));
                EXPECT_EQ(e.size, expected.size()) << part;
                EXPECT_EQ(e.crc32c, crc32c(expected.data(), expected.size())) << part;
                auto on_disk = MUST(image.read_file(page_file_name(1, part)));
                EXPECT_TRUE(std::equal(on_disk.begin(), on_disk.end(), expected.begin(), expected.end(),
                                       [](char a, uint8_t b) { return static_cast<uint8_t>(a) == b; }))
                    << part;
            }
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
        auto sources = MUST(open_page_files(image, 1));
        MUST(restore_pages(::getpid(), runs, std::move(sources)));
        EXPECT_EQ(std::memcmp(target.data, data.data(), first), 0) << compression_name(c);
        EXPECT_EQ(std::memcmp(target.data + first + 4 * 4096, data.data() + first, size - first), 0)
            << compression_name(c);
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
    auto r = restore_pages(::getpid(), runs, MUST(open_page_files(image, 1)));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("pages-1.img: bad frame at byte"), std::string::npos) << r.error().message();
}

TEST(StripeLayout, PartsHoldEveryUnitOnce)
{
    StripeLayout layout { .stripes = 2, .unit = 4096 };
    for (uint64_t total : { uint64_t { 0 }, uint64_t { 100 }, uint64_t { 4096 }, uint64_t { 4097 }, uint64_t { 8192 },
                            uint64_t { 3 * 4096 + 5 }, uint64_t { 10 * 4096 } }) {
        EXPECT_EQ(layout.part_size(total, 0) + layout.part_size(total, 1), total) << total;
        // Every stream byte maps to a distinct place inside its part.
        std::vector<std::vector<bool>> used(2);
        for (uint32_t part = 0; part < 2; ++part)
            used[part].assign(layout.part_size(total, part), false);
        for (uint64_t at = 0; at < total; at += 512) {
            uint32_t part = layout.part_of(at);
            uint64_t offset = layout.part_offset(at);
            ASSERT_LT(offset, used[part].size()) << total << " " << at;
            EXPECT_FALSE(used[part][offset]) << total << " " << at;
            used[part][offset] = true;
        }
    }
    EXPECT_EQ(layout.part_of(4096), 1u);
    EXPECT_EQ(layout.part_offset(2 * 4096 + 7), 4096u + 7);
    EXPECT_EQ(layout.part_size(3 * 4096 + 5, 0), 2 * 4096u); // units 0 and 2
    EXPECT_EQ(layout.part_size(3 * 4096 + 5, 1), 4096u + 5); // units 1 and 3 (5 bytes)
    // A dump stripes only a stream of more than one unit.
    EXPECT_EQ(stripe_layout_for(kStreamChunk).stripes, 1u);
    EXPECT_EQ(stripe_layout_for(kStreamChunk + 4096).stripes, 2u);
    EXPECT_EQ(StripeLayout {}.part_offset(12345), 12345u);
}

TEST(PageFiles, DamagedSecondStripeIsAClearError)
{
    TempDir tmp;
    auto data = sample(3 * kStreamChunk + 8192, 4);
    auto dir = write_image(tmp, data, Compression::None, false);
    std::string part1 = dir + "/" + page_file_name(1, 1);
    auto restore = [&]() -> Result<void> {
        auto image = TRY(ImageReader::open(dir));
        Mapping target(data.size());
        std::vector<PageRun> runs { { reinterpret_cast<uint64_t>(target.data), data.size() / 4096 } };
        return restore_pages(::getpid(), runs, TRY(open_page_files(image, 1)));
    };
    MUST(restore());
    auto good = MUST(sys::read_file(part1));
    // A flipped byte: the part's checksum, named.
    auto flipped = good;
    flipped[5000] ^= 0x01;
    MUST(sys::write_file(part1, flipped));
    auto r = restore();
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("pages-1.1.img: checksum mismatch"), std::string::npos) << r.error().message();
    // Truncated: its size, named.
    MUST(sys::write_file(part1, good.substr(0, 4096)));
    r = restore();
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("pages-1.1.img"), std::string::npos) << r.error().message();
    // Missing.
    ASSERT_EQ(::unlink(part1.c_str()), 0);
    r = restore();
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("pages-1.1.img"), std::string::npos) << r.error().message();
}
