// dump --ext-unix-sk: a unix socket's external peer name survives the process metadata
// (files_codec.cpp), is absent for other sockets, and sys::connect_unix_name reaches a path
// and an abstract name as sock_diag spells them.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "checkpoint/codec.h"
#include "sys/file.h"
#include "sys/file_kinds.h"
#include "sys/unix_connect.h"

using namespace cryo;
using namespace cryo::checkpoint;

namespace {

Process process_with_socket(std::string external_peer)
{
    Process p;
    p.pid = 42;
    Thread t;
    t.tid = 42;
    p.threads.push_back(t);
    FileDescription d;
    d.id = 1;
    d.kind = FileKind::UnixSocket;
    d.path = "socket:[16]";
    d.flags = O_RDWR;
    d.inode = 16;
    d.socket_type = SOCK_STREAM;
    d.connected = true;
    d.peer_inode = 99;
    d.external_peer = std::move(external_peer);
    p.file_descriptions.push_back(d);
    OpenFile f;
    f.fd = 3;
    f.description = 1;
    p.files.push_back(f);
    return p;
}

} // namespace

TEST(ExtUnix, ExternalPeerRoundTrips)
{
    for (std::string name : { "/run/server.sock", "@abstract name" }) {
        auto text = encode_process(process_with_socket(name));
        EXPECT_NE(text.find("external_peer"), std::string::npos);
        auto back = MUST(decode_process(text));
        ASSERT_EQ(back.file_descriptions.size(), 1u);
        EXPECT_EQ(back.file_descriptions[0].external_peer, name);
        EXPECT_TRUE(back.file_descriptions[0].connected);
    }
    auto text = encode_process(process_with_socket(""));
    EXPECT_EQ(text.find("external_peer"), std::string::npos); // older readers see nothing new
    EXPECT_EQ(MUST(decode_process(text)).file_descriptions.at(0).external_peer, "");
}

TEST(ExtUnix, ConnectsToPathAndAbstractNames)
{
    char dir_template[] = "/tmp/cryo-ext-unix-XXXXXX";
    ASSERT_NE(::mkdtemp(dir_template), nullptr);
    std::string path = std::string(dir_template) + "/server.sock";
    std::string abstract = fmt::format("@cryo-ext-unix-test-{}", ::getpid());
    for (auto const& name : { path, abstract }) {
        auto server = MUST(sys::socket(AF_UNIX, SOCK_STREAM));
        MUST(sys::bind_unix(server, name));
        MUST(sys::listen(server, 1));
        auto client = MUST(sys::socket(AF_UNIX, SOCK_STREAM));
        EXPECT_TRUE(sys::connect_unix_name(client, name).has_value()) << name;
        int accepted = ::accept4(server.get(), nullptr, nullptr, SOCK_CLOEXEC);
        EXPECT_GE(accepted, 0) << name;
        if (accepted >= 0)
            ::close(accepted);
    }
    ::unlink(path.c_str());
    ::rmdir(dir_template);
    auto client = MUST(sys::socket(AF_UNIX, SOCK_STREAM));
    auto missing = sys::connect_unix_name(client, path);
    ASSERT_FALSE(missing.has_value());
    EXPECT_NE(missing.error().message().find(path), std::string::npos);
    EXPECT_FALSE(sys::connect_unix_name(client, "").has_value());
    EXPECT_FALSE(sys::connect_unix_name(client, "/" + std::string(200, 'x')).has_value());
}
