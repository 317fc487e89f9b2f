// TCP sockets (IPv4, IPv6) in checkpoints. Dump: classify_tcp_socket reads addresses,
// options and state of a socket of a frozen process; an established connection is refused
// unless a TcpDumpScope allows it (--tcp-established), and then save_tcp_connection reads
// its queues, sequence numbers, options and window in repair mode (TCP_REPAIR on a
// pidfd_getfd copy), and leaves repair mode again at once. Just before the tree is killed,
// TcpDumpScope::before_kill puts those sockets back in repair mode, so that their close is
// silent (no FIN, no RST, no TIME_WAIT): the peer, in the tree too, is killed as well.
// Restore: open_tcp_sockets re-creates listeners first (plain socket/bind/listen), then
// established connections in repair mode (bind, connect without a packet, options, queued
// data into each queue, window, repair off). A connection still waiting in the accept queue
// of a listener of the tree (mark_accept_queued finds it by its file-less server end) is
// restored by a real connect of its client through the restored listener, after the rest.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/error.h"
#include "base/fd.h"
#include "checkpoint/files.h"

namespace cryo::checkpoint {

class ImageReader;
class SocketDefaults;

// One per dump (dump.cpp); while it lives, established connections may be dumped if
// `allow_established`. It holds a copy of each repaired socket until the dump is over.
class TcpDumpScope {
public:
    explicit TcpDumpScope(bool allow_established);
    ~TcpDumpScope();
    TcpDumpScope(TcpDumpScope const&) = delete;
    TcpDumpScope& operator=(TcpDumpScope const&) = delete;
    // Right before the tree is killed: the saved connections enter repair mode for good, so
    // the kill sends nothing on them. Not called with --leave-running or after a failure.
    Result<void> before_kill();
    bool allows_established() const { return m_allow_established; }

private:
    friend Result<std::string> save_tcp_connection(int pid, int fd, FileDescription& d);
    bool m_allow_established { false };
    std::vector<Fd> m_connections;
    TcpDumpScope* m_outer { nullptr };
};

// Dump: `socket` is cryo's copy of the fd; fills d.kind, d.tcp and d.path (a readable
// summary such as "tcp 127.0.0.1:8080 listening"). Errors name why it cannot be dumped.
// `defaults`: the dump's fresh-socket option values (socket_options.h).
Result<void> classify_tcp_socket(FdRef socket, FileDescription& d, SocketDefaults& defaults);
// Dump, established connections: the queued bytes (send queue, then receive queue); fills
// the repair fields of d.tcp.
Result<std::string> save_tcp_connection(int pid, int fd, FileDescription& d);

// Dump, whole tree (after every socket is classified and its connection saved): the
// connections waiting in the accept queue of a listener of the tree (a server end with no
// file yet) are found with sock_diag; their client, which must be in the tree, gets
// accept_queued. A half-closed connection (FIN-WAIT2 / CLOSE-WAIT) needs both ends in the tree. One that cannot come
// back is refused by name: its client outside the tree, bytes it received (unreadable without accepting it), or closed
// by its client. `pid`: a process of the tree, whose network namespace is searched. Every copy of a description is in
// `sockets`.
Result<void> mark_accept_queued(int pid, std::vector<FileDescription*> const& sockets);

// Restore: every TcpSocket description of `descriptions` into fds[id].
Result<void> open_tcp_sockets(std::vector<FileDescription> const& descriptions, ImageReader const& image,
                              std::map<uint32_t, Fd>& fds);

// JSON: e["tcp"] of a TcpSocket description.
void encode_tcp(FileDescription const& d, nlohmann::json& e);
void decode_tcp(nlohmann::json const& e, FileDescription& d);
// Pure (unit-tested): "tcp 127.0.0.1:8080 listening", "tcp [::1]:5 -> [::1]:6 established".
std::string tcp_summary(TcpState const& t);

} // namespace cryo::checkpoint
