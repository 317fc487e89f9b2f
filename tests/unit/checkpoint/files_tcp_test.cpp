// TCP sockets in the process metadata: a listener and an established connection (with its
// repair state) survive encode/decode exactly; the readable summary inspect shows.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/socket.h>

#include "checkpoint/codec.h"
#include "checkpoint/files_tcp.h"

using namespace cryo;
using namespace cryo::checkpoint;

namespace {

Process process_with_tcp()
{
    Process p;
    p.pid = 7;
    Thread t;
    t.tid = 7;
    p.threads.push_back(t);
    FileDescription listener { .id = 1, .kind = FileKind::TcpSocket, .flags = O_RDWR, .inode = 100 };
    listener.tcp = { .family = AF_INET6,
                     .local_address = "::1",
                     .local_port = 8080,
                     .listening = true,
                     .backlog = 7,
                     .pending = 2,
                     .reuse_address = true,
                     .v6_only = true,
                     .receive_buffer = 4096 };
    listener.path = tcp_summary(listener.tcp);
    FileDescription connection {
        .id = 2, .kind = FileKind::TcpSocket, .flags = O_RDWR | O_NONBLOCK, .inode = 101, .size = 13
    };
    connection.tcp = { .family = AF_INET,
                       .local_address = "127.0.0.1",
                       .local_port = 8080,
                       .peer_address = "127.0.0.1",
                       .peer_port = 51000,
                       .established = true,
                       .no_delay = true,
                       .send_seq = 0xfffffff0u,
                       .receive_seq = 12345,
                       .send_queue_bytes = 3,
                       .receive_queue_bytes = 10,
                       .mss = 65483,
                       .send_wscale = 7,
                       .receive_wscale = 9,
                       .wscale_ok = true,
                       .sack_ok = true,
                       .timestamps_ok = true,
                       .timestamp = 424242,
                       .snd_wl1 = 1,
                       .snd_wnd = 2,
                       .max_window = 3,
                       .rcv_wnd = 4,
                       .rcv_wup = 5 };
    connection.path = tcp_summary(connection.tcp);
    p.file_descriptions = { listener, connection };
    p.files = { { 10, 1, true }, { 12, 2, false } };
    return p;
}

TEST(FilesTcp, RoundTrip)
{
    auto p = process_with_tcp();
    auto back = decode_process(encode_process(p));
    ASSERT_TRUE(back) << back.error().message();
    ASSERT_EQ(back->file_descriptions.size(), 2u);
    EXPECT_EQ(back->file_descriptions[0], p.file_descriptions[0]);
    EXPECT_EQ(back->file_descriptions[1], p.file_descriptions[1]);
}

TEST(FilesTcp, Summary)
{
    auto p = process_with_tcp();
    EXPECT_EQ(p.file_descriptions[0].path, "tcp [::1]:8080 listening");
    EXPECT_EQ(p.file_descriptions[1].path, "tcp 127.0.0.1:8080 -> 127.0.0.1:51000 established");
}

TEST(FilesTcp, AcceptQueuedClientRoundTrip)
{
    auto p = process_with_tcp();
    auto& client = p.file_descriptions[1].tcp;
    client.local_port = 51000;
    client.peer_port = 8080;
    client.receive_queue_bytes = 0;
    client.accept_queued = true;
    p.file_descriptions[1].size = 3;
    p.file_descriptions[1].path = tcp_summary(client);
    EXPECT_EQ(p.file_descriptions[1].path, "tcp 127.0.0.1:51000 -> 127.0.0.1:8080 established (not accepted yet)");
    auto back = decode_process(encode_process(p));
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(back->file_descriptions[1], p.file_descriptions[1]);
    EXPECT_TRUE(back->file_descriptions[1].tcp.accept_queued);
    EXPECT_FALSE(back->file_descriptions[0].tcp.accept_queued);
}

TEST(FilesTcp, HalfClosedRoundTrip)
{
    auto p = process_with_tcp();
    auto& server = p.file_descriptions[1].tcp;
    server.fin_received = true;
    p.file_descriptions[1].path = tcp_summary(server);
    EXPECT_EQ(p.file_descriptions[1].path, "tcp 127.0.0.1:8080 -> 127.0.0.1:51000 close-wait");
    auto back = decode_process(encode_process(p));
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(back->file_descriptions[1], p.file_descriptions[1]);
    EXPECT_TRUE(back->file_descriptions[1].tcp.fin_received);
    EXPECT_FALSE(back->file_descriptions[1].tcp.fin_sent);
    server.fin_received = false;
    server.fin_sent = true;
    EXPECT_EQ(tcp_summary(server), "tcp 127.0.0.1:8080 -> 127.0.0.1:51000 fin-wait2");
}

TEST(FilesTcp, MissingRepairStateIsAnError)
{
    auto p = process_with_tcp();
    auto text = encode_process(p);
    auto at = text.find("\"repair\"");
    ASSERT_NE(at, std::string::npos);
    text.replace(at, 8, "\"rapair\"");
    EXPECT_FALSE(decode_process(text));
}

} // namespace
