// futex_words.h: which futex call arguments are futex words, the robust-list walk (over a fake
// remote memory), and the blocks a snapshot leaves unprotected for them.
#include <gtest/gtest.h>

#include <cstring>
#include <linux/futex.h>
#include <map>
#include <sys/syscall.h>

#include "checkpoint/futex_words.h"

using namespace cryo::checkpoint;

TEST(FutexWords, CallArguments)
{
    std::array<uint64_t, 6> args { 0x1000, FUTEX_LOCK_PI_PRIVATE, 0, 0, 0x2000, 0 };
    EXPECT_EQ(futex_call_words(SYS_futex, args), (std::vector<uint64_t> { 0x1000 }));
    args[1] = FUTEX_WAKE_OP_PRIVATE;
    EXPECT_EQ(futex_call_words(SYS_futex, args), (std::vector<uint64_t> { 0x1000, 0x2000 }));
    args[1] = FUTEX_WAIT_REQUEUE_PI | FUTEX_CLOCK_REALTIME;
    EXPECT_EQ(futex_call_words(SYS_futex, args), (std::vector<uint64_t> { 0x1000, 0x2000 }));
    args[1] = FUTEX_WAIT_BITSET_PRIVATE; // uaddr2 unused: not a word
    EXPECT_EQ(futex_call_words(SYS_futex, args), (std::vector<uint64_t> { 0x1000 }));
    EXPECT_TRUE(futex_call_words(SYS_read, args).empty());
    EXPECT_TRUE(futex_call_words(-1, args).empty());
}

namespace {

// A fake address space of 8-byte words.
struct FakeMemory {
    std::map<uint64_t, uint64_t> words;
    ReadRemote reader()
    {
        return [this](uint64_t address, void* out, size_t size) {
            for (size_t i = 0; i < size; i += 8) {
                auto it = words.find(address + i);
                if (it == words.end())
                    return false;
                std::memcpy(static_cast<char*>(out) + i, &it->second, std::min<size_t>(8, size - i));
            }
            return true;
        };
    }
};

} // namespace

TEST(FutexWords, RobustListWalk)
{
    FakeMemory m;
    uint64_t head = 0x7000;
    // head -> 0x9018 -> 0xa018 (bit 0: PI) -> head; offset -0x18; pending 0xb018.
    m.words[head] = 0x9018;
    m.words[head + 8] = static_cast<uint64_t>(-0x18);
    m.words[head + 16] = 0xb018;
    m.words[0x9018] = 0xa018 | 1;
    m.words[0xa018] = head;
    EXPECT_EQ(robust_list_words(head, m.reader()), (std::vector<uint64_t> { 0x9000, 0xa000, 0xb000 }));
    // An empty list, no pending op: nothing.
    m.words[head] = head;
    m.words[head + 16] = 0;
    EXPECT_TRUE(robust_list_words(head, m.reader()).empty());
    // Unreadable entry: the walk stops there (the kernel does too), keeping what it found.
    m.words[head] = 0x9018;
    m.words.erase(0xa018);
    EXPECT_EQ(robust_list_words(head, m.reader()), (std::vector<uint64_t> { 0x9000, 0xa000 }));
    // No head registered, or an unreadable head.
    EXPECT_TRUE(robust_list_words(0, m.reader()).empty());
    EXPECT_TRUE(robust_list_words(0x5000, m.reader()).empty());
}

TEST(FutexWords, RobustListCycleIsBounded)
{
    FakeMemory m;
    m.words[0x7000] = 0x9000;
    m.words[0x7008] = 0;
    m.words[0x7010] = 0;
    m.words[0x9000] = 0x9000; // a cycle that never comes back to the head
    EXPECT_EQ(robust_list_words(0x7000, m.reader()).size(), 2048u);
}

TEST(FutexWords, UnprotectedBlocks)
{
    std::vector<ProtectedRange> ranges { { 0x10000, 0x20000, false }, { 0x200000, 0x800000, true } };
    // Two words in one page, one in the next page, one outside every range, one in a huge
    // range (its whole 2 MiB block), one at the start of a huge range not 2 MiB aligned.
    auto blocks = unprotected_blocks({ 0x10010, 0x10ff0, 0x11004, 0x30000, 0x412345 }, ranges);
    std::vector<std::pair<uint64_t, uint64_t>> want { { 0x10000, 0x12000 }, { 0x400000, 0x600000 } };
    EXPECT_EQ(blocks, want);
    ranges[1].start = 0x300000;
    blocks = unprotected_blocks({ 0x300008 }, ranges);
    want = { { 0x300000, 0x400000 } };
    EXPECT_EQ(blocks, want);
    EXPECT_TRUE(unprotected_blocks({}, ranges).empty());
}

TEST(FutexWords, RegisterWords)
{
    X86Registers r {};
    r.rdi = 0x1000;
    r.rsi = FUTEX_WAKE_OP_PRIVATE;
    r.r8 = 0x2000;
    // About to enter futex(2): its words.
    r.rax = SYS_futex;
    EXPECT_EQ(register_words(r, true, false), (std::vector<uint64_t> { 0x1000, 0x2000 }));
    // Right after a call (rax is its result): arguments that look like futex(2)'s are taken.
    r.rax = 0;
    EXPECT_EQ(register_words(r, false, true), (std::vector<uint64_t> { 0x1000, 0x2000 }));
    // restart_syscall of an interrupted FUTEX_WAIT with a timeout.
    r.rax = SYS_restart_syscall;
    r.rsi = FUTEX_WAIT_PRIVATE;
    EXPECT_EQ(register_words(r, true, false), (std::vector<uint64_t> { 0x1000 }));
    // Arguments of another call (read(2): rsi is a buffer), or no syscall instruction near.
    r.rsi = 0x7ffd12345000;
    EXPECT_TRUE(register_words(r, true, false).empty());
    r.rsi = FUTEX_WAIT_PRIVATE;
    EXPECT_TRUE(register_words(r, false, false).empty());
    // rax names another call at the instruction and rsi is no futex op: nothing.
    r.rax = SYS_read;
    r.rsi = 0x7ffd12345000;
    EXPECT_TRUE(register_words(r, true, false).empty());
}
