#include <gtest/gtest.h>

#include <csignal>
#include <cstring>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sys/file.h"
#include "sys/process.h"

using namespace cryo;

namespace {

// A child holding `mib` MiB of written anonymous memory; returns once it is written.
sys::ChildProcess memory_child(size_t mib)
{
    auto [ready_read, ready_write] = MUST(sys::pipe());
    pid_t pid = fork();
    if (pid == 0) {
        size_t size = mib << 20;
        void* m = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            _exit(1);
        memset(m, 0x5a, size);
        if (write(ready_write.get(), "x", 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    EXPECT_GT(pid, 0);
    ready_write = Fd();
    char c = 0;
    EXPECT_EQ(read(ready_read.get(), &c, 1), 1);
    return sys::ChildProcess(pid, MUST(sys::pidfd_open(pid)));
}

} // namespace

TEST(ProcessMrelease, RefusesAProcessThatIsNotDying)
{
    auto child = memory_child(4);
    auto r = sys::process_mrelease(child.pidfd());
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is_errno(EINVAL)) << r.error().message();
    // It was not harmed: still running, dies only of our SIGKILL.
    MUST(sys::pidfd_send_signal(child.pidfd(), SIGKILL));
    int status = MUST(child.wait());
    ASSERT_TRUE(WIFSIGNALED(status));
    EXPECT_EQ(WTERMSIG(status), SIGKILL);
}

TEST(ProcessMrelease, FreesAKilledProcessBeforeItIsReaped)
{
    auto child = memory_child(256); // its exit takes long enough for us to be first, usually
    MUST(sys::pidfd_send_signal(child.pidfd(), SIGKILL));
    auto r = sys::process_mrelease(child.pidfd());
    // ESRCH: its exit had already let go of the memory (we were descheduled meanwhile).
    EXPECT_TRUE(r || r.error().is_errno(ESRCH)) << r.error().message();
    int status = MUST(child.wait());
    ASSERT_TRUE(WIFSIGNALED(status));
    EXPECT_EQ(WTERMSIG(status), SIGKILL);
}
