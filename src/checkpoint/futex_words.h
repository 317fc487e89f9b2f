// Futex words of a frozen process that the kernel may write without waiting for a userfaultfd
// write-protect handler, so that `dump --leave-running` leaves their pages unprotected
// (wp_snapshot.cpp explains why). Found from each thread's futex call in progress or about
// to start, its robust list and clear_child_tid. Pure helpers are separate from the
// one function that reads the frozen process.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <vector>

#include "base/error.h"
#include "checkpoint/model.h"

namespace cryo::checkpoint {

// The user addresses a syscall `nr` with `args` passes to the kernel as futex words: uaddr of
// futex(2) (every op) and of futex_wait/futex_wake(2), and uaddr2 of the futex(2) ops that
// have one (WAKE_OP, REQUEUE, CMP_REQUEUE, CMP_REQUEUE_PI, WAIT_REQUEUE_PI). Empty otherwise.
std::vector<uint64_t> futex_call_words(long nr, std::array<uint64_t, 6> const& args);

// The futex words a thread's registers show (regs as stopped; at_syscall: rip is on a
// `syscall` instruction; after_syscall: right after one): the call's words if rax names a
// futex call at the instruction, else, at or after one, those of a futex(2) call if rsi looks
// like a futex op (rax may hold the return value or restart_syscall there): a guess, whose
// cost when wrong is one page left unprotected.
std::vector<uint64_t> register_words(X86Registers const& regs, bool at_syscall, bool after_syscall);

// Reads `size` bytes of the process at `address` into `out`; false if unreadable.
using ReadRemote = std::function<bool(uint64_t address, void* out, size_t size)>;
// The futex words of a robust list (struct robust_list_head at `head`, see
// Documentation/locking/robust-futex-ABI.rst): every entry's word (entry + futex_offset) and
// list_op_pending's. Walks at most 2048 entries, as the kernel does at exit, and stops
// where the list is unreadable (the kernel stops there too).
std::vector<uint64_t> robust_list_words(uint64_t head, ReadRemote const& read);

// A write-protected range of the process (huge: unprotected 2 MiB at a time).
struct ProtectedRange {
    uint64_t start { 0 };
    uint64_t end { 0 };
    bool huge { false };
};
// Sorted, merged [start, end) blocks to leave unprotected: the page of each word inside a
// range (the whole 2 MiB block, clipped to the range, in a huge one: splitting a huge page
// would be the price otherwise). Words outside every range are ignored. `ranges` sorted.
std::vector<std::pair<uint64_t, uint64_t>> unprotected_blocks(std::vector<uint64_t> const& words,
                                                              std::vector<ProtectedRange> const& ranges);

// While `pid` is frozen and traced by the calling thread: every word above, for all its
// threads (listed in /proc, live registers from ptrace, the syscall each is stopped in from
// /proc), and for the model's `threads` collected in the same freeze, their robust lists
// (walked with process_vm_readv) and clear_child_tid.
Result<std::vector<uint64_t>> kernel_written_words(int pid, std::vector<Thread> const& threads);

} // namespace cryo::checkpoint
