// UDP sockets in the process metadata: bound, connected, with options and queued datagrams
// (sources and sizes), survive encode/decode exactly; the summary inspect shows; a queue
// entry cut short is an error, not a crash.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/socket.h>

#include "checkpoint/codec.h"
#include "checkpoint/files_udp.h"

using namespace cryo;
using namespace cryo::checkpoint;

namespace {

Process process_with_udp()
{
    Process p;
    p.pid = 9;
    Thread t;
    t.tid = 9;
    p.threads.push_back(t);
    FileDescription server { .id = 1, .kind = FileKind::UdpSocket, .flags = O_RDWR, .inode = 200, .size = 8 };
    server.udp = { .family = AF_INET,
                   .local_address = "0.0.0.0",
                   .local_port = 5353,
                   .reuse_address = true,
                   .receive_buffer = 8192,
                   .queue = { { "127.0.0.1", 40000, 5 }, { "127.0.0.1", 40001, 3 } } };
    server.path = udp_summary(server.udp);
    FileDescription client { .id = 2, .kind = FileKind::UdpSocket, .flags = O_RDWR | O_NONBLOCK, .inode = 201 };
    client.udp = { .family = AF_INET6,
                   .local_address = "::1",
                   .local_port = 40002,
                   .connected = true,
                   .peer_address = "::1",
                   .peer_port = 6000,
                   .broadcast = false,
                   .v6_only = true };
    client.path = udp_summary(client.udp);
    FileDescription unbound { .id = 3, .kind = FileKind::UdpSocket, .flags = O_RDWR, .inode = 202 };
    unbound.udp = { .family = AF_INET, .local_address = "0.0.0.0" };
    unbound.path = udp_summary(unbound.udp);
    p.file_descriptions = { server, client, unbound };
    p.files = { { 3, 1, true }, { 4, 2, false }, { 5, 3, false } };
    return p;
}

TEST(FilesUdp, RoundTrip)
{
    auto p = process_with_udp();
    auto back = decode_process(encode_process(p));
    ASSERT_TRUE(back) << back.error().message();
    ASSERT_EQ(back->file_descriptions.size(), 3u);
    for (size_t i = 0; i < 3; ++i)
        EXPECT_EQ(back->file_descriptions[i], p.file_descriptions[i]) << "description " << i;
    EXPECT_EQ(back->file_descriptions[0].udp.queue.size(), 2u);
}

TEST(FilesUdp, Summary)
{
    auto p = process_with_udp();
    EXPECT_EQ(p.file_descriptions[0].path, "udp 0.0.0.0:5353, 2 queued datagrams");
    EXPECT_EQ(p.file_descriptions[1].path, "udp [::1]:40002 -> [::1]:6000");
    EXPECT_EQ(p.file_descriptions[2].path, "udp unbound");
}

TEST(FilesUdp, ShortQueueEntryIsAnError)
{
    auto p = process_with_udp();
    auto text = encode_process(p);
    // The second datagram's entry loses its size: [source, port] only.
    auto at = text.find("40001,");
    ASSERT_NE(at, std::string::npos) << text;
    auto end = text.find(']', at);
    ASSERT_NE(end, std::string::npos);
    text.replace(at, end - at, "40001\n     ");
    EXPECT_FALSE(decode_process(text));
}

} // namespace
