#include <gtest/gtest.h>

#include <fcntl.h>
#include <stdexcept>
#include <sys/mman.h>
#include <unistd.h>

#include "checkpoint/pages.h"
#include "checkpoint/restore.h"
#include "sys/ptrace_calls.h"
#include "sys/remote_memory.h"

using namespace cryo;
using namespace cryo::checkpoint;

namespace {

MemoryArea area(uint64_t start, uint64_t end, AreaKind kind)
{
    MemoryArea a;
    a.start = start;
    a.end = end;
    a.kind = kind;
    return a;
}

} // namespace

TEST(Pages, SelectAnonymousPresentOrSwapped)
{
    MemoryArea a = area(0x10000, 0x10000 + 6 * 4096, AreaKind::Anonymous);
    std::vector<uint64_t> pm
        = { sys::kPagemapPresent, sys::kPagemapPresent, 0, sys::kPagemapSwapped, 0, sys::kPagemapPresent };
    auto runs = select_pages(a, pm);
    ASSERT_EQ(runs.size(), 3u);
    EXPECT_EQ(runs[0].address, 0x10000u);
    EXPECT_EQ(runs[0].pages, 2u);
    EXPECT_EQ(runs[1].address, 0x10000u + 3 * 4096);
    EXPECT_EQ(runs[1].pages, 1u);
    EXPECT_EQ(runs[2].address, 0x10000u + 5 * 4096);
}

TEST(Pages, SelectFilePrivateOnlyWrittenCopies)
{
    MemoryArea a = area(0x10000, 0x10000 + 3 * 4096, AreaKind::FilePrivate);
    std::vector<uint64_t> pm
        = { sys::kPagemapPresent | sys::kPagemapFileOrShared, sys::kPagemapPresent, sys::kPagemapSwapped };
    auto runs = select_pages(a, pm);
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0].address, 0x10000u + 4096);
    EXPECT_EQ(runs[0].pages, 2u);
    MemoryArea shared = area(0x10000, 0x11000, AreaKind::FileShared);
    EXPECT_TRUE(select_pages(shared, { sys::kPagemapPresent }).empty());
    MemoryArea vdso = area(0x10000, 0x11000, AreaKind::Vdso);
    EXPECT_TRUE(select_pages(vdso, { sys::kPagemapPresent }).empty());
}

TEST(RestorePlan, FindGap)
{
    std::vector<Range> occupied = { { 0x10000, 0x20000 }, { 0x21000, 0x30000 }, { 0x40000, 0x41000 } };
    EXPECT_EQ(MUST(find_gap(occupied, 0x1000, 0x10000)), 0x20000u);
    EXPECT_EQ(MUST(find_gap(occupied, 0x2000, 0x10000)), 0x30000u);
    EXPECT_EQ(MUST(find_gap(occupied, 0x10000, 0x10000)), 0x30000u);
    EXPECT_EQ(MUST(find_gap(occupied, 0x10001, 0x10000)), 0x41000u);
    EXPECT_EQ(MUST(find_gap({}, 0x1000, 0x123)), 0x1000u);
    EXPECT_FALSE(find_gap({ { 0, 1ULL << 47 } }, 0x1000, 0));
}

TEST(RestorePlan, UnmapEverythingButKept)
{
    auto plan = unmap_plan({ { 0x5000, 0x6000 }, { 0x1000, 0x2000 } }, 0x10000);
    ASSERT_EQ(plan.size(), 3u);
    EXPECT_EQ(plan[0].start, 0u);
    EXPECT_EQ(plan[0].end, 0x1000u);
    EXPECT_EQ(plan[1].start, 0x2000u);
    EXPECT_EQ(plan[1].end, 0x5000u);
    EXPECT_EQ(plan[2].start, 0x6000u);
    EXPECT_EQ(plan[2].end, 0x10000u);
    // Areas above the limit (vsyscall) are never in the plan.
    auto high = unmap_plan({ { 0x20000, 0x21000 } }, 0x10000);
    ASSERT_EQ(high.size(), 1u);
    EXPECT_EQ(high[0].end, 0x10000u);
}

TEST(SyscallRestart, RewindsInterruptedSyscalls)
{
    sys::Registers r {};
    r.orig_rax = 0; // read
    r.rax = static_cast<unsigned long long>(-512L); // -ERESTARTSYS
    r.rip = 0x1002;
    auto a = sys::apply_syscall_restart(r, false);
    EXPECT_EQ(a.rax, 0u);
    EXPECT_EQ(a.rip, 0x1000u);
    EXPECT_EQ(a.orig_rax, ~0ULL);
    r.orig_rax = 35; // nanosleep
    r.rax = static_cast<unsigned long long>(-516L); // -ERESTART_RESTARTBLOCK
    auto b = sys::apply_syscall_restart(r, false);
    EXPECT_EQ(static_cast<long>(b.rax), -4L); // -EINTR in a new task
    EXPECT_EQ(b.rip, 0x1002u);
    auto c = sys::apply_syscall_restart(r, true);
    EXPECT_EQ(c.rax, 219u); // restart_syscall in the same task
    EXPECT_EQ(c.rip, 0x1000u);
    sys::Registers user {};
    user.orig_rax = ~0ULL;
    user.rax = 5;
    user.rip = 0x1002;
    auto d = sys::apply_syscall_restart(user, false);
    EXPECT_EQ(d.rax, 5u);
    EXPECT_EQ(d.rip, 0x1002u);
}

// A huge reservation is planned in bounded pagemap chunks, and a run that crosses a chunk
// boundary (256 MiB of address space) stays one run.
TEST(Pages, PlanReadsPagemapInChunksAndJoinsRunsAcrossThem)
{
    size_t const size = size_t { 1 } << 30; // 1 GiB reserved: 4 chunks of pagemap
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    ASSERT_NE(p, MAP_FAILED);
    auto* base = static_cast<uint8_t*>(p);
    size_t const boundary = size_t { 256 } << 20;
    base[boundary - 4096] = 1; // the last page of the first chunk ...
    base[boundary] = 2; // ... and the first of the second
    MemoryArea a = area(reinterpret_cast<uint64_t>(base), reinterpret_cast<uint64_t>(base) + size, AreaKind::Anonymous);
    auto plan = plan_pages(::getpid(), { a });
    ASSERT_TRUE(plan) << plan.error().message();
    ASSERT_EQ(plan->runs.size(), 1u);
    EXPECT_EQ(plan->runs[0].address, a.start + boundary - 4096);
    EXPECT_EQ(plan->runs[0].pages, 2u);
    EXPECT_EQ(plan->bytes, 2u * 4096);
    ::munmap(p, size);
}

namespace {

FileDescription description(uint32_t id, FileKind kind, std::string path, uint32_t flags = 0)
{
    FileDescription d;
    d.id = id;
    d.kind = kind;
    d.path = std::move(path);
    d.flags = flags;
    return d;
}

FileDescription const& description_of(Process const& p, int fd)
{
    for (auto const& f : p.files)
        if (f.fd == fd)
            for (auto const& d : p.file_descriptions)
                if (d.id == f.description)
                    return d;
    throw std::runtime_error("no fd " + std::to_string(fd));
}

} // namespace

TEST(ContainerPaths, PathsGoThroughTheInitRootAndStdioIsReopened)
{
    // The root shares one description (a terminal, `2>&1`) on 0, 1 and 2, plus a log file
    // and a unix socket bound to a path; its child holds the same terminal on fd 1 and on 7.
    Process root;
    root.pid = 1;
    root.mm.exe_path = "/bin/app";
    root.file_descriptions = { description(1, FileKind::CharDevice, "/dev/pts/0", O_RDWR),
                               description(2, FileKind::Regular, "/var/log/app.log", O_WRONLY | O_APPEND),
                               description(3, FileKind::UnixSocket, "socket:[99]") };
    root.file_descriptions[2].bound_name = "/run/app.sock";
    root.files = { { 0, 1, false }, { 1, 1, false }, { 2, 1, false }, { 3, 2, true }, { 4, 3, false } };
    MemoryArea lib;
    lib.kind = AreaKind::FilePrivate;
    lib.name = "/lib/libc.so.6";
    MemoryArea anon;
    anon.kind = AreaKind::Anonymous;
    anon.name = "[heap]";
    root.areas = { lib, anon };
    Process child;
    child.pid = 2;
    child.mm.exe_path = "/bin/app";
    child.file_descriptions = { description(1, FileKind::CharDevice, "/dev/pts/0", O_RDWR) };
    child.files = { { 1, 1, false }, { 7, 1, false } };
    std::vector<Process> tree { root, child };

    prepare_container_paths(tree, 4242);

    auto const& r = tree[0];
    EXPECT_EQ(r.mm.exe_path, "/proc/4242/root/bin/app");
    EXPECT_EQ(r.areas[0].name, "/proc/4242/root/lib/libc.so.6");
    EXPECT_EQ(r.areas[1].name, "[heap]"); // not a path
    EXPECT_EQ(description_of(r, 3).path, "/proc/4242/root/var/log/app.log");
    EXPECT_EQ(description_of(r, 4).bound_name, "/proc/4242/root/run/app.sock");
    // Each of 0-2 gets its own description: the parked init's fd of that number, with the
    // old flags; no description of the old terminal is left.
    for (int fd = 0; fd <= 2; ++fd) {
        auto const& d = description_of(r, fd);
        EXPECT_EQ(d.path, "/proc/4242/fd/" + std::to_string(fd)) << fd;
        EXPECT_EQ(d.kind, FileKind::CharDevice);
        EXPECT_EQ(d.flags, static_cast<uint32_t>(O_RDWR));
    }
    EXPECT_NE(description_of(r, 0).id, description_of(r, 1).id);
    for (auto const& d : r.file_descriptions)
        EXPECT_NE(d.path, "/dev/pts/0");
    // The child's fd 1 is the root's fd 1; its fd 7 takes the root's lowest number (0).
    auto const& c = tree[1];
    EXPECT_EQ(description_of(c, 1).path, "/proc/4242/fd/1");
    EXPECT_EQ(description_of(c, 7).path, "/proc/4242/fd/0");
    EXPECT_EQ(description_of(c, 1).id, description_of(r, 1).id); // the same new description
    EXPECT_EQ(c.file_descriptions.size(), 2u);
}

TEST(ContainerPaths, MarkedStdioIsReattachedWhereverItSits)
{
    // A shell redirecting a builtin's output: the runtime's stdout (marked 1) sits at fd 10,
    // fd 1 is a file of the container, fd 2 the runtime's stderr (marked 2) and fd 0 its
    // stdin (marked 0). A child holds the stdout at fd 1 and the container's file at fd 5.
    Process root;
    root.pid = 1;
    root.file_descriptions = { description(1, FileKind::Regular, "/host/run.log", O_WRONLY | O_APPEND),
                               description(2, FileKind::Regular, "/tmp/redirected", O_WRONLY),
                               description(3, FileKind::Pipe, "pipe:[7]", O_WRONLY),
                               description(4, FileKind::CharDevice, "/dev/null", O_RDONLY) };
    root.file_descriptions[0].stdio_mask = 0b010;
    root.file_descriptions[2].stdio_mask = 0b100;
    root.file_descriptions[3].stdio_mask = 0b001;
    root.files = { { 0, 4, false }, { 1, 2, false }, { 2, 3, false }, { 10, 1, true } };
    Process child;
    child.pid = 2;
    child.file_descriptions = { description(1, FileKind::Regular, "/host/run.log", O_WRONLY | O_APPEND),
                                description(2, FileKind::Regular, "/tmp/redirected", O_WRONLY) };
    child.file_descriptions[0].stdio_mask = 0b010;
    child.files = { { 1, 1, false }, { 5, 2, false } };
    std::vector<Process> tree { root, child };

    prepare_container_paths(tree, 4242, true);

    auto const& r = tree[0];
    EXPECT_EQ(description_of(r, 10).path, "/proc/4242/fd/1");
    EXPECT_EQ(description_of(r, 10).flags, static_cast<uint32_t>(O_WRONLY | O_APPEND));
    EXPECT_EQ(description_of(r, 1).path, "/proc/4242/root/tmp/redirected"); // not stdio
    EXPECT_EQ(description_of(r, 2).path, "/proc/4242/fd/2");
    EXPECT_EQ(description_of(r, 0).path, "/proc/4242/fd/0");
    auto const& c = tree[1];
    EXPECT_EQ(description_of(c, 1).id, description_of(r, 10).id); // the same new description
    EXPECT_EQ(description_of(c, 5).path, "/proc/4242/root/tmp/redirected");
    EXPECT_EQ(c.file_descriptions.size(), 2u);

    // Without marks (an older image), the root's fds 0-2 are stdio, whatever they hold.
    std::vector<Process> unmarked { root, child };
    for (auto& p : unmarked)
        for (auto& d : p.file_descriptions)
            d.stdio_mask = 0;
    prepare_container_paths(unmarked, 4242, false);
    EXPECT_EQ(description_of(unmarked[0], 1).path, "/proc/4242/fd/1");
    EXPECT_EQ(description_of(unmarked[0], 10).path, "/proc/4242/root/host/run.log");
}

TEST(ContainerPaths, OneFileGivenAsTwoStdioNumbersKeepsEach)
{
    // `run >log 2>&1`: one description marked 1 and 2, at the root's fds 1 and 2 and at 10.
    Process root;
    root.pid = 1;
    root.file_descriptions = { description(1, FileKind::Regular, "/host/log", O_WRONLY) };
    root.file_descriptions[0].stdio_mask = 0b110;
    root.files = { { 1, 1, false }, { 2, 1, false }, { 10, 1, false } };
    std::vector<Process> tree { root };
    prepare_container_paths(tree, 7, true);
    EXPECT_EQ(description_of(tree[0], 1).path, "/proc/7/fd/1");
    EXPECT_EQ(description_of(tree[0], 2).path, "/proc/7/fd/2");
    EXPECT_EQ(description_of(tree[0], 10).path, "/proc/7/fd/1");
}

TEST(ContainerPaths, StdioMaskOfIdentity)
{
    RuntimeStdio stdio { sys::FileIdentity { 5, 1 }, sys::FileIdentity { 6, 2 }, sys::FileIdentity { 6, 2 } };
    EXPECT_EQ(stdio_mask_of(stdio, { 5, 1 }), 0b001u);
    EXPECT_EQ(stdio_mask_of(stdio, { 6, 2 }), 0b110u);
    EXPECT_EQ(stdio_mask_of(stdio, { 6, 1 }), 0u); // same inode, other device
    RuntimeStdio closed {}; // no stdio open: nothing matches, not even {0, 0}
    EXPECT_EQ(stdio_mask_of(closed, {}), 0u);
}
