// The restore's page fill (pages_fill.h) against page files the current dump no longer writes,
// and the --debug timeline of a restore (restore_process.h), without root: memory of this very
// process is filled (process_vm_writev to ourselves).
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <unistd.h>

#include "checkpoint/image.h"
#include "checkpoint/pages.h"
#include "checkpoint/restore_process.h"
#include "temp_dir.h"
#include "test_mapping.h"

using namespace cryo;
using namespace cryo::checkpoint;

namespace {

std::vector<uint8_t> random_bytes(size_t size, unsigned seed)
{
    std::vector<uint8_t> v(size);
    std::mt19937_64 rng(seed);
    for (size_t i = 0; i + 8 <= size; i += 8) {
        uint64_t w = rng();
        std::memcpy(v.data() + i, &w, 8);
    }
    return v;
}

// Writes `data` as process 1's raw page stream striped over two files in units of `unit`
// bytes (unit u in part u % 2), as a dump with that stripe unit does; returns the image dir.
std::string write_striped(cryo::test::TempDir const& tmp, std::vector<uint8_t> const& data, uint64_t unit)
{
    std::string dir = tmp.path + "/img";
    auto w = MUST(ImageWriter::create(dir));
    std::vector<FileSink> parts;
    for (unsigned part = 0; part < 2; ++part)
        parts.push_back(MUST(w.create_file(page_file_name(1, part))));
    for (uint64_t u = 0; u * unit < data.size(); ++u)
        MUST(parts[u % 2].write(data.data() + u * unit, std::min<uint64_t>(unit, data.size() - u * unit)));
    parts[0].set_stripes(2, unit);
    for (auto& p : parts)
        MUST(w.close_file(std::move(p)));
    Manifest m;
    m.root_pid = 1;
    m.pids = { 1 };
    MUST(w.commit(m));
    return dir;
}

} // namespace

// The dump's stripe unit became 2 MiB (kStreamChunk); an image with 1 MiB units, as dumps wrote
// before, still fills every byte in place: the restore takes the unit from the manifest.
TEST(PageFill, OlderOneMiBStripeUnitFillsExactly)
{
    ASSERT_NE(kStreamChunk, size_t { 1 << 20 }) << "this test is about a unit other than the dump's";
    cryo::test::TempDir tmp;
    constexpr uint64_t unit = 1 << 20;
    size_t const size = 5 * unit + 3 * 4096; // six units, the last one short
    auto data = random_bytes(size, 7);
    auto image = MUST(ImageReader::open(write_striped(tmp, data, unit)));
    EXPECT_EQ(image.manifest().files.at(page_file_name(1)).stripe_size, unit);

    // Two runs with a hole between them, so that units straddle runs.
    cryo::test::Mapping target(size + 2 * 4096);
    uint64_t base = reinterpret_cast<uint64_t>(target.data);
    size_t const first = 300 * 4096;
    std::vector<PageRun> runs { { base, first / 4096 }, { base + first + 2 * 4096, (size - first) / 4096 } };
    auto sources = MUST(open_page_files(image, 1));
    MUST(restore_pages(::getpid(), runs, std::move(sources)));
    EXPECT_EQ(std::memcmp(target.data, data.data(), first), 0);
    EXPECT_EQ(std::memcmp(target.data + first + 2 * 4096, data.data() + first, size - first), 0);
    for (size_t i = first; i < first + 2 * 4096; ++i)
        ASSERT_EQ(target.data[i], 0) << "hole written at " << i;
}

TEST(RestoreTimeline, PhasesKeepTheirOrderAndRepeatsAddUp)
{
    RestoreTimeline timeline;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    timeline.mark("read");
    timeline.mark("map");
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
    timeline.mark("read");
    auto s = timeline.summary();
    // "read R, map M (total T ms)": read once, before map, holding both of its stretches.
    auto read = s.find("read ");
    auto map = s.find(", map ");
    ASSERT_EQ(read, 0u) << s;
    ASSERT_NE(map, std::string::npos) << s;
    EXPECT_EQ(s.find("read ", read + 1), std::string::npos) << s;
    double read_ms = std::stod(s.substr(5, map - 5));
    double total_ms = std::stod(s.substr(s.find("(total ") + 7));
    EXPECT_GE(read_ms, 5.0) << s;
    EXPECT_GE(total_ms, read_ms) << s;
    EXPECT_GE(timeline.elapsed_ms(), total_ms);
}
