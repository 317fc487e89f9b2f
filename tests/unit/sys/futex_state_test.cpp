// futex_state.h: /proc/PID/task/TID/syscall parsing, and get_robust_list(2) of our own thread.
#include <gtest/gtest.h>

#include <condition_variable>
#include <linux/futex.h>
#include <mutex>
#include <sys/syscall.h>
#include <thread>
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
    auto head = robust_list_registration(static_cast<pid_t>(::syscall(SYS_gettid)));
    ASSERT_TRUE(head) << head.error().message();
    EXPECT_NE(head->head, 0u);
    EXPECT_FALSE(robust_list_registration(-5));
}

TEST(FutexState, RobustListRegistrationOfAnotherThread)
{
    // What set_robust_list(2) registered in a thread, read from another one by its tid.
    auto self = robust_list_registration(static_cast<pid_t>(::syscall(SYS_gettid)));
    ASSERT_TRUE(self) << self.error().message();
    EXPECT_EQ(self->length, sizeof(struct robust_list_head));
    struct robust_list_head mine { };
    mine.list.next = &mine.list;
    pid_t tid = 0;
    bool registered = false, read = false;
    std::mutex m;
    std::condition_variable cv;
    std::thread t([&] {
        std::unique_lock lock(m);
        tid = static_cast<pid_t>(::syscall(SYS_gettid));
        registered = ::syscall(SYS_set_robust_list, &mine, sizeof mine) == 0;
        cv.notify_all();
        cv.wait(lock, [&] { return read; }); // the registration stays while the thread lives
        // None at its exit: the kernel would walk `mine` (empty, and still alive, but the
        // test should not lean on that).
        ::syscall(SYS_set_robust_list, nullptr, sizeof mine);
    });
    {
        std::unique_lock lock(m);
        cv.wait(lock, [&] { return tid != 0; });
    }
    ASSERT_TRUE(registered);
    auto other = robust_list_registration(tid);
    {
        std::lock_guard lock(m);
        read = true;
    }
    cv.notify_all();
    t.join();
    ASSERT_TRUE(other) << other.error().message();
    // SAFETY: compared as a number only.
    EXPECT_EQ(other->head, reinterpret_cast<uintptr_t>(&mine));
    EXPECT_EQ(other->length, sizeof mine);
    EXPECT_FALSE(robust_list_registration(-5));
}

// Words are separated by spaces and newlines; NR is a decimal long, each argument "0x" and hex
// (pinned when the parser moved onto sys/text.h).
TEST(FutexState, TaskSyscallWordsAndNumbers)
{
    auto exact = parse_task_syscall("202  0xAb 0x1 0x2 0x3 0x4 0xffffffffffffffff");
    ASSERT_TRUE(exact); // SP and PC are not needed; runs of spaces separate
    EXPECT_EQ(exact->args[0], 0xabu);
    EXPECT_EQ(exact->args[5], 0xffffffffffffffffu);
    auto newlines = parse_task_syscall("\n7\n0x1\n0x2\n0x3\n0x4\n0x5\n0x6\n");
    ASSERT_TRUE(newlines);
    EXPECT_EQ(newlines->nr, 7);
    EXPECT_EQ(newlines->args[5], 0x6u);
    for (char const* bad : {
             "202\t0x1 0x2 0x3 0x4 0x5 0x6 0x7 0x8", // a tab is not a separator
             "202 0x1\t0x2 0x3 0x4 0x5 0x6 0x7 0x8",
             "202 0X1 0x2 0x3 0x4 0x5 0x6 0x7 0x8", // the prefix is "0x" only
             "202 0x 0x2 0x3 0x4 0x5 0x6 0x7 0x8",
             "202 0x0x1 0x2 0x3 0x4 0x5 0x6 0x7 0x8",
             "202 0x-1 0x2 0x3 0x4 0x5 0x6 0x7 0x8",
             "202 0x10000000000000000 0x2 0x3 0x4 0x5 0x6 0x7 0x8", // 2^64
             "+202 0x1 0x2 0x3 0x4 0x5 0x6 0x7 0x8",
             "99999999999999999999 0x1 0x2 0x3 0x4 0x5 0x6 0x7 0x8", // beyond a long
             "202 0x1g 0x2 0x3 0x4 0x5 0x6 0x7 0x8",
         })
        EXPECT_FALSE(parse_task_syscall(bad)) << bad;
}
