// Futex words the kernel may write without waiting (futex_words.h).
//
// Why these words: a userfaultfd write-protect fault waits for its handler only when the
// kernel may retry the fault (FAULT_FLAG_ALLOW_RETRY). Page faults from user space and from
// copy_to_user have it. The futex code does not: it does its atomic ops with page faults
// disabled and on -EFAULT calls fault_in_user_writeable(), i.e. fixup_user_fault(...,
// unlocked = NULL), so handle_userfault() returns VM_FAULT_SIGBUS and the futex call fails
// with EFAULT (FUTEX_WAKE_OP, FUTEX_LOCK_PI/LOCK_PI2/TRYLOCK_PI/UNLOCK_PI, the requeue-PI
// ops). And a thread that exits (PF_EXITING) gets no userfault handling at all, so the robust
// list walk (FUTEX_OWNER_DIED) and the clear_child_tid write fail silently. Measured with
// tests/cr/cr_wp_futex: glibc aborts ("The futex facility returned an unexpected error
// code") when a PI waiter re-enters FUTEX_LOCK_PI on a protected page; a robust mutex whose
// owner exits stays owned by a dead thread for ever; FUTEX_WAKE_OP returns EFAULT.
//
// What the frozen process shows of the words at risk: the futex call each thread is in (a
// blocked PI waiter enters it again after the thaw; the owner's FUTEX_UNLOCK_PI targets the
// same word), is about to make, or has just made. The argument registers show it whatever the
// freeze did with an interrupted call (re-entry, restart_syscall, a spurious wakeup), and
// /proc/PID/task/TID/syscall names a call the thread is still stopped in. Then the words of
// its robust list (held robust mutexes, written by the kernel when it exits), and its
// clear_child_tid (written at exit). (The rseq area is written on return to user space, where
// a fault waits for the handler.) Every futex(2) op's uaddr is taken, FUTEX_WAIT's too: the
// FUTEX_WAKE_OP of a condition variable writes a second word of the same object, so the
// waited-on page is where that write lands.
#include "checkpoint/futex_words.h"

#include <algorithm>
#include <linux/futex.h>
#include <sys/syscall.h>

#include "base/log.h"
#include "sys/futex_state.h"
#include "sys/procfs.h"
#include "sys/ptrace_calls.h"
#include "sys/remote_memory.h"

namespace cryo::checkpoint {

namespace {

constexpr uint64_t kPage = sys::kPageSize;
constexpr int kRobustListLimit = 2048; // the kernel's ROBUST_LIST_LIMIT

#ifndef SYS_futex_wake
constexpr long kSysFutexWake = 454;
constexpr long kSysFutexWait = 455;
#else
constexpr long kSysFutexWake = SYS_futex_wake;
constexpr long kSysFutexWait = SYS_futex_wait;
#endif

// A futex(2) op argument: a command up to FUTEX_LOCK_PI2 with only the flags futex(2) has.
bool looks_like_futex_op(uint64_t op)
{
    return (op & ~static_cast<uint64_t>(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)) <= 13;
}

} // namespace

std::vector<uint64_t> futex_call_words(long nr, std::array<uint64_t, 6> const& args)
{
    std::vector<uint64_t> words;
    if (nr == kSysFutexWake || nr == kSysFutexWait) {
        words.push_back(args[0]);
        return words;
    }
    if (nr != SYS_futex)
        return words;
    words.push_back(args[0]);
    switch (args[1] & ~static_cast<uint64_t>(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)) {
    case FUTEX_WAKE_OP:
    case FUTEX_REQUEUE:
    case FUTEX_CMP_REQUEUE:
    case FUTEX_CMP_REQUEUE_PI:
    case FUTEX_WAIT_REQUEUE_PI:
        words.push_back(args[4]);
        break;
    default:
        break;
    }
    return words;
}

std::vector<uint64_t> register_words(X86Registers const& r, bool at_syscall, bool after_syscall)
{
    // At a `syscall` instruction (about to enter a call, or rewound to enter it again after
    // the interruption), or right after one (the call returned, or the freeze made an
    // interrupted wait return as a spurious wakeup), the argument registers are still the
    // call's (a syscall preserves them), its number not always: rax is the return value after
    // the instruction, and restart_syscall (219) when an interrupted call with a timeout
    // continues from the kernel's restart block. So unless rax names a futex call, arguments
    // that look like a futex(2) call are taken as one: a wrong guess only leaves a page
    // unprotected.
    std::array<uint64_t, 6> args { r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9 };
    bool futex_nr = r.rax == SYS_futex || r.rax == static_cast<uint64_t>(kSysFutexWait)
        || r.rax == static_cast<uint64_t>(kSysFutexWake);
    if (at_syscall && futex_nr)
        return futex_call_words(static_cast<long>(r.rax), args);
    if ((at_syscall || after_syscall) && looks_like_futex_op(r.rsi))
        return futex_call_words(SYS_futex, args);
    return {};
}

std::vector<uint64_t> robust_list_words(uint64_t head, ReadRemote const& read)
{
    std::vector<uint64_t> words;
    struct {
        uint64_t next;
        int64_t futex_offset;
        uint64_t list_op_pending;
    } h {};
    if (head == 0 || !read(head, &h, sizeof h))
        return words;
    auto word_of = [&](uint64_t entry) { return (entry & ~1ULL) + static_cast<uint64_t>(h.futex_offset); };
    uint64_t entry = h.next & ~1ULL; // bit 0 flags a PI futex
    for (int i = 0; i < kRobustListLimit && entry != head && entry != 0; ++i) {
        words.push_back(word_of(entry));
        uint64_t next = 0;
        if (!read(entry, &next, sizeof next))
            break;
        entry = next & ~1ULL;
    }
    if (h.list_op_pending)
        words.push_back(word_of(h.list_op_pending));
    return words;
}

std::vector<std::pair<uint64_t, uint64_t>> unprotected_blocks(std::vector<uint64_t> const& words,
                                                              std::vector<ProtectedRange> const& ranges)
{
    std::vector<std::pair<uint64_t, uint64_t>> blocks;
    for (uint64_t w : words) {
        auto it = std::upper_bound(ranges.begin(), ranges.end(), w,
                                   [](uint64_t a, ProtectedRange const& r) { return a < r.start; });
        if (it == ranges.begin())
            continue;
        auto const& r = *std::prev(it);
        if (w >= r.end)
            continue;
        if (r.huge) {
            uint64_t base = w & ~(sys::kHugePageSize - 1);
            blocks.emplace_back(std::max(r.start, base), std::min(r.end, base + sys::kHugePageSize));
        } else {
            blocks.emplace_back(w & ~(kPage - 1), (w & ~(kPage - 1)) + kPage);
        }
    }
    std::sort(blocks.begin(), blocks.end());
    std::vector<std::pair<uint64_t, uint64_t>> merged;
    for (auto const& b : blocks) {
        if (!merged.empty() && b.first <= merged.back().second)
            merged.back().second = std::max(merged.back().second, b.second);
        else
            merged.push_back(b);
    }
    return merged;
}

Result<std::vector<uint64_t>> kernel_written_words(int pid, std::vector<Thread> const& threads)
{
    ReadRemote read = [pid](uint64_t address, void* out, size_t size) {
        sys::RemoteCopy copy { out, address, size };
        return static_cast<bool>(sys::process_vm_read(pid, std::span(&copy, 1)));
    };
    auto at_syscall = [&](uint64_t address) {
        uint8_t insn[2] {};
        return read(address, insn, 2) && insn[0] == 0x0f && insn[1] == 0x05;
    };
    std::vector<uint64_t> words;
    auto add = [&](std::vector<uint64_t> const& more) { words.insert(words.end(), more.begin(), more.end()); };
    // The live registers, not the model's: those are planned for a restore (an interrupted
    // call may be saved as returned), while what matters is what the thread does on the thaw.
    for (pid_t tid : TRY(sys::list_threads(pid))) {
        auto live = TRY(sys::ptrace_get_regs(tid).context("thread {}", tid));
        X86Registers r {};
        r.rax = live.rax;
        r.rip = live.rip;
        r.rdi = live.rdi;
        r.rsi = live.rsi;
        r.rdx = live.rdx;
        r.r10 = live.r10;
        r.r8 = live.r8;
        r.r9 = live.r9;
        bool at = at_syscall(r.rip);
        add(register_words(r, at, !at && at_syscall(r.rip - 2)));
        // A call the thread is still stopped in (or at the exit of).
        auto call = TRY(sys::task_syscall(pid, tid).context("thread {}", tid));
        if (call)
            add(futex_call_words(call->nr, call->args));
    }
    // Robust lists and clear_child_tid as collected (task_state.cpp), not read again.
    for (auto const& t : threads) {
        if (t.state.robust_list)
            add(robust_list_words(t.state.robust_list->head, read));
        if (t.clear_child_tid)
            words.push_back(t.clear_child_tid);
    }
    return words;
}

} // namespace cryo::checkpoint
