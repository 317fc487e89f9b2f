// What a thread dumped inside a syscall that returned -ERESTART_RESTARTBLOCK gets after
// restore (plan_restart_block, the table of syscall_reentry.cpp).
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <sys/syscall.h>

#include "checkpoint/syscall_reentry.h"
#include "stopped_registers.h"

using namespace cryo;
using namespace cryo::checkpoint;
using namespace cryo::test;

namespace {

void expect_reentered(RestartPlan const& plan, uint64_t nr, sys::Registers const& frozen)
{
    EXPECT_EQ(plan.action, RestartAction::Reenter);
    EXPECT_EQ(plan.regs.rax, nr);
    EXPECT_EQ(plan.regs.rip, kRip - 2);
    EXPECT_EQ(plan.regs.orig_rax, kMinus1);
    EXPECT_EQ(plan.regs.rdi, frozen.rdi);
    EXPECT_EQ(plan.regs.rsi, frozen.rsi);
    EXPECT_EQ(plan.regs.rdx, frozen.rdx);
    EXPECT_EQ(plan.regs.r10, frozen.r10);
    EXPECT_EQ(plan.regs.rbx, frozen.rbx);
}

} // namespace

TEST(RestartBlockPlan, OtherResultsAreNotPlanned)
{
    EXPECT_EQ(plan_restart_block(stopped(SYS_nanosleep, 0, 0x1000, 0x2000)).action, RestartAction::None);
    EXPECT_EQ(plan_restart_block(stopped(SYS_read, -512, 3)).action, RestartAction::None); // -ERESTARTSYS
    EXPECT_EQ(plan_restart_block(stopped(SYS_clock_nanosleep, -514, 0, 1, 0x1000)).action, RestartAction::None);
    auto not_in_syscall = stopped(SYS_nanosleep, kRestartBlock);
    not_in_syscall.orig_rax = kMinus1;
    EXPECT_EQ(plan_restart_block(not_in_syscall).action, RestartAction::None);
}

TEST(RestartBlockPlan, SleepWithRemGoesOnWithWhatWasLeft)
{
    // nanosleep(req, rem): the same syscall at the same instruction, rem as the request
    auto frozen = stopped(SYS_nanosleep, kRestartBlock, 0x1000, 0x2000);
    auto plan = plan_restart_block(frozen);
    EXPECT_EQ(plan.action, RestartAction::SleepRemaining);
    EXPECT_EQ(plan.rem_address, 0x2000u);
    EXPECT_EQ(plan.regs.rax, static_cast<uint64_t>(SYS_nanosleep));
    EXPECT_EQ(plan.regs.rip, kRip - 2);
    EXPECT_EQ(plan.regs.orig_rax, kMinus1);
    EXPECT_EQ(plan.regs.rdi, 0x2000u);
    EXPECT_EQ(plan.regs.rsi, 0x2000u);
    EXPECT_EQ(plan.regs.rbx, frozen.rbx);

    // clock_nanosleep(clk, 0, req, rem): clock and flags kept, rem as the request
    frozen = stopped(SYS_clock_nanosleep, kRestartBlock, CLOCK_BOOTTIME, 0, 0x1000, 0x3000);
    plan = plan_restart_block(frozen);
    EXPECT_EQ(plan.action, RestartAction::SleepRemaining);
    EXPECT_EQ(plan.rem_address, 0x3000u);
    EXPECT_EQ(plan.regs.rax, static_cast<uint64_t>(SYS_clock_nanosleep));
    EXPECT_EQ(plan.regs.rip, kRip - 2);
    EXPECT_EQ(plan.regs.rdi, static_cast<uint64_t>(CLOCK_BOOTTIME));
    EXPECT_EQ(plan.regs.rsi, 0u);
    EXPECT_EQ(plan.regs.rdx, 0x3000u);
    EXPECT_EQ(plan.regs.r10, 0x3000u);

    // sleep(3) passes the same timespec for both: nothing changes but the rewind
    frozen = stopped(SYS_clock_nanosleep, kRestartBlock, CLOCK_REALTIME, 0, 0x4000, 0x4000);
    plan = plan_restart_block(frozen);
    EXPECT_EQ(plan.action, RestartAction::SleepRemaining);
    auto same = same_call_registers(frozen);
    EXPECT_EQ(std::memcmp(&plan.regs, &same, sizeof same), 0);
}

TEST(RestartBlockPlan, SleepWithoutRemStartsOverAndAbsoluteKeepsItsDeadline)
{
    auto frozen = stopped(SYS_nanosleep, kRestartBlock, 0x1000, 0);
    expect_reentered(plan_restart_block(frozen), SYS_nanosleep, frozen);
    frozen = stopped(SYS_clock_nanosleep, kRestartBlock, CLOCK_MONOTONIC, 0, 0x1000, 0);
    expect_reentered(plan_restart_block(frozen), SYS_clock_nanosleep, frozen);
    // The kernel returns -ERESTARTNOHAND for TIMER_ABSTIME; planned the same if ever seen here.
    frozen = stopped(SYS_clock_nanosleep, kRestartBlock, CLOCK_REALTIME, TIMER_ABSTIME, 0x1000, 0x3000);
    expect_reentered(plan_restart_block(frozen), SYS_clock_nanosleep, frozen);
}

TEST(RestartBlockPlan, FutexWaits)
{
    // FUTEX_WAIT(_PRIVATE) with a relative timeout: a wakeup (0), the time left being unknown.
    for (uint64_t op : { 0u, 128u }) {
        auto frozen = stopped(SYS_futex, kRestartBlock, 0x4000, op, 7, 0x1000);
        auto plan = plan_restart_block(frozen);
        EXPECT_EQ(plan.action, RestartAction::SpuriousWakeup) << op;
        EXPECT_EQ(plan.regs.rax, 0u);
        EXPECT_EQ(plan.regs.rip, kRip);
        EXPECT_EQ(plan.regs.orig_rax, kMinus1);
    }
    // FUTEX_WAIT_BITSET (private, realtime clock or not): absolute deadline, same call again.
    for (uint64_t op : { 9u, 9u | 128u, 9u | 256u | 128u }) {
        auto frozen = stopped(SYS_futex, kRestartBlock, 0x4000, op, 7, 0x1000);
        expect_reentered(plan_restart_block(frozen), SYS_futex, frozen);
    }
    // Anything else that would ever come back with a restart block: EINTR.
    EXPECT_EQ(plan_restart_block(stopped(SYS_futex, kRestartBlock, 0x4000, 6)).action, RestartAction::Eintr);
}

TEST(RestartBlockPlan, PollIsEnteredAgain)
{
    for (int64_t timeout : { -1, 0, 2500 }) {
        auto frozen = stopped(SYS_poll, kRestartBlock, 0x5000, 2, static_cast<uint64_t>(timeout));
        expect_reentered(plan_restart_block(frozen), SYS_poll, frozen);
    }
}

TEST(RestartBlockPlan, RestartSyscallAndUnknownReturnEintr)
{
    for (long nr : { long { SYS_restart_syscall }, long { SYS_epoll_wait }, 999L }) {
        auto plan = plan_restart_block(stopped(nr, kRestartBlock, 0x1000, 0x2000));
        EXPECT_EQ(plan.action, RestartAction::Eintr) << nr;
        EXPECT_EQ(plan.regs.rax, static_cast<uint64_t>(-EINTR));
        EXPECT_EQ(plan.regs.rip, kRip);
        EXPECT_EQ(plan.regs.orig_rax, kMinus1);
        EXPECT_EQ(plan.regs.rdi, 0x1000u);
    }
}
