// The open-file engine on a live child process (no root needed: a parent may inspect its
// own child): classification, sharing found by kcmp, saved data, refusal of unsupported
// fds, and re-opening every description from the image in this process.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "checkpoint/files_collect.h"
#include "checkpoint/files_restore.h"
#include "checkpoint/socket_options.h"
#include "sys/file.h"
#include "temp_dir.h"

using namespace cryo;
using namespace cryo::checkpoint;

namespace {

// A child that builds its fds with `setup`, reports ready and waits to be killed.
class Child {
public:
    template<typename F>
    explicit Child(F setup)
    {
        int ready[2];
        EXPECT_EQ(::pipe2(ready, O_CLOEXEC), 0);
        m_pid = ::fork();
        if (m_pid == 0) {
            // Only the fds the test makes: inherited ones (the test runner's stdio, maybe a
            // pipe of root's) are not ours to inspect without root.
            ::dup2(ready[1], 200);
            ::close_range(0, 199, 0);
            ::close_range(201, ~0U, 0);
            setup();
            char c = 'r';
            if (::write(200, &c, 1) != 1)
                ::_exit(3);
            for (;;)
                ::pause();
        }
        ::close(ready[1]);
        char c;
        EXPECT_EQ(::read(ready[0], &c, 1), 1) << "child did not get ready";
        ::close(ready[0]);
    }
    ~Child()
    {
        ::kill(m_pid, SIGKILL);
        ::waitpid(m_pid, nullptr, 0);
    }
    pid_t pid() const { return m_pid; }

private:
    pid_t m_pid { -1 };
};

void place(int fd, int at)
{
    if (fd != at) {
        ::dup2(fd, at);
        ::close(fd);
    }
}

using cryo::test::TempDir;

OpenFile const* fd_entry(Process const& p, int fd)
{
    for (auto const& f : p.files)
        if (f.fd == fd)
            return &f;
    return nullptr;
}

std::string read_some(FdRef fd)
{
    char buffer[256];
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    return n > 0 ? std::string(buffer, static_cast<size_t>(n)) : std::string();
}

} // namespace

TEST(FilesCollect, LiveChildRoundTripThroughAnImage)
{
    TempDir dir;
    std::string file = dir.path + "/data.txt";
    Child child([&] {
        int fd = ::open(file.c_str(), O_RDWR | O_CREAT, 0600);
        if (::write(fd, "0123456789", 10) != 10)
            ::_exit(3);
        ::lseek(fd, 3, SEEK_SET);
        place(fd, 100);
        ::dup3(100, 101, O_CLOEXEC);
        int p[2];
        if (::pipe(p) != 0 || ::write(p[1], "abc", 3) != 3)
            ::_exit(3);
        place(p[0], 102);
        place(p[1], 103);
        place(::eventfd(7, EFD_NONBLOCK), 104);
        int s[2];
        ::socketpair(AF_UNIX, SOCK_DGRAM, 0, s);
        if (::write(s[1], "one", 3) != 3 || ::write(s[1], "three", 5) != 5)
            ::_exit(3);
        place(s[0], 105);
        place(s[1], 106);
    });

    Process p;
    p.pid = child.pid();
    SocketDefaults defaults;
    auto collected = collect_open_files(child.pid(), p, defaults);
    ASSERT_TRUE(collected) << collected.error().message();
    auto const* f100 = fd_entry(p, 100);
    auto const* f101 = fd_entry(p, 101);
    ASSERT_TRUE(f100 && f101 && fd_entry(p, 102) && fd_entry(p, 103) && fd_entry(p, 104) && fd_entry(p, 105));
    EXPECT_EQ(f100->description, f101->description) << "dup'ed fds must share one description";
    EXPECT_FALSE(f100->cloexec);
    EXPECT_TRUE(f101->cloexec);
    EXPECT_NE(fd_entry(p, 102)->description, fd_entry(p, 103)->description);
    auto const* regular = find_description(p, f100->description);
    ASSERT_NE(regular, nullptr);
    EXPECT_EQ(regular->kind, FileKind::Regular);
    EXPECT_EQ(regular->path, file);
    EXPECT_EQ(regular->position, 3u);
    EXPECT_EQ(regular->flags & O_ACCMODE, static_cast<uint32_t>(O_RDWR));
    auto const* event = find_description(p, fd_entry(p, 104)->description);
    ASSERT_NE(event, nullptr);
    EXPECT_EQ(event->kind, FileKind::Eventfd);
    EXPECT_EQ(event->eventfd_count, 7u);
    auto const* sock = find_description(p, fd_entry(p, 105)->description);
    auto const* peer = find_description(p, fd_entry(p, 106)->description);
    ASSERT_TRUE(sock && peer);
    EXPECT_EQ(sock->kind, FileKind::UnixSocket);
    EXPECT_EQ(sock->socket_type, SOCK_DGRAM);
    EXPECT_EQ(sock->peer_inode, peer->inode);
    EXPECT_TRUE(sock->connected);

    ProcessTree tree;
    tree.root_pid = child.pid();
    tree.processes.push_back(p);
    std::string image_dir = dir.path + "/image";
    {
        auto writer = ImageWriter::create(image_dir);
        ASSERT_TRUE(writer) << writer.error().message();
        auto finished = finish_open_files(tree, *writer);
        ASSERT_TRUE(finished) << finished.error().message();
        Manifest manifest;
        manifest.root_pid = child.pid();
        manifest.pids = { child.pid() };
        ASSERT_TRUE(writer->commit(manifest));
    }
    auto const& saved = tree.processes[0];
    auto const* pipe_read = find_description(saved, fd_entry(saved, 102)->description);
    ASSERT_NE(pipe_read, nullptr);
    EXPECT_EQ(pipe_read->size + find_description(saved, fd_entry(saved, 103)->description)->size, 3u);
    auto const* saved_sock = find_description(saved, fd_entry(saved, 105)->description);
    EXPECT_EQ(saved_sock->messages, (std::vector<uint64_t> { 3, 5 }));

    // Nothing was consumed in the child: its pipe still holds "abc".
    auto child_pipe = sys::open(fmt::format("/proc/{}/fd/102", child.pid()), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    ASSERT_TRUE(child_pipe);
    EXPECT_EQ(read_some(*child_pipe), "abc");

    auto image = ImageReader::open(image_dir);
    ASSERT_TRUE(image) << image.error().message();
    auto opened = OpenedFiles::open(tree.processes, *image);
    ASSERT_TRUE(opened) << opened.error().message();
    auto fd_of = [&](int fd) { return *opened->fd_of(fd_entry(saved, fd)->description); };
    EXPECT_EQ(::lseek(fd_of(100).get(), 0, SEEK_CUR), 3);
    EXPECT_EQ(read_some(fd_of(102)), "abc");
    uint64_t count = 0;
    EXPECT_EQ(::read(fd_of(104).get(), &count, 8), 8);
    EXPECT_EQ(count, 7u);
    char buffer[16];
    EXPECT_EQ(::recv(fd_of(105).get(), buffer, sizeof buffer, MSG_DONTWAIT), 3);
    EXPECT_EQ(::recv(fd_of(105).get(), buffer, sizeof buffer, MSG_DONTWAIT), 5);
    EXPECT_EQ(std::string(buffer, 5), "three");
    // The restored pair is connected both ways.
    EXPECT_EQ(::send(fd_of(105).get(), "x", 1, MSG_DONTWAIT), 1);
    EXPECT_EQ(::recv(fd_of(106).get(), buffer, sizeof buffer, MSG_DONTWAIT), 1);
}

TEST(FilesCollect, UnsupportedFdsAreAllNamedInOneError)
{
    Child child([] {
        place(static_cast<int>(::syscall(SYS_pidfd_open, ::getpid(), 0)), 110);
        place(::socket(AF_INET6, SOCK_STREAM, 0), 111); // neither bound nor connected
        place(::open("/dev/null", O_RDONLY), 112);
    });
    Process p;
    SocketDefaults defaults;
    auto r = collect_open_files(child.pid(), p, defaults);
    ASSERT_FALSE(r);
    auto message = r.error().message();
    EXPECT_NE(message.find("2 open files cannot be checkpointed"), std::string::npos) << message;
    EXPECT_NE(message.find("fd 110 (anon_inode:[pidfd]): pidfd is not supported yet"), std::string::npos) << message;
    EXPECT_NE(message.find("fd 111 (socket:["), std::string::npos) << message;
    EXPECT_NE(message.find("sockets of family AF_INET6 that are neither listening nor connected"), std::string::npos)
        << message;
    EXPECT_EQ(message.find("fd 112"), std::string::npos) << message;
}
