// Registers of a 64-bit thread stopped right after syscall `nr` returned `result`, for the
// syscall_reentry tests (restore plans and freeze rewinds).
#pragma once

#include <cstdint>

#include "sys/tracee.h"

namespace cryo::test {

inline constexpr uint64_t kRip = 0x7f0000005678; // just after a `syscall` instruction
inline constexpr uint64_t kMinus1 = ~uint64_t { 0 };
inline constexpr long kRestartBlock = -516; // -ERESTART_RESTARTBLOCK

// Arguments a1..a4 in rdi, rsi, rdx, r10; registers the syscall does not touch (rbx, r8, rsp)
// hold recognizable values, so a plan that keeps them can be checked.
inline sys::Registers stopped(long nr, long result, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0, uint64_t a4 = 0)
{
    sys::Registers r {};
    r.orig_rax = static_cast<uint64_t>(nr);
    r.rax = static_cast<uint64_t>(result);
    r.rdi = a1;
    r.rsi = a2;
    r.rdx = a3;
    r.r10 = a4;
    r.r8 = 0x88;
    r.rip = kRip;
    r.cs = 0x33; // __USER_CS: a 64-bit task
    r.rsp = 0x7ffd00001000;
    r.rbx = 0x5555;
    return r;
}

} // namespace cryo::test
