// futex_state.h: /proc/PID/task/TID/syscall parsing, and get_robust_list(2) of our own thread.
#include <gtest/gtest.h>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sys/futex_state.h"

using namespace cryo::sys;

TEST(FutexState, ParsesTaskSyscall)
{
    auto call = parse_task_syscall("202 0x7f0000001000 0x86 0x0 0x0 0x7f0000002000 0x0 0x7ffd0000 0x7f00aaaa\n");
    ASSERT_TRUE(call);
    EXPECT_EQ(call->nr, 202);
    EXPECT_EQ(call->args[0], 0x7f0000001000u);
    EXPECT_EQ(call->args[1], 0x86u);
    EXPECT_EQ(call->args[4], 0x7f0000002000u);
    EXPECT_FALSE(parse_task_syscall("-1 0x7ffd0000 0x7f00aaaa\n")); // not in a syscall
    EXPECT_FALSE(parse_task_syscall("running\n"));
    EXPECT_FALSE(parse_task_syscall("202 0x1 0x2\n")); // truncated
    EXPECT_FALSE(parse_task_syscall("202 1 0x2 0x3 0x4 0x5 0x6 0x7 0x8\n"));
    EXPECT_FALSE(parse_task_syscall(""));
}

TEST(FutexState, OwnRobustListHead)
{
    // glibc registers one for every thread (struct pthread's robust_head).
    auto head = robust_list_of(static_cast<pid_t>(::syscall(SYS_gettid)));
    ASSERT_TRUE(head) << head.error().message();
    EXPECT_NE(*head, 0u);
    EXPECT_FALSE(robust_list_of(-5));
}
