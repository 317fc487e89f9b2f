// A thread found in restart_syscall after a stop that was not cryo's (SIGSTOP/SIGCONT, a
// debugger): which call it continues (parse_restart_stack, continued_syscall) and the plans
// that follow (plan_restart_block, plan_freeze_rewind): syscall_reentry.h (4). The stacks in
// fixtures/stack_*.txt and the registers below were read from tests/cr/cr_sleep.c's threads on
// 6.18 after SIGSTOP, SIGCONT (the /proc/PID/task/TID/stack of each, then PTRACE_INTERRUPT).
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <string>
#include <sys/syscall.h>
#include <tuple>
#include <utility>

#include "checkpoint/syscall_reentry.h"
#include "stopped_registers.h"
#include "sys/file.h"

using namespace cryo;
using namespace cryo::checkpoint;
using namespace cryo::test;

namespace {

std::string fixture(char const* name)
{
    return MUST(sys::read_file(std::string(CRYO_FIXTURES) + "/" + name));
}

// Each thread as the freeze found it: orig_rax 219, -ERESTART_RESTARTBLOCK, the arguments of
// the call it had made before the stop.
sys::Registers in_restart(uint64_t a1, uint64_t a2, uint64_t a3 = 0, uint64_t a4 = 0)
{
    return stopped(SYS_restart_syscall, kRestartBlock, a1, a2, a3, a4);
}

sys::Registers const kNanosleepRem = in_restart(0x7f55f07b3eb0, 0x7f55f07b3ea0);
sys::Registers const kNanosleepNull = in_restart(0x7f55effb2eb0, 0);
sys::Registers const kMonoRem = in_restart(CLOCK_MONOTONIC, 0, 0x7f55ef7b1eb0, 0x7f55ef7b1ea0);
sys::Registers const kFutexRel = in_restart(0x55bee3210218, 0x80, 0, 0x7f55ee7afeb0);
sys::Registers const kFutexAbs = in_restart(0x55bee3210218, 0x89, 0, 0x7f55edfaee80);
sys::Registers const kPollTimeout = in_restart(0x7f55ed7ade78, 1, 0x4e20);
sys::Registers const kPollInfinite = in_restart(0x7f55ec7abe70, 1, 0xffffffff);

FreezeStop interrupted(sys::Registers regs, ContinuedCall continued)
{
    return { .regs = regs, .signals = {}, .interrupt_stop = true, .signal_taken = false, .continued = continued };
}

} // namespace

TEST(ContinuedCall, RestartFunctionFromTheStack)
{
    EXPECT_EQ(parse_restart_stack(fixture("stack_restart_futex.txt")), ContinuedCall::FutexWait);
    EXPECT_EQ(parse_restart_stack(fixture("stack_restart_poll.txt")), ContinuedCall::Poll);
    EXPECT_EQ(parse_restart_stack(fixture("stack_restart_cpu_clock.txt")), ContinuedCall::ClockNanosleep);
    // hrtimer_nanosleep_restart: nothing above the entry (scheduler code is left out).
    EXPECT_EQ(parse_restart_stack(fixture("stack_restart_nanosleep.txt")), ContinuedCall::Nanosleep);
    EXPECT_EQ(parse_restart_stack("[<0>] x64_sys_call+0x10/0x20\n[<0>] do_syscall_64+0x71/0x280\n"),
              ContinuedCall::Nanosleep);
    // A kernel whose walk shows it.
    EXPECT_EQ(parse_restart_stack("[<0>] hrtimer_nanosleep_restart+0x3f/0x70\n[<0>] do_syscall_64+0x71/0x280\n"),
              ContinuedCall::Nanosleep);
    EXPECT_EQ(parse_restart_stack("[<0>] alarm_timer_nsleep_restart+0x3f/0x70\n[<0>] do_syscall_64+0x71/0x280\n"),
              ContinuedCall::ClockNanosleep);
}

TEST(ContinuedCall, AnythingElseIsUnknown)
{
    // The original calls' stacks (other frames above the entry, none a restart function).
    EXPECT_EQ(parse_restart_stack(fixture("stack_clock_nanosleep.txt")), ContinuedCall::Unknown);
    EXPECT_EQ(parse_restart_stack(fixture("stack_futex.txt")), ContinuedCall::Unknown);
    EXPECT_EQ(parse_restart_stack("[<0>] some_restart_fn+0x1/0x2\n[<0>] do_syscall_64+0x71/0x280\n"),
              ContinuedCall::Unknown);
    // No syscall entry: not the stack of a thread in a syscall (empty: a kernel thread, or
    // unreadable).
    EXPECT_EQ(parse_restart_stack(""), ContinuedCall::Unknown);
    EXPECT_EQ(parse_restart_stack("[<0>] entry_SYSCALL_64_after_hwframe+0x76/0x7e\n"), ContinuedCall::Unknown);
    EXPECT_EQ(parse_restart_stack("garbage\n\n"), ContinuedCall::Unknown);
}

TEST(ContinuedCall, SyscallFromTheArgumentRegisters)
{
    EXPECT_EQ(continued_syscall(ContinuedCall::Nanosleep, kNanosleepRem), uint64_t { SYS_nanosleep });
    EXPECT_EQ(continued_syscall(ContinuedCall::Nanosleep, kNanosleepNull), uint64_t { SYS_nanosleep });
    EXPECT_EQ(continued_syscall(ContinuedCall::Nanosleep, kMonoRem), uint64_t { SYS_clock_nanosleep });
    EXPECT_EQ(continued_syscall(ContinuedCall::ClockNanosleep,
                                in_restart(0xfffffffa, 0, 0x7fbb87030ec0, 0x7fbb87030eb0)), // a process CPU clock
              uint64_t { SYS_clock_nanosleep });
    EXPECT_EQ(continued_syscall(ContinuedCall::FutexWait, kFutexRel), uint64_t { SYS_futex });
    EXPECT_EQ(continued_syscall(ContinuedCall::FutexWait, kFutexAbs), uint64_t { SYS_futex });
    EXPECT_EQ(continued_syscall(ContinuedCall::Poll, kPollTimeout), uint64_t { SYS_poll });
    EXPECT_EQ(continued_syscall(ContinuedCall::Poll, kPollInfinite), uint64_t { SYS_poll });
}

TEST(ContinuedCall, RegistersThatDoNotFitTheCallAreRefused)
{
    EXPECT_EQ(continued_syscall(ContinuedCall::Unknown, kNanosleepRem), std::nullopt);
    // A futex's registers read as a nanosleep: rem 0x80 is no address.
    EXPECT_EQ(continued_syscall(ContinuedCall::Nanosleep, kFutexRel), std::nullopt);
    // clock_nanosleep: TIMER_ABSTIME is never restarted, a request is never NULL.
    EXPECT_EQ(continued_syscall(ContinuedCall::Nanosleep, in_restart(CLOCK_REALTIME, TIMER_ABSTIME, 0x7000, 0)),
              std::nullopt);
    EXPECT_EQ(continued_syscall(ContinuedCall::ClockNanosleep, in_restart(CLOCK_MONOTONIC, 0, 0, 0x7000)),
              std::nullopt);
    // futex: only waits with a timeout have a restart block.
    EXPECT_EQ(continued_syscall(ContinuedCall::FutexWait, in_restart(0x601000, 0x80, 0, 0)), std::nullopt);
    EXPECT_EQ(continued_syscall(ContinuedCall::FutexWait, in_restart(0x601000, 6, 0, 0x7000)), std::nullopt);
}

TEST(ContinuedCall, ImagePlanIsTheOriginalCallsPlan)
{
    // Planned as the thread stopped in the original call would be (syscall_reentry.cpp's table).
    struct Case {
        sys::Registers regs;
        ContinuedCall call;
        uint64_t nr;
        RestartAction action;
        bool keeps_time;
    };
    for (auto const& c : {
             Case { kNanosleepRem, ContinuedCall::Nanosleep, SYS_nanosleep, RestartAction::SleepRemaining, true },
             Case { kNanosleepNull, ContinuedCall::Nanosleep, SYS_nanosleep, RestartAction::Reenter, false },
             Case { kMonoRem, ContinuedCall::Nanosleep, SYS_clock_nanosleep, RestartAction::SleepRemaining, true },
             Case { kFutexRel, ContinuedCall::FutexWait, SYS_futex, RestartAction::SpuriousWakeup, false },
             Case { kFutexAbs, ContinuedCall::FutexWait, SYS_futex, RestartAction::Reenter, true },
             Case { kPollTimeout, ContinuedCall::Poll, SYS_poll, RestartAction::Reenter, false },
             Case { kPollInfinite, ContinuedCall::Poll, SYS_poll, RestartAction::Reenter, true },
         }) {
        auto plan = plan_restart_block(c.regs, c.call);
        auto original = c.regs;
        original.orig_rax = c.nr;
        auto expected = plan_restart_block(original);
        EXPECT_EQ(plan.action, c.action) << c.nr;
        EXPECT_EQ(expected.action, c.action) << c.nr;
        EXPECT_TRUE(plan.continued);
        EXPECT_FALSE(expected.continued);
        EXPECT_EQ(plan.keeps_time, c.keeps_time) << c.nr;
        EXPECT_EQ(plan.rem_address, expected.rem_address);
        EXPECT_EQ(std::memcmp(&plan.regs, &expected.regs, sizeof plan.regs), 0) << c.nr;
        EXPECT_EQ(plan.regs.orig_rax, kMinus1);
        if (c.action != RestartAction::SpuriousWakeup) {
            EXPECT_EQ(plan.regs.rax, c.nr); // the original call, never restart_syscall (219)
            EXPECT_EQ(plan.regs.rip, kRip - 2);
        }
    }
    // The time left is where the kernel writes it: nanosleep's rsi, clock_nanosleep's r10.
    EXPECT_EQ(plan_restart_block(kNanosleepRem, ContinuedCall::Nanosleep).regs.rdi, kNanosleepRem.rsi);
    EXPECT_EQ(plan_restart_block(kMonoRem, ContinuedCall::Nanosleep).regs.rdx, kMonoRem.r10);
}

TEST(ContinuedCall, UnknownOrMisfitKeepsEintr)
{
    for (auto plan : { plan_restart_block(kNanosleepRem), plan_restart_block(kFutexRel, ContinuedCall::Nanosleep),
                       plan_restart_block(kNanosleepRem, ContinuedCall::FutexWait) }) {
        EXPECT_EQ(plan.action, RestartAction::Eintr);
        EXPECT_FALSE(plan.continued);
        EXPECT_EQ(plan.regs.rax, static_cast<uint64_t>(-EINTR));
        EXPECT_EQ(plan.regs.rip, kRip);
        EXPECT_EQ(plan.regs.orig_rax, kMinus1);
    }
    // The continued call only matters in restart_syscall.
    auto plain = stopped(SYS_nanosleep, kRestartBlock, 0x1000, 0x2000);
    EXPECT_EQ(plan_restart_block(plain, ContinuedCall::Poll).action, RestartAction::SleepRemaining);
    EXPECT_FALSE(plan_restart_block(plain, ContinuedCall::Poll).continued);
}

TEST(ContinuedCall, LiveThreadIsPutOntoTheOriginalCallWhenItKeepsTime)
{
    for (auto [regs, call, nr] : { std::tuple { kNanosleepRem, ContinuedCall::Nanosleep, long { SYS_nanosleep } },
                                   std::tuple { kMonoRem, ContinuedCall::Nanosleep, long { SYS_clock_nanosleep } },
                                   std::tuple { kFutexAbs, ContinuedCall::FutexWait, long { SYS_futex } },
                                   std::tuple { kPollInfinite, ContinuedCall::Poll, long { SYS_poll } } }) {
        auto plan = plan_freeze_rewind(interrupted(regs, call));
        EXPECT_EQ(plan.action, FreezeRewind::RestartBlock) << nr;
        EXPECT_TRUE(plan.restart.continued);
        // The restartable form of the original call: the kernel re-enters orig_rax, not 219.
        EXPECT_EQ(plan.regs.orig_rax, static_cast<uint64_t>(nr));
        EXPECT_EQ(static_cast<long>(plan.regs.rax), -514);
        EXPECT_EQ(plan.regs.rip, kRip);
        auto image = sys::apply_syscall_restart(plan.regs, false);
        EXPECT_EQ(image.rax, static_cast<uint64_t>(nr));
        EXPECT_EQ(image.rip, kRip - 2);
    }
    // Their time left only in the kernel: the live thread keeps restart_syscall.
    for (auto [regs, call] :
         { std::pair { kNanosleepNull, ContinuedCall::Nanosleep }, std::pair { kFutexRel, ContinuedCall::FutexWait },
           std::pair { kPollTimeout, ContinuedCall::Poll }, std::pair { kNanosleepRem, ContinuedCall::Unknown } })
        EXPECT_EQ(plan_freeze_rewind(interrupted(regs, call)).action, FreezeRewind::None);
    // A group-stop (dumped while stopped): SIGCONT continues it through the kernel's restart.
    auto group = interrupted(kNanosleepRem, ContinuedCall::Nanosleep);
    group.interrupt_stop = false;
    EXPECT_EQ(plan_freeze_rewind(group).action, FreezeRewind::None);
}

TEST(ContinuedCall, ProbedOnlyInRestartSyscallWhenNotRead)
{
    EXPECT_TRUE(needs_continued_probe(kNanosleepRem, ContinuedCall::Unknown));
    EXPECT_TRUE(needs_continued_probe(kPollTimeout, ContinuedCall::Unknown));
    // Read before the freeze: nothing to probe.
    EXPECT_FALSE(needs_continued_probe(kNanosleepRem, ContinuedCall::Nanosleep));
    // Not in restart_syscall, or not its -ERESTART_RESTARTBLOCK (it ended), or a 32-bit task.
    EXPECT_FALSE(needs_continued_probe(stopped(SYS_nanosleep, kRestartBlock, 0x1000, 0x2000), ContinuedCall::Unknown));
    EXPECT_FALSE(needs_continued_probe(stopped(SYS_restart_syscall, 0, 0x1000, 0x2000), ContinuedCall::Unknown));
    EXPECT_FALSE(needs_continued_probe(stopped(SYS_restart_syscall, -EINTR, 0x1000), ContinuedCall::Unknown));
    auto compat = kNanosleepRem;
    compat.cs = 0x23;
    EXPECT_FALSE(needs_continued_probe(compat, ContinuedCall::Unknown));
}

TEST(ContinuedCall, Names)
{
    EXPECT_STREQ(continued_call_name(ContinuedCall::Unknown), "unknown");
    EXPECT_STREQ(continued_call_name(ContinuedCall::Nanosleep), "nanosleep");
    EXPECT_STREQ(continued_call_name(ContinuedCall::ClockNanosleep), "clock_nanosleep");
    EXPECT_STREQ(continued_call_name(ContinuedCall::FutexWait), "futex wait");
    EXPECT_STREQ(continued_call_name(ContinuedCall::Poll), "poll");
}
