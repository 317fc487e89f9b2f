// bandwidth: the machine's memcpy and disk write bandwidth, measured in the same run as an
// engine benchmark so dump/restore figures can be read against them (a dump cannot beat the
// memory copy; writing the image cannot beat the disk).
//
//   bandwidth [--size MIB] [--dir DIR] [--threads N]
//
// memcpy: best of 5 copies of SIZE MiB between two pre-faulted buffers, one thread.
// disk: SIZE MiB written in 1 MiB chunks to a fresh file in DIR (preallocated with fallocate,
// as cryo preallocates its page files), then fsync, timed together;
// with one thread, and with N threads each writing SIZE/N MiB to its own file (best of two).
// page cache: the same write without the fsync, one thread, and N threads each into its own
// file: what an unsynced image write (cryo's default, as CRIU's) can reach at best, since it
// copies into new page-cache pages (cryo's dump writes a big process's pages as two files from
// two threads: a file system serializes buffered writes to one file).
// fresh memory: SIZE MiB of new private anonymous memory written once (4 KiB pages, each
// faulted in): the cost a restore pays to allocate the memory it fills. On a VM that gives
// free memory back to its host this can be far below memcpy, and varies from run to run.
// Output: "memcpy_gbps=.. disk_write_gbps=.. disk_write_<N>threads_gbps=.. pagecache_write_gbps=..
// pagecache_write_<N>threads_gbps=.. fresh_memory_gbps=.." (GB = 1e9 bytes).
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

double memcpy_gbps(size_t bytes)
{
    std::vector<char> source(bytes, 1);
    std::vector<char> target(bytes, 0); // both faulted in by the constructors
    double best = 0;
    for (int round = 0; round < 5; round++) {
        auto const start = Clock::now();
        std::memcpy(target.data(), source.data(), bytes);
        double const elapsed = seconds_since(start);
        best = std::max(best, static_cast<double>(bytes) / elapsed / 1e9);
        source[static_cast<size_t>(round)] ^= 1; // keep the copies from being folded away
    }
    if (target[0] == 42)
        std::puts("");
    return best;
}

// Writes bytes to path in 1 MiB chunks, fsyncs if asked; returns false with a message on error.
bool write_file(std::string const& path, size_t bytes, bool sync)
{
    int const fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        std::perror(path.c_str());
        return false;
    }
    // Preallocated, as cryo's dump preallocates its page files (ignored where unsupported).
    (void)fallocate(fd, 0, 0, static_cast<off_t>(bytes));
    std::vector<char> chunk(1 << 20, 'x');
    bool ok = true;
    for (size_t done = 0; ok && done < bytes;) {
        auto const n = write(fd, chunk.data(), std::min(chunk.size(), bytes - done));
        if (n <= 0) {
            std::perror(path.c_str());
            ok = false;
        } else {
            done += static_cast<size_t>(n);
        }
    }
    if (ok && sync && fsync(fd) != 0) {
        std::perror(path.c_str());
        ok = false;
    }
    close(fd);
    unlink(path.c_str());
    return ok;
}

double disk_write_gbps(std::string const& dir, size_t bytes, unsigned threads, bool sync = true)
{
    std::vector<std::thread> workers;
    std::vector<char> ok(threads, 1);
    auto const start = Clock::now();
    for (unsigned t = 0; t < threads; t++) {
        workers.emplace_back([&, t] {
            auto const path = dir + "/bandwidth." + std::to_string(getpid()) + "." + std::to_string(t);
            ok[t] = write_file(path, bytes / threads, sync);
        });
    }
    for (auto& worker : workers)
        worker.join();
    double const elapsed = seconds_since(start);
    if (std::count(ok.begin(), ok.end(), 0) > 0)
        std::exit(1);
    return static_cast<double>(bytes) / elapsed / 1e9;
}

double fresh_memory_gbps(size_t bytes)
{
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        std::perror("mmap");
        std::exit(1);
    }
    (void)madvise(p, bytes, MADV_NOHUGEPAGE); // 4 KiB pages, as the benchmark workloads have
    auto const start = Clock::now();
    std::memset(p, 1, bytes);
    double const elapsed = seconds_since(start);
    munmap(p, bytes);
    return static_cast<double>(bytes) / elapsed / 1e9;
}

} // namespace

int main(int argc, char** argv)
{
    size_t mib = 512;
    std::string dir = "/var/tmp";
    unsigned threads = 2;
    for (int i = 1; i < argc; i++) {
        std::string const arg = argv[i];
        if (arg == "--size" && i + 1 < argc) {
            mib = std::strtoul(argv[++i], nullptr, 10);
        } else if (arg == "--dir" && i + 1 < argc) {
            dir = argv[++i];
        } else if (arg == "--threads" && i + 1 < argc) {
            threads = static_cast<unsigned>(std::strtoul(argv[++i], nullptr, 10));
        } else {
            std::fputs("usage: bandwidth [--size MIB] [--dir DIR] [--threads N]\n", stderr);
            return 2;
        }
    }
    if (mib == 0 || threads == 0) {
        std::fputs("bandwidth: --size and --threads must be positive\n", stderr);
        return 2;
    }
    size_t const bytes = mib << 20;
    double const copy = memcpy_gbps(bytes);
    // Best of two each: the first write into a fresh file system area is often slower.
    double const disk = std::max(disk_write_gbps(dir, bytes, 1), disk_write_gbps(dir, bytes, 1));
    double const disk_parallel = std::max(disk_write_gbps(dir, bytes, threads), disk_write_gbps(dir, bytes, threads));
    double const pagecache = disk_write_gbps(dir, bytes, 1, false);
    double const pagecache_parallel = disk_write_gbps(dir, bytes, threads, false);
    double const fresh = fresh_memory_gbps(bytes);
    std::printf("memcpy_gbps=%.2f disk_write_gbps=%.2f disk_write_%uthreads_gbps=%.2f pagecache_write_gbps=%.2f "
                "pagecache_write_%uthreads_gbps=%.2f fresh_memory_gbps=%.2f size_mib=%zu\n",
                copy, disk, threads, disk_parallel, pagecache, threads, pagecache_parallel, fresh, mib);
    return 0;
}
