#include <gtest/gtest.h>

#include <cstring>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/exec_guard.h"
#include "runtime/init.h"
#include "runtime/sync.h"
#include "sys/file.h"
#include "sys/unix_socket.h"

using namespace cryo;
using namespace cryo::runtime;

TEST(RuntimeExecGuard, ImageIsElf)
{
    auto image = exec_trampoline_image();
    ASSERT_GE(image.size(), 120u);
    EXPECT_EQ(std::memcmp(image.data(),
                          "\x7f"
                          "ELF",
                          4),
              0);
}

// The trampoline runs the named program with the given argv and environment, and the
// memfd it lives in cannot be written.
TEST(RuntimeExecGuard, TrampolineExecsProgram)
{
    auto tramp = make_exec_trampoline();
    ASSERT_TRUE(tramp) << tramp.error().message();
    EXPECT_LT(::write(tramp->get(), "x", 1), 0);
    int out[2];
    ASSERT_EQ(pipe(out), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(out[1], 1);
        char a0[] = "sh", a1[] = "-c", a2[] = "echo \"$0:$X\"";
        char* argv[] = { a0, a1, a2, nullptr };
        char e0[] = "X=yes";
        char* envp[] = { e0, nullptr };
        char const* targv[6];
        exec_via_trampoline(*tramp, "/bin/sh", argv, envp, targv);
        _exit(99);
    }
    close(out[1]);
    char buffer[64] = {};
    ssize_t n = read(out[0], buffer, sizeof buffer - 1);
    close(out[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    EXPECT_EQ(std::string(buffer, n > 0 ? n : 0), "sh:yes\n");
}

TEST(RuntimeExecGuard, TrampolineExitsWith127WhenProgramMissing)
{
    auto tramp = make_exec_trampoline();
    ASSERT_TRUE(tramp);
    pid_t pid = fork();
    if (pid == 0) {
        char a0[] = "x";
        char* argv[] = { a0, nullptr };
        char* envp[] = { nullptr };
        char const* targv[4];
        exec_via_trampoline(*tramp, "/nonexistent/program", argv, envp, targv);
        _exit(99);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 127);
}

TEST(RuntimeExecImage, ListenFdsAndResolve)
{
    ExecImage image;
    image.prepare({ "sh", "-c", "x" }, { "PATH=/nonexistent:/bin", "LISTEN_PID=7" }, 2);
    ASSERT_EQ(image.argv.size(), 4u);
    EXPECT_EQ(image.argv[3], nullptr);
    // LISTEN_FDS set, the caller's LISTEN_PID dropped, a slot for ours.
    std::vector<std::string> env;
    for (auto* e : image.envp)
        if (e)
            env.push_back(e);
    EXPECT_NE(std::find(env.begin(), env.end(), "LISTEN_FDS=2"), env.end());
    EXPECT_EQ(std::find(env.begin(), env.end(), "LISTEN_PID=7"), env.end());
    EXPECT_EQ(image.envp[static_cast<size_t>(image.listen_pid_index)], image.listen_pid);
    ASSERT_TRUE(resolve_executable(image));
    EXPECT_STREQ(image.resolved_path, "/bin/sh");

    ExecImage missing;
    missing.prepare({ "no-such-program-cryo" }, { "PATH=/bin" }, 0);
    auto r = resolve_executable(missing);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "exec: \"no-such-program-cryo\": executable file not found in $PATH");
    ExecImage absolute;
    absolute.prepare({ "/no/such" }, {}, 0);
    auto a = resolve_executable(absolute);
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error().message(), "exec: \"/no/such\": stat /no/such: No such file or directory");
}

// An error in the child comes back with its context chain and errno.
TEST(RuntimeSync, ErrorRoundTrip)
{
    auto pair = sys::seqpacket_pair();
    ASSERT_TRUE(pair);
    SyncChannel a(std::move(pair->first)), b(std::move(pair->second));
    auto error = Error::from_errno(EPERM, "mount proc on /proc");
    error.add_context("prepare rootfs");
    a.send_error(error);
    auto got = b.expect(SyncStep::Ready);
    ASSERT_FALSE(got);
    EXPECT_EQ(got.error().message(), "prepare rootfs: mount proc on /proc: Operation not permitted");
    EXPECT_EQ(got.error().code(), EPERM);

    ASSERT_TRUE(a.send(SyncStep::RunHooks));
    auto wrong = b.expect(SyncStep::Ready);
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().message(), "sync: expected ready, got run-hooks");

    auto fds = sys::pipe();
    ASSERT_TRUE(fds);
    ASSERT_TRUE(a.send_fd(SyncStep::SeccompListener, fds->first));
    std::vector<Fd> received;
    ASSERT_TRUE(b.expect(SyncStep::SeccompListener, &received));
    ASSERT_EQ(received.size(), 1u);
    EXPECT_GE(fcntl(received[0].get(), F_GETFD), FD_CLOEXEC);

    a.close();
    EXPECT_TRUE(b.expect_eof());
}
