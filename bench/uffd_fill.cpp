// uffd_fill: the kernel's floor for a restore's memory fill, measured in the same run as
// bench/cr_restore.sh. New private anonymous memory (4 KiB pages, as a restored process gets)
// is filled with UFFDIO_COPY in 1 MiB chunks by N threads, as cryo's PageFiller does, from:
//   hot:  one 1 MiB buffer per thread, hot in the CPU cache: only what the kernel does per
//         page (allocation, memcg charge, LRU, page table, a copy from cache);
//   file: FILE mapped read-only (its page-cache pages) at a 2 MiB-aligned address, as cryo
//         maps a raw page file: the above plus reading the data from memory and faulting the
//         source mapping in (one PMD per 2 MiB page-cache folio, else one PTE per page).
//   thp:  for comparison, FILE copied with memcpy into memory with MADV_HUGEPAGE (2 MiB pages,
//         each zeroed by its fault, then written): what a restore of an area that had
//         transparent huge pages does (process_vm_writev), since UFFDIO_COPY only makes 4 KiB
//         pages in anonymous memory.
// No checksum (cryo's CRC-32C pass reads the chunk from memory just before the copy reads it
// from cache). Times include the destination's mmap and registration.
//
//   uffd_fill --threads N FILE     (fills as many bytes as FILE holds, whole MiB)
//
// Output: "uffd_hot_gbps=.. uffd_file_gbps=.. thp_file_gbps=.. uffd_size_mib=.." (GB = 1e9 bytes).
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr size_t kChunk = 1 << 20;

[[noreturn]] void die(char const* what)
{
    std::perror(what);
    std::exit(1);
}

// Runs `work` on `threads` threads, this one included, and waits for all of them.
template<typename F>
void on_threads(unsigned threads, F const& work)
{
    std::vector<std::thread> others;
    for (unsigned i = 1; i < threads; ++i)
        others.emplace_back(work);
    work();
    for (auto& t : others)
        t.join();
}

// Fills `bytes` of new anonymous memory; `source` null: from per-thread hot buffers. Returns GB/s.
double fill(size_t bytes, unsigned threads, uint8_t const* source)
{
    auto start = std::chrono::steady_clock::now();
    void* mapped = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapped == MAP_FAILED)
        die("mmap destination");
    auto* dst = static_cast<uint8_t*>(mapped);
    int uffd = static_cast<int>(::syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY));
    if (uffd < 0)
        die("userfaultfd");
    uffdio_api api {};
    api.api = UFFD_API;
    if (::ioctl(uffd, UFFDIO_API, &api) < 0)
        die("UFFDIO_API");
    uffdio_register reg {};
    reg.range.start = reinterpret_cast<uint64_t>(dst);
    reg.range.len = bytes;
    reg.mode = UFFDIO_REGISTER_MODE_MISSING;
    if (::ioctl(uffd, UFFDIO_REGISTER, &reg) < 0)
        die("UFFDIO_REGISTER");
    std::atomic<size_t> next { 0 };
    auto work = [&] {
        std::vector<uint8_t> hot(kChunk, 0x5a);
        for (;;) {
            size_t offset = next.fetch_add(1) * kChunk;
            if (offset >= bytes)
                return;
            uffdio_copy c {};
            c.dst = reinterpret_cast<uint64_t>(dst + offset);
            c.src = reinterpret_cast<uint64_t>(source ? source + offset : hot.data());
            c.len = kChunk;
            c.mode = UFFDIO_COPY_MODE_DONTWAKE;
            if (::ioctl(uffd, UFFDIO_COPY, &c) < 0)
                die("UFFDIO_COPY");
        }
    };
    on_threads(threads, work);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ::close(uffd);
    ::munmap(dst, bytes);
    return static_cast<double>(bytes) / seconds / 1e9;
}

// Copies `bytes` of `source` into new MADV_HUGEPAGE memory, 2 MiB at a time. Returns GB/s.
double fill_thp(size_t bytes, unsigned threads, uint8_t const* source)
{
    constexpr size_t kHuge = 2 << 20;
    auto start = std::chrono::steady_clock::now();
    void* mapped = ::mmap(nullptr, bytes + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapped == MAP_FAILED)
        die("mmap destination");
    auto* dst = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(mapped) + kHuge - 1) & ~(kHuge - 1));
    if (::madvise(dst, bytes, MADV_HUGEPAGE) < 0)
        die("MADV_HUGEPAGE");
    std::atomic<size_t> next { 0 };
    auto work = [&] {
        for (;;) {
            size_t offset = next.fetch_add(1) * kHuge;
            if (offset >= bytes)
                return;
            std::memcpy(dst + offset, source + offset, std::min(kHuge, bytes - offset));
        }
    };
    on_threads(threads, work);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ::munmap(mapped, bytes + kHuge);
    return static_cast<double>(bytes) / seconds / 1e9;
}

} // namespace

int main(int argc, char** argv)
{
    unsigned threads = 2;
    std::string file;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--threads" && i + 1 < argc)
            threads = static_cast<unsigned>(std::atoi(argv[++i]));
        else
            file = a;
    }
    if (file.empty() || threads == 0) {
        std::fprintf(stderr, "usage: uffd_fill [--threads N] FILE\n");
        return 2;
    }
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st { };
    if (fd < 0 || ::fstat(fd, &st) < 0)
        die(file.c_str());
    size_t bytes = static_cast<size_t>(st.st_size) / kChunk * kChunk;
    if (bytes == 0) {
        std::fprintf(stderr, "uffd_fill: %s holds less than 1 MiB\n", file.c_str());
        return 2;
    }
    double hot = fill(bytes, threads, nullptr);
    // At a 2 MiB-aligned address, as cryo maps a page file: 2 MiB page-cache folios are then
    // mapped with one PMD each.
    constexpr size_t kPmd = 2 << 20;
    void* reserved = ::mmap(nullptr, bytes + kPmd, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (reserved == MAP_FAILED)
        die("mmap reservation");
    auto* aligned = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(reserved) + kPmd - 1) & ~(kPmd - 1));
    void* mapped = ::mmap(aligned, bytes, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
    if (mapped == MAP_FAILED)
        die("mmap source");
    ::madvise(mapped, bytes, MADV_HUGEPAGE);
    double from_file = fill(bytes, threads, static_cast<uint8_t const*>(mapped));
    double thp = fill_thp(bytes, threads, static_cast<uint8_t const*>(mapped));
    ::munmap(reserved, bytes + kPmd);
    ::close(fd);
    std::printf("uffd_hot_gbps=%.2f uffd_file_gbps=%.2f thp_file_gbps=%.2f uffd_size_mib=%zu\n", hot, from_file, thp,
                bytes >> 20);
    return 0;
}
