// PageFiller without root: raw page files of an image filled into this very process's memory
// (process_vm_writev to ourselves), several jobs in flight at once, waited in order; each
// job's CRC is checked at its wait (a flipped byte fails that job only), a page index that
// does not match the file fails at submit, a job is waited once, and a filler dropped with
// jobs in flight stops cleanly.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <sys/mman.h>
#include <unistd.h>

#include "checkpoint/image.h"
#include "checkpoint/pages.h"
#include "checkpoint/pages_fill.h"
#include "sys/file.h"
#include "temp_dir.h"
#include "test_mapping.h"

using namespace cryo;
using namespace cryo::checkpoint;

namespace {

using cryo::test::TempDir;

std::string random_bytes(size_t size, unsigned seed)
{
    std::string v(size, '\0');
    std::mt19937_64 rng(seed);
    for (size_t i = 0; i + 8 <= size; i += 8) {
        uint64_t w = rng();
        std::memcpy(v.data() + i, &w, 8);
    }
    return v;
}

using cryo::test::Mapping;

// Page files pages-<i+1>.img with the given contents, committed as an image.
std::string write_image(TempDir const& tmp, std::vector<std::string> const& files)
{
    std::string dir = tmp.path + "/img";
    auto w = MUST(ImageWriter::create(dir));
    Manifest m;
    m.root_pid = 1;
    for (size_t i = 0; i < files.size(); ++i) {
        MUST(w.write_file(page_file_name(static_cast<int>(i + 1)), files[i]));
        m.pids.push_back(static_cast<int>(i + 1));
    }
    MUST(w.commit(m));
    return dir;
}

// A target for `data`: two runs with a 3-page hole between them (the hole must stay zero).
struct Target {
    explicit Target(size_t bytes)
        : memory(bytes + 3 * 4096)
    {
        size_t first = bytes / 4096 / 3 * 4096;
        split = first;
        if (first)
            runs.push_back({ memory.address(), first / 4096 });
        if (bytes - first)
            runs.push_back({ memory.address(first + 3 * 4096), (bytes - first) / 4096 });
    }
    ::testing::AssertionResult holds(std::string const& data) const
    {
        if (std::memcmp(memory.data, data.data(), split) != 0)
            return ::testing::AssertionFailure() << "first run differs";
        for (size_t i = split; i < split + 3 * 4096; ++i)
            if (memory.data[i] != 0)
                return ::testing::AssertionFailure() << "hole written at " << i;
        if (std::memcmp(memory.data + split + 3 * 4096, data.data() + split, data.size() - split) != 0)
            return ::testing::AssertionFailure() << "second run differs";
        return ::testing::AssertionSuccess();
    }
    Mapping memory;
    size_t split { 0 };
    std::vector<PageRun> runs;
};

// An unstriped page file: the one part submit() takes.
std::vector<FileSource> one(FileSource source)
{
    std::vector<FileSource> parts;
    parts.push_back(std::move(source));
    return parts;
}

} // namespace

TEST(PageFiller, SeveralJobsInFlightThenWaitedInOrder)
{
    TempDir tmp;
    // Sizes around the 1 MiB chunk: several chunks and a partial one, empty, one page.
    std::vector<std::string> files { random_bytes(3 * kStreamChunk + 5 * 4096, 1), std::string(), random_bytes(4096, 2),
                                     random_bytes(2 * kStreamChunk, 3) };
    auto dir = write_image(tmp, files);
    auto image = MUST(ImageReader::open(dir));
    std::vector<std::unique_ptr<Target>> targets;
    PageFiller filler;
    std::vector<size_t> jobs;
    for (size_t i = 0; i < files.size(); ++i) {
        targets.push_back(std::make_unique<Target>(files[i].size()));
        auto source = MUST(image.open_file(page_file_name(static_cast<int>(i + 1))));
        jobs.push_back(MUST(filler.submit(::getpid(), targets[i]->runs, one(std::move(source)), std::nullopt)));
    }
    for (size_t i = 0; i < files.size(); ++i) {
        MUST(filler.wait(jobs[i]));
        EXPECT_TRUE(targets[i]->holds(files[i])) << "file " << i;
    }
    auto again = filler.wait(jobs[0]);
    ASSERT_FALSE(again);
    EXPECT_NE(again.error().message().find("no such job waiting"), std::string::npos) << again.error().message();
}

TEST(PageFiller, FlippedByteFailsOnlyItsJobAtWait)
{
    TempDir tmp;
    std::vector<std::string> files { random_bytes(2 * kStreamChunk + 4096, 4), random_bytes(kStreamChunk, 5) };
    auto dir = write_image(tmp, files);
    // Flip one byte in the middle of the first file's second chunk: same size, bad CRC.
    auto path = dir + "/" + page_file_name(1);
    auto bytes = MUST(sys::read_file(path));
    bytes[kStreamChunk + 12345] ^= 0x01;
    MUST(sys::write_file(path, bytes));
    auto image = MUST(ImageReader::open(dir));
    Target bad(files[0].size()), good(files[1].size());
    PageFiller filler;
    auto bad_source = MUST(image.open_file(page_file_name(1)));
    auto good_source = MUST(image.open_file(page_file_name(2)));
    size_t bad_job = MUST(filler.submit(::getpid(), bad.runs, one(std::move(bad_source)), std::nullopt));
    size_t good_job = MUST(filler.submit(::getpid(), good.runs, one(std::move(good_source)), std::nullopt));
    auto r = filler.wait(bad_job);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find(page_file_name(1) + ": checksum mismatch"), std::string::npos)
        << r.error().message();
    MUST(filler.wait(good_job));
    EXPECT_TRUE(good.holds(files[1]));
}

TEST(PageFiller, IndexNotMatchingTheFileFailsAtSubmit)
{
    TempDir tmp;
    auto dir = write_image(tmp, { random_bytes(8 * 4096, 6) });
    auto image = MUST(ImageReader::open(dir));
    Mapping memory(16 * 4096);
    PageFiller filler;
    std::vector<PageRun> runs { { memory.address(), 9 } }; // one page more than the file holds
    auto source = MUST(image.open_file(page_file_name(1)));
    auto r = filler.submit(::getpid(), runs, one(std::move(source)), std::nullopt);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("the page index says"), std::string::npos) << r.error().message();
}

TEST(PageFiller, DroppedWithJobsInFlight)
{
    TempDir tmp;
    std::vector<std::string> files { random_bytes(16 * kStreamChunk, 7), random_bytes(16 * kStreamChunk, 8) };
    auto dir = write_image(tmp, files);
    auto image = MUST(ImageReader::open(dir));
    Target a(files[0].size()), b(files[1].size());
    {
        auto source_a = MUST(image.open_file(page_file_name(1)));
        auto source_b = MUST(image.open_file(page_file_name(2)));
        PageFiller filler;
        MUST(filler.submit(::getpid(), a.runs, one(std::move(source_a)), std::nullopt));
        MUST(filler.submit(::getpid(), b.runs, one(std::move(source_b)), std::nullopt));
        // Destroyed without wait(): the worker stops after its chunk, nothing hangs or crashes.
    }
    // Whatever was copied is the file's bytes; the hole is never written.
    for (size_t i = a.split; i < a.split + 3 * 4096; ++i)
        ASSERT_EQ(a.memory.data[i], 0);
}
