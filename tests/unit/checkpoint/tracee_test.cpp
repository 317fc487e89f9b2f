// Tracee against a real child (ptrace of one's own child needs no root).
#include <gtest/gtest.h>

#include <csignal>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "checkpoint/remote.h"
#include "sys/procfs.h"
#include "sys/tracee.h"

using namespace cryo;

namespace {

// A child that counts in a shared page, so the test sees whether it runs.
struct Child {
    uint64_t volatile* counter;
    pid_t pid;
    Child()
    {
        counter = static_cast<uint64_t volatile*>(
            mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
        pid = fork();
        if (pid == 0) {
            for (;;) {
                *counter = *counter + 1;
                usleep(1000);
            }
        }
    }
    ~Child()
    {
        if (pid > 0) {
            kill(pid, SIGKILL);
            waitpid(pid, nullptr, 0);
        }
        munmap(const_cast<uint64_t*>(counter), 4096);
    }
    bool runs()
    {
        uint64_t before = *counter;
        usleep(30000);
        return *counter > before;
    }
};

} // namespace

TEST(Tracee, RemoteSyscallsThenDetachLeavesChildRunning)
{
    Child child;
    ASSERT_TRUE(child.runs());
    auto maps_before = MUST(sys::read_maps(child.pid));
    {
        auto tracee = MUST(sys::Tracee::seize(child.pid, child.pid, {}));
        EXPECT_FALSE(child.runs()); // stopped
        tracee.set_syscall_address(MUST(checkpoint::find_vdso_syscall(child.pid, maps_before)));
        EXPECT_EQ(MUST(tracee.syscall(SYS_getpid)), child.pid);
        EXPECT_EQ(MUST(tracee.syscall(SYS_getppid)), getpid());
        {
            auto scratch = MUST(checkpoint::RemoteScratch::map(tracee, 4096));
            uint64_t value = 0x1122334455667788;
            MUST(scratch.write(8, &value, sizeof value));
            uint64_t back = 0;
            MUST(scratch.read(8, &back, sizeof back));
            EXPECT_EQ(back, value);
        } // unmapped here
        auto failed = tracee.syscall_checked("close 999", SYS_close, { 999 });
        ASSERT_FALSE(failed);
        EXPECT_TRUE(failed.error().is_errno(EBADF));
    } // detached here, registers restored
    EXPECT_TRUE(child.runs());
    auto maps_after = MUST(sys::read_maps(child.pid));
    ASSERT_EQ(maps_before.size(), maps_after.size()); // the scratch page is gone
    for (size_t i = 0; i < maps_before.size(); ++i)
        EXPECT_EQ(maps_before[i].start, maps_after[i].start);
}

TEST(Tracee, SignalsArrivingWhileHeldAreNotLost)
{
    Child child;
    {
        auto tracee = MUST(sys::Tracee::seize(child.pid, child.pid, {}));
        auto maps = MUST(sys::read_maps(child.pid));
        tracee.set_syscall_address(MUST(checkpoint::find_vdso_syscall(child.pid, maps)));
        kill(child.pid, SIGTERM); // default action: terminate, once it is let go
        EXPECT_EQ(MUST(tracee.syscall(SYS_getpid)), child.pid);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child.pid, &status, 0), child.pid);
    EXPECT_TRUE(WIFSIGNALED(status));
    EXPECT_EQ(WTERMSIG(status), SIGTERM);
    child.pid = 0; // reaped already: the destructor must not signal anything
}
