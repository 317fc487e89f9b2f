// Unix connections waiting in a listener's accept queue: sys::parse_unix_diag reads
// UNIX_DIAG_ICONS (client inodes, oldest first), the kernel reports a real queue that way
// (sys::unix_socket_diag, sys::unix_listeners), and the image keeps the listener's queue and
// each client's listener (files_codec.cpp), refusing inconsistent ones.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/unix_diag.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>

#include "checkpoint/codec.h"
#include "sys/file.h"
#include "sys/sock_diag.h"
#include "sys/unix_connect.h"

using namespace cryo;
using namespace cryo::checkpoint;

namespace {

void put_attribute(std::vector<unsigned char>& out, uint16_t type, void const* data, size_t size)
{
    struct nlattr attr { };
    attr.nla_len = static_cast<uint16_t>(NLA_HDRLEN + size);
    attr.nla_type = type;
    size_t at = out.size();
    out.resize(at + NLA_ALIGN(attr.nla_len));
    std::memcpy(out.data() + at, &attr, sizeof attr);
    std::memcpy(out.data() + at + NLA_HDRLEN, data, size);
}

std::vector<unsigned char> listener_message(uint32_t inode, std::vector<uint32_t> const& icons)
{
    struct unix_diag_msg msg { };
    msg.udiag_family = AF_UNIX;
    msg.udiag_type = SOCK_STREAM;
    msg.udiag_state = 10; // TCP_LISTEN
    msg.udiag_ino = inode;
    std::vector<unsigned char> out(NLMSG_ALIGN(sizeof msg));
    std::memcpy(out.data(), &msg, sizeof msg);
    put_attribute(out, UNIX_DIAG_ICONS, icons.data(), icons.size() * sizeof(uint32_t));
    struct unix_diag_rqlen rq {
        static_cast<uint32_t>(icons.size()), 8
    };
    put_attribute(out, UNIX_DIAG_RQLEN, &rq, sizeof rq);
    return out;
}

FileDescription unix_socket(uint32_t id, uint64_t inode)
{
    FileDescription d;
    d.id = id;
    d.kind = FileKind::UnixSocket;
    d.path = "socket:[" + std::to_string(inode) + "]";
    d.flags = O_RDWR;
    d.inode = inode;
    d.socket_type = SOCK_SEQPACKET;
    return d;
}

Process process_with_queue(std::vector<uint64_t> queue, bool listening = true)
{
    Process p;
    p.pid = 42;
    Thread t;
    t.tid = 42;
    p.threads.push_back(t);
    auto l = unix_socket(1, 100);
    l.listening = listening;
    l.backlog = 4;
    l.bound_name = "@queue";
    l.pending_connections = queue;
    p.file_descriptions.push_back(l);
    p.files.push_back({ 3, 1, false });
    uint32_t id = 2;
    for (auto inode : queue) {
        auto c = unix_socket(id, inode);
        c.connected = true;
        c.pending_listener = 100;
        p.file_descriptions.push_back(c);
        p.files.push_back({ static_cast<int>(id + 2), id, true });
        ++id;
    }
    return p;
}

Fd unix_fd(int type)
{
    return Fd(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
}

} // namespace

TEST(UnixPending, ParsesTheQueueOfAListenerInOrder)
{
    auto m = listener_message(7, { 31, 29, 0, 40 });
    auto d = sys::parse_unix_diag(m.data(), m.size());
    ASSERT_TRUE(d) << d.error().message();
    EXPECT_EQ(d->state, 10);
    EXPECT_EQ(d->pending_connections, (std::vector<uint64_t> { 31, 29, 0, 40 }));
    EXPECT_EQ(d->receive_queue, 4u);
    EXPECT_EQ(d->write_queue, 8u); // the backlog
    auto empty = listener_message(8, {});
    auto e = sys::parse_unix_diag(empty.data(), empty.size());
    ASSERT_TRUE(e);
    EXPECT_TRUE(e->pending_connections.empty());
}

TEST(UnixPending, TheKernelListsClientInodesOldestFirst)
{
    for (int type : { SOCK_STREAM, SOCK_SEQPACKET }) {
        auto listener = unix_fd(type);
        ASSERT_TRUE(listener.valid());
        struct sockaddr_un address { };
        address.sun_family = AF_UNIX;
        std::string name = "cryo-unit-pending-" + std::to_string(::getpid()) + "-" + std::to_string(type);
        std::memcpy(address.sun_path + 1, name.data(), name.size());
        auto length = static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + 1 + name.size());
        // SAFETY: sockaddr_un is a sockaddr for the sockets API.
        auto* as_sockaddr = reinterpret_cast<struct sockaddr*>(&address);
        ASSERT_EQ(::bind(listener.get(), as_sockaddr, length), 0);
        ASSERT_EQ(::listen(listener.get(), 4), 0);
        std::vector<Fd> clients;
        std::vector<uint64_t> inodes;
        for (int i = 0; i < 3; ++i) {
            clients.push_back(unix_fd(type));
            ASSERT_EQ(::connect(clients.back().get(), as_sockaddr, length), 0);
            inodes.push_back(sys::fstat(clients.back())->st_ino);
        }
        // The second client sends: its write queue shows it, no byte is read.
        ASSERT_EQ(::send(clients[1].get(), "x", 1, 0), 1);
        auto d = sys::unix_socket_diag(sys::fstat(listener)->st_ino);
        ASSERT_TRUE(d) << d.error().message();
        ASSERT_TRUE(d->has_value());
        EXPECT_EQ((*d)->name, "@" + name);
        EXPECT_EQ((*d)->pending_connections, inodes);
        for (int i = 0; i < 3; ++i) {
            auto c = sys::unix_socket_diag(inodes[i]);
            ASSERT_TRUE(c && c->has_value());
            EXPECT_EQ((*c)->peer_inode, 0u) << "a queued server end has no inode";
            EXPECT_EQ((*c)->write_queue > 0, i == 1) << "client " << i;
        }
        auto diag_socket = sys::sock_diag_socket_in(MUST(sys::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)));
        ASSERT_TRUE(diag_socket);
        auto all = sys::unix_listeners(*diag_socket);
        ASSERT_TRUE(all) << all.error().message();
        auto it = std::find_if(all->begin(), all->end(), [&](auto const& l) { return l.name == "@" + name; });
        ASSERT_NE(it, all->end());
        EXPECT_EQ(it->pending_connections, inodes);
        // Closing a client leaves its queued connection with no client inode.
        clients[0] = Fd();
        auto after = sys::unix_socket_diag(sys::fstat(listener)->st_ino);
        ASSERT_TRUE(after && after->has_value());
        EXPECT_EQ((*after)->pending_connections, (std::vector<uint64_t> { 0, inodes[1], inodes[2] }));
    }
}

TEST(UnixPending, QueueAndListenerRoundTrip)
{
    auto p = process_with_queue({ 201, 200, 202 });
    auto text = encode_process(p);
    auto back = decode_process(text);
    ASSERT_TRUE(back) << back.error().message();
    ASSERT_EQ(back->file_descriptions.size(), 4u);
    EXPECT_EQ(back->file_descriptions[0].pending_connections, (std::vector<uint64_t> { 201, 200, 202 }));
    EXPECT_EQ(back->file_descriptions[0].pending_listener, 0u);
    for (size_t i = 1; i < 4; ++i)
        EXPECT_EQ(back->file_descriptions[i].pending_listener, 100u);
    EXPECT_EQ(back->file_descriptions, p.file_descriptions);
    // A socket with no queue writes no queue keys.
    auto plain = encode_process(process_with_queue({}));
    EXPECT_EQ(plain.find("pending"), std::string::npos);
}

TEST(UnixPending, RejectsAQueueOnASocketThatDoesNotListenOrAClientlessEntry)
{
    auto not_listening = decode_process(encode_process(process_with_queue({ 200 }, false)));
    ASSERT_FALSE(not_listening);
    EXPECT_NE(not_listening.error().message().find("does not listen"), std::string::npos)
        << not_listening.error().message();
    auto p = process_with_queue({ 200 });
    p.file_descriptions[0].pending_connections.push_back(0);
    auto clientless = decode_process(encode_process(p));
    ASSERT_FALSE(clientless);
    EXPECT_NE(clientless.error().message().find("without its client"), std::string::npos)
        << clientless.error().message();
}

TEST(UnixPending, ConnectsAsTheClientsIdentityWithoutChangingCryos)
{
    auto listener = unix_fd(SOCK_STREAM);
    struct sockaddr_un address { };
    address.sun_family = AF_UNIX;
    std::string name = "cryo-unit-identity-" + std::to_string(::getpid());
    std::memcpy(address.sun_path + 1, name.data(), name.size());
    auto length = static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + 1 + name.size());
    // SAFETY: sockaddr_un is a sockaddr for the sockets API.
    auto* as_sockaddr = reinterpret_cast<struct sockaddr*>(&address);
    ASSERT_EQ(::bind(listener.get(), as_sockaddr, length), 0);
    ASSERT_EQ(::listen(listener.get(), 4), 0);
    sys::Identity who;
    bool root = ::geteuid() == 0;
    // As root: another user; otherwise our own identity (run inline, no thread).
    uint32_t id = root ? 65534 : ::geteuid();
    uint32_t gid = root ? 65534 : ::getegid();
    std::fill(who.uid, who.uid + 3, id);
    std::fill(who.gid, who.gid + 3, gid);
    if (!root) {
        std::vector<gid_t> groups(static_cast<size_t>(::getgroups(0, nullptr)));
        groups.resize(static_cast<size_t>(::getgroups(static_cast<int>(groups.size()), groups.data())));
        who.groups.assign(groups.begin(), groups.end());
        std::fill(who.uid, who.uid + 3, ::getuid()); // real = effective = saved in a plain test run
        std::fill(who.gid, who.gid + 3, ::getgid());
    }
    Fd client;
    auto connect = [&]() -> Result<void> {
        client = unix_fd(SOCK_STREAM);
        if (::connect(client.get(), as_sockaddr, length) < 0)
            return Error::from_errno("connect");
        return {};
    };
    auto done = sys::as_identity(who, connect);
    ASSERT_TRUE(done) << done.error().message();
    Fd server(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    ASSERT_TRUE(server.valid());
    struct ucred cred { };
    socklen_t cred_length = sizeof cred;
    ASSERT_EQ(::getsockopt(server.get(), SOL_SOCKET, SO_PEERCRED, &cred, &cred_length), 0);
    EXPECT_EQ(cred.uid, id);
    EXPECT_EQ(cred.gid, gid);
    EXPECT_EQ(cred.pid, ::getpid());
    if (root) {
        EXPECT_EQ(::geteuid(), 0u) << "cryo's own identity changed";
        EXPECT_EQ(::getegid(), 0u);
    }
}
