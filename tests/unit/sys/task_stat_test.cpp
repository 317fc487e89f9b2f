#include <gtest/gtest.h>

#include <csignal>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include "sys/file.h"
#include "sys/task_stat.h"

using namespace cryo;

namespace {

std::string fixture(char const* name)
{
    return MUST(sys::read_file(std::string(CRYO_FIXTURES) + "/" + name));
}

} // namespace

// Fixtures read on Linux 6.18 from copies of sleep and true named so that the first ')' of
// the line is followed by another state letter than the task's:
// task_stat_sleeping.txt: "a) Z (b" sleeping (S); task_stat_stopped.txt: ")" after SIGSTOP (T);
// task_stat_zombie.txt: "x) R (y" exited, not yet reaped (Z); task_stat_traced.txt: "t) R (S"
// seized and interrupted by a python3 tracer (t).
TEST(TaskStat, StateAfterTheLastParenthesis)
{
    EXPECT_EQ(MUST(sys::parse_task_state(fixture("task_stat_sleeping.txt"))), 'S');
    EXPECT_EQ(MUST(sys::parse_task_state(fixture("task_stat_stopped.txt"))), 'T');
    EXPECT_EQ(MUST(sys::parse_task_state(fixture("task_stat_zombie.txt"))), 'Z');
    EXPECT_EQ(MUST(sys::parse_task_state(fixture("task_stat_traced.txt"))), 't');
}

// The head procfs.h parse_stat reads its other fields after: pid, comm as the kernel printed
// it, and the fields from ppid on.
TEST(TaskStat, HeadSplitsPidCommAndTheRest)
{
    std::string const text = fixture("task_stat_sleeping.txt"); // the head's views point into it
    auto head = MUST(sys::parse_stat_head(text));
    EXPECT_EQ(head.comm, "a) Z (b");
    EXPECT_EQ(head.state, 'S');
    EXPECT_EQ(head.pid, "24292");
    EXPECT_TRUE(head.rest.starts_with("24290 24290 20094 0 -1 ")) << head.rest; // ppid, pgrp, session...
    auto short_head = MUST(sys::parse_stat_head("1234 (a b) R 1 2 3\n"));
    EXPECT_EQ(short_head.pid, "1234");
    EXPECT_EQ(short_head.comm, "a b");
    EXPECT_EQ(short_head.rest, "1 2 3\n");
    EXPECT_EQ(MUST(sys::parse_stat_head("1234 (a) t")).rest, ""); // cut after the state
}

TEST(TaskStat, ExitedStates)
{
    EXPECT_TRUE(sys::exited_state(MUST(sys::parse_task_state(fixture("task_stat_zombie.txt")))));
    EXPECT_TRUE(sys::exited_state('X'));
    for (char state : { 'R', 'S', 'D', 'T', 't', 'I' })
        EXPECT_FALSE(sys::exited_state(state)) << state;
}

TEST(TaskStat, RejectsTextWithoutAState)
{
    for (char const* text : { "", "1234", "1234 (sleep", "1234 (sleep)", "1234 (sleep) ", "1234 (sleep)  S 1",
                              "1234 (sleep)S 1", "1234 (sleep) Sx 1", "(sleep) S 1", "1234 )( S" })
        EXPECT_FALSE(sys::parse_task_state(text)) << '"' << text << '"';
    // A text cut right after the state is still read (the letter is complete).
    EXPECT_EQ(MUST(sys::parse_task_state("1234 (a) b) t")), 't');
    EXPECT_EQ(MUST(sys::parse_task_state("1234 (a) b) D 1 2\n")), 'D');
}

// The reader against live tasks: this thread runs, a stopped child is T, an exited one Z
// until reaped, and a reaped one is gone (an errno error).
TEST(TaskStat, ReadsLiveTasks)
{
    EXPECT_EQ(MUST(sys::read_task_state(::getpid(), ::gettid())), 'R');
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::raise(SIGSTOP);
        ::_exit(0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, WUNTRACED), child);
    ASSERT_TRUE(WIFSTOPPED(status));
    EXPECT_EQ(MUST(sys::read_task_state(child, child)), 'T');
    ::kill(child, SIGCONT);
    // WNOWAIT: the child stays a zombie while its state is read.
    siginfo_t info {};
    ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT), 0);
    EXPECT_EQ(MUST(sys::read_task_state(child, child)), 'Z');
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    auto gone = sys::read_task_state(child, child);
    ASSERT_FALSE(gone);
    EXPECT_TRUE(gone.error().is_errno(ENOENT) || gone.error().is_errno(ESRCH)) << gone.error().message();
}
