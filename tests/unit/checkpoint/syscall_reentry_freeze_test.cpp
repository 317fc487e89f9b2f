// What the freeze does to a thread stopped at the exit of a syscall it interrupted
// (plan_freeze_rewind, deliverable_signals, restartable, kick_visible: syscall_reentry.h (3)).
#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <sys/syscall.h>
#include <time.h>

#include "checkpoint/syscall_reentry.h"
#include "stopped_registers.h"

using namespace cryo;
using namespace cryo::checkpoint;
using namespace cryo::test;

namespace {

constexpr long kEpollPwait2 = 441;

uint64_t bit(int sig)
{
    return uint64_t { 1 } << (sig - 1);
}

// Stopped by cryo's interrupt, nothing pending.
FreezeStop interrupted(sys::Registers regs)
{
    return { .regs = regs, .signals = {}, .interrupt_stop = true, .signal_taken = false };
}

constexpr long kErestartNoHand = -514;

// The live form: the same call as if it had returned -ERESTARTNOHAND (re-entered by the kernel,
// or EINTR for a handler); the image's form, apply_syscall_restart of it: on the `syscall`
// instruction, rax the number, orig_rax -1. Every argument as it was.
void expect_same_call(FreezePlan const& plan, sys::Registers const& frozen)
{
    EXPECT_EQ(plan.regs.orig_rax, frozen.orig_rax);
    EXPECT_EQ(static_cast<long>(plan.regs.rax), kErestartNoHand);
    EXPECT_EQ(plan.regs.rip, kRip);
    EXPECT_EQ(plan.regs.rdi, frozen.rdi);
    EXPECT_EQ(plan.regs.rsi, frozen.rsi);
    EXPECT_EQ(plan.regs.rdx, frozen.rdx);
    EXPECT_EQ(plan.regs.r10, frozen.r10);
    EXPECT_EQ(plan.regs.r8, frozen.r8);
    EXPECT_EQ(plan.regs.rsp, frozen.rsp);
    EXPECT_EQ(plan.regs.rbx, frozen.rbx);
    auto image = sys::apply_syscall_restart(plan.regs, false);
    EXPECT_EQ(image.rax, frozen.orig_rax);
    EXPECT_EQ(image.rip, kRip - 2);
    EXPECT_EQ(image.orig_rax, kMinus1);
    EXPECT_EQ(image.rdi, frozen.rdi);
}

} // namespace

TEST(FreezeRewind, EpollWaitEndedByTheFreezeIsEnteredAgain)
{
    // epoll_wait(4, events, 8, -1) and with a finite timeout: the same call, the same arguments
    // (a finite timeout starts again in full: later than asked, never earlier).
    for (long timeout : { -1L, 2500L }) {
        // epoll_wait(epfd rdi, events rsi, maxevents rdx, timeout r10)
        auto frozen = stopped(SYS_epoll_wait, -EINTR, 4, 0x7ffd0000a000, 8, static_cast<uint64_t>(timeout));
        auto plan = plan_freeze_rewind(interrupted(frozen));
        EXPECT_EQ(plan.action, FreezeRewind::ReenterAfterEintr) << timeout;
        expect_same_call(plan, frozen);
        EXPECT_EQ(plan.restart.action, RestartAction::None);
    }
}

TEST(FreezeRewind, EveryTableSyscallIsEnteredAgain)
{
    for (long nr : { long { SYS_epoll_wait }, long { SYS_epoll_pwait }, kEpollPwait2, long { SYS_rt_sigtimedwait },
                     long { SYS_semop }, long { SYS_semtimedop }, long { SYS_io_getevents }, long { SYS_accept },
                     long { SYS_accept4 }, long { SYS_recvfrom }, long { SYS_recvmsg }, long { SYS_recvmmsg },
                     long { SYS_sendto }, long { SYS_sendmsg }, long { SYS_sendmmsg } }) {
        EXPECT_TRUE(eintr_reentry_safe(static_cast<uint64_t>(nr))) << nr;
        auto frozen = stopped(nr, -EINTR, 3, 0x1000, 0x2000, 0x3000);
        auto plan = plan_freeze_rewind(interrupted(frozen));
        EXPECT_EQ(plan.action, FreezeRewind::ReenterAfterEintr) << nr;
        bool socket = nr == SYS_accept || nr == SYS_accept4 || nr == SYS_recvfrom || nr == SYS_recvmsg
            || nr == SYS_recvmmsg || nr == SYS_sendto || nr == SYS_sendmsg || nr == SYS_sendmmsg;
        if (socket) {
            EXPECT_EQ(static_cast<long>(plan.regs.rax), -512) << nr; // -ERESTARTSYS, see restartable
            plan.regs.rax = static_cast<uint64_t>(kErestartNoHand);
        }
        expect_same_call(plan, frozen);
    }
}

TEST(FreezeRewind, SyscallsNotSafeToEnterAgainKeepTheirEintr)
{
    // connect: the attempt goes on, a second call says EALREADY; io_uring_enter may have
    // submitted; read/write: drivers differ; wait4 would be -ERESTARTSYS, an EINTR there is real.
    for (long nr : { long { SYS_connect }, long { SYS_io_uring_enter }, long { SYS_read }, long { SYS_write },
                     long { SYS_wait4 }, long { SYS_nanosleep }, long { SYS_poll } }) {
        EXPECT_FALSE(eintr_reentry_safe(static_cast<uint64_t>(nr))) << nr;
        EXPECT_EQ(plan_freeze_rewind(interrupted(stopped(nr, -EINTR, 3, 0x1000))).action, FreezeRewind::None) << nr;
    }
}

TEST(FreezeRewind, OtherResultsAndStatesAreLeftAlone)
{
    // Returned events, another error, -ERESTARTSYS (apply_syscall_restart's business).
    EXPECT_EQ(plan_freeze_rewind(interrupted(stopped(SYS_epoll_wait, 1, 4))).action, FreezeRewind::None);
    EXPECT_EQ(plan_freeze_rewind(interrupted(stopped(SYS_epoll_wait, -EBADF, 4))).action, FreezeRewind::None);
    EXPECT_EQ(plan_freeze_rewind(interrupted(stopped(SYS_epoll_wait, -512, 4))).action, FreezeRewind::None);
    // Not in a syscall.
    auto user = stopped(SYS_epoll_wait, -EINTR, 4);
    user.orig_rax = kMinus1;
    EXPECT_EQ(plan_freeze_rewind(interrupted(user)).action, FreezeRewind::None);
    // A 32-bit task: 232 is not epoll_wait there.
    auto compat = stopped(SYS_epoll_wait, -EINTR, 4);
    compat.cs = 0x23;
    EXPECT_EQ(plan_freeze_rewind(interrupted(compat)).action, FreezeRewind::None);
    // A group-stop (SIGSTOP) ended it: EINTR is the kernel's own answer to the stop.
    auto group = interrupted(stopped(SYS_epoll_wait, -EINTR, 4));
    group.interrupt_stop = false;
    EXPECT_EQ(plan_freeze_rewind(group).action, FreezeRewind::None);
    // Seizing took a signal in delivery off it: that signal ended the call.
    auto taken = interrupted(stopped(SYS_epoll_wait, -EINTR, 4));
    taken.signal_taken = true;
    EXPECT_EQ(plan_freeze_rewind(taken).action, FreezeRewind::None);
}

TEST(FreezeRewind, DeliverablePendingSignalKeepsEintr)
{
    auto stop = interrupted(stopped(SYS_epoll_wait, -EINTR, 4, 0x1000, 1, kMinus1));
    stop.signals.caught = bit(SIGUSR1);
    stop.signals.thread_pending = bit(SIGUSR1); // tgkill'ed to this thread, a handler
    EXPECT_EQ(plan_freeze_rewind(stop).action, FreezeRewind::None);
    stop.signals.thread_pending = 0;
    stop.signals.shared_pending = bit(SIGUSR1); // kill()ed to the process
    EXPECT_EQ(plan_freeze_rewind(stop).action, FreezeRewind::None);
    // Blocked (by the thread's mask, or epoll_pwait's, which is the mask at the stop): not for now.
    stop.signals.blocked = bit(SIGUSR1);
    EXPECT_EQ(plan_freeze_rewind(stop).action, FreezeRewind::ReenterAfterEintr);
}

TEST(FreezeRewind, DeliverableSignals)
{
    SignalView s;
    s.thread_pending = bit(SIGUSR1) | bit(SIGCHLD);
    s.shared_pending = bit(SIGTERM) | bit(SIGWINCH) | bit(SIGRTMIN + 2);
    // SIGCHLD and SIGWINCH without handlers: ignored by default (queued only because cryo
    // traces the thread); SIGTERM's default kills, SIGUSR1 and SIGRTMIN+2 count too.
    EXPECT_EQ(deliverable_signals(s), bit(SIGUSR1) | bit(SIGTERM) | bit(SIGRTMIN + 2));
    s.caught = bit(SIGCHLD);
    EXPECT_EQ(deliverable_signals(s), bit(SIGUSR1) | bit(SIGTERM) | bit(SIGRTMIN + 2) | bit(SIGCHLD));
    s.ignored = bit(SIGTERM);
    s.blocked = bit(SIGRTMIN + 2);
    EXPECT_EQ(deliverable_signals(s), bit(SIGUSR1) | bit(SIGCHLD));
    // Stop signals count: the kernel ends an epoll_wait with EINTR after a stop.
    SignalView stop;
    stop.shared_pending = bit(SIGTSTP);
    EXPECT_EQ(deliverable_signals(stop), bit(SIGTSTP));
    // Nothing pending.
    EXPECT_EQ(deliverable_signals(SignalView {}), 0u);
}

TEST(FreezeRewind, SleepWithTimeLeftIsEnteredInsteadOfRestartSyscall)
{
    // nanosleep(req, rem): the same sleep with *rem (the time left) as its request, so the live
    // thread never goes through restart_syscall (a second dump could not tell what it continues).
    auto frozen = stopped(SYS_nanosleep, kRestartBlock, 0x7ffd0000b000, 0x7ffd0000b010);
    auto plan = plan_freeze_rewind(interrupted(frozen));
    EXPECT_EQ(plan.action, FreezeRewind::RestartBlock);
    EXPECT_EQ(plan.restart.action, RestartAction::SleepRemaining);
    EXPECT_EQ(plan.restart.rem_address, 0x7ffd0000b010u);
    EXPECT_EQ(plan.regs.orig_rax, static_cast<uint64_t>(SYS_nanosleep));
    EXPECT_EQ(static_cast<long>(plan.regs.rax), kErestartNoHand);
    EXPECT_EQ(plan.regs.rdi, 0x7ffd0000b010u);
    EXPECT_EQ(plan.regs.rsi, 0x7ffd0000b010u);
    EXPECT_EQ(plan.regs.rip, kRip);
    auto image = sys::apply_syscall_restart(plan.regs, false);
    EXPECT_EQ(image.rax, static_cast<uint64_t>(SYS_nanosleep));
    EXPECT_EQ(image.rip, kRip - 2);
    EXPECT_EQ(image.rdi, 0x7ffd0000b010u);
    // clock_nanosleep(CLOCK_MONOTONIC, 0, req, rem): likewise, the request is rdx.
    auto mono = stopped(SYS_clock_nanosleep, kRestartBlock, CLOCK_MONOTONIC, 0, 0x7ffd0000c000, 0x7ffd0000c010);
    auto mono_plan = plan_freeze_rewind(interrupted(mono));
    EXPECT_EQ(mono_plan.action, FreezeRewind::RestartBlock);
    EXPECT_EQ(mono_plan.regs.rdx, 0x7ffd0000c010u);
}

TEST(FreezeRewind, RestartBlockSyscallsGetTheImagesPlan)
{
    // FUTEX_WAIT_BITSET: its timeout is absolute, the same call again.
    auto bitset = stopped(SYS_futex, kRestartBlock, 0x601000, 9 | 128, 0, 0x7ffd0000d000);
    auto plan = plan_freeze_rewind(interrupted(bitset));
    EXPECT_EQ(plan.action, FreezeRewind::RestartBlock);
    EXPECT_EQ(plan.restart.action, RestartAction::Reenter);
    expect_same_call(plan, bitset);
    // poll with a timeout, nanosleep without rem, FUTEX_WAIT relative: the image's plan would
    // not keep their time (the whole timeout again, or an early wakeup: their time left is only
    // in the kernel's restart block), so the live thread stays with the kernel's exact restart.
    for (auto frozen :
         { stopped(SYS_poll, kRestartBlock, 0x7ffd0000e000, 1, 5000), stopped(SYS_nanosleep, kRestartBlock, 0x1000, 0),
           stopped(SYS_clock_nanosleep, kRestartBlock, CLOCK_MONOTONIC, 0, 0x1000, 0),
           stopped(SYS_futex, kRestartBlock, 0x601000, 128, 0, 0x1000) }) {
        EXPECT_EQ(plan_freeze_rewind(interrupted(frozen)).action, FreezeRewind::None) << frozen.orig_rax;
        EXPECT_FALSE(plan_restart_block(frozen).keeps_time) << frozen.orig_rax;
    }
    // poll without a timeout has no time to keep: re-entered in the live thread too.
    auto infinite = stopped(SYS_poll, kRestartBlock, 0x7ffd0000e000, 1, 0xffffffff);
    auto forever = plan_freeze_rewind(interrupted(infinite));
    EXPECT_EQ(forever.action, FreezeRewind::RestartBlock);
    expect_same_call(forever, infinite);
    // ... while the image still gets its plan for them.
    auto rel = plan_restart_block(stopped(SYS_futex, kRestartBlock, 0x601000, 128, 0, 0x1000));
    EXPECT_EQ(rel.action, RestartAction::SpuriousWakeup);
    EXPECT_EQ(plan_restart_block(stopped(SYS_poll, kRestartBlock, 0x7ffd0000e000, 1, 5000)).action,
              RestartAction::Reenter);
}

TEST(FreezeRewind, RestartsWithoutAPlanStayWithTheKernel)
{
    // restart_syscall when the call it continues is unknown (syscall_reentry.h (4); the known
    // ones: syscall_reentry_continued_test.cpp), or an unknown syscall:
    // the image gets EINTR, the live thread keeps the kernel's exact restart.
    EXPECT_EQ(plan_freeze_rewind(interrupted(stopped(219, kRestartBlock))).action, FreezeRewind::None);
    EXPECT_EQ(plan_freeze_rewind(interrupted(stopped(SYS_clock_nanosleep + 1000, kRestartBlock))).action,
              FreezeRewind::None);
    // A sleep with a deliverable signal pending: the kernel's rules (handler, then EINTR + rem).
    auto stop = interrupted(stopped(SYS_nanosleep, kRestartBlock, 0x1000, 0x2000));
    stop.signals.shared_pending = bit(SIGALRM);
    EXPECT_EQ(plan_freeze_rewind(stop).action, FreezeRewind::None);
    // A group-stop: SIGCONT continues it through the kernel's restart.
    auto group = interrupted(stopped(SYS_nanosleep, kRestartBlock, 0x1000, 0x2000));
    group.interrupt_stop = false;
    EXPECT_EQ(plan_freeze_rewind(group).action, FreezeRewind::None);
}

TEST(FreezeRewind, DetachKickIsVisibleFor)
{
    auto rewound = [](long nr, uint64_t a2 = 0, uint64_t a4 = 0) {
        sys::Registers r {};
        r.rax = static_cast<uint64_t>(nr);
        r.orig_rax = kMinus1;
        r.rip = kRip - 2;
        r.rsi = a2;
        r.r10 = a4;
        return r;
    };
    for (long nr : { long { SYS_nanosleep }, long { SYS_clock_nanosleep }, long { SYS_poll }, long { SYS_epoll_wait },
                     long { SYS_rt_sigtimedwait }, long { SYS_semtimedop }, long { SYS_recvfrom } })
        EXPECT_TRUE(kick_visible(rewound(nr))) << nr;
    // Futex waits with a timeout (FUTEX_WAIT_BITSET|FUTEX_PRIVATE_FLAG, FUTEX_WAIT); without
    // one they return -ERESTARTSYS, and other operations do not wait like that.
    EXPECT_TRUE(kick_visible(rewound(SYS_futex, 9 | 128, 0x7ffd0000d000)));
    EXPECT_TRUE(kick_visible(rewound(SYS_futex, 0, 0x7ffd0000d000)));
    EXPECT_FALSE(kick_visible(rewound(SYS_futex, 0 | 128, 0)));
    EXPECT_FALSE(kick_visible(rewound(SYS_futex, 6 | 128, 0x7ffd0000d000))); // FUTEX_LOCK_PI
    // -ERESTARTSYS/-ERESTARTNOHAND syscalls are restarted unseen.
    for (long nr : { long { SYS_read }, long { SYS_pause }, long { SYS_rt_sigsuspend }, long { SYS_wait4 },
                     long { SYS_ppoll }, long { SYS_pselect6 } })
        EXPECT_FALSE(kick_visible(rewound(nr))) << nr;
}

TEST(FreezeRewind, RestartableForm)
{
    // The image's rewound form of epoll_wait(5, ev, 1, -1) becomes -ERESTARTNOHAND at its exit.
    sys::Registers rewound {};
    rewound.rax = SYS_epoll_wait;
    rewound.orig_rax = kMinus1;
    rewound.rip = kRip - 2;
    rewound.rdi = 5;
    rewound.r10 = 0xffffffff;
    auto live = restartable(rewound);
    EXPECT_EQ(live.orig_rax, static_cast<uint64_t>(SYS_epoll_wait));
    EXPECT_EQ(static_cast<long>(live.rax), kErestartNoHand);
    EXPECT_EQ(live.rip, kRip);
    EXPECT_EQ(live.rdi, 5u);
    EXPECT_EQ(live.r10, 0xffffffffu);
    // A socket call: -ERESTARTSYS (what it returns without a timeout).
    sys::Registers recv = rewound;
    recv.rax = SYS_recvfrom;
    EXPECT_EQ(static_cast<long>(restartable(recv).rax), -512);
    EXPECT_EQ(restartable(recv).orig_rax, static_cast<uint64_t>(SYS_recvfrom));
    // And back: what restore and the image hold.
    auto back = sys::apply_syscall_restart(live, false);
    EXPECT_EQ(back.rax, rewound.rax);
    EXPECT_EQ(back.rip, rewound.rip);
    EXPECT_EQ(back.orig_rax, kMinus1);
    // Not the rewound form: a result (the spurious futex wakeup's 0 is a syscall number, but
    // plan_freeze_rewind never passes it here), or already at a syscall's exit: unchanged.
    auto exit = stopped(SYS_epoll_wait, -EINTR, 5);
    EXPECT_EQ(restartable(exit).rax, exit.rax);
    EXPECT_EQ(restartable(exit).rip, exit.rip);
    sys::Registers negative = rewound;
    negative.rax = static_cast<uint64_t>(-EINTR);
    EXPECT_EQ(restartable(negative).rax, negative.rax);
    EXPECT_EQ(restartable(negative).orig_rax, kMinus1);
}

TEST(FreezeRewind, Names)
{
    EXPECT_STREQ(freeze_rewind_name(FreezeRewind::None), "none");
    EXPECT_STRNE(freeze_rewind_name(FreezeRewind::ReenterAfterEintr), "?");
    EXPECT_STRNE(freeze_rewind_name(FreezeRewind::RestartBlock), "?");
}
