// The model of open files: a tree-wide table of open file descriptions (what open(2),
// pipe(2), socketpair(2) ... created: offset, status flags, kind-specific state) and, per
// process, which fd number refers to which description with which FD_CLOEXEC. Fds that were
// dup'ed or inherited across fork refer to ONE description (same id), so they share its
// offset after restore too. Invariants: ids are unique in a tree; every OpenFile names a
// description present in its Process; a Process lists each description it uses once, and
// the copies of one description in several processes are identical. Bulky contents (pipe
// data, deleted files, memfds, socket queues) live in image files named by file_data_name().
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "checkpoint/tcp_model.h"
#include "checkpoint/udp_model.h"
#include "sys/file.h"

namespace cryo::checkpoint {

enum class FileKind {
    Regular, // a file reachable by its path, reopened there
    Deleted, // a regular file unlinked while open: contents saved in the image
    Directory,
    CharDevice, // /dev/null, zero, full, random, urandom, tty and ptys: reopened by path
    Fifo, // a named pipe, reopened by path; unread data saved
    Pipe, // one end of an anonymous pipe; both ends share `inode`; unread data saved
    Eventfd,
    UnixSocket, // an unnamed unix socket, alone or one end of a socketpair
    Memfd, // contents and seals saved
    Signalfd,
    Timerfd, // clock, remaining time, interval, expirations not yet read
    Epoll, // with its registered set, re-registered in the process (same fd numbers)
    Inotify, // with its watches (paths resolved at dump), same watch descriptors
    TcpSocket, // IPv4/IPv6 TCP: listening, or established with --tcp-established (TCP_REPAIR)
    UdpSocket, // IPv4/IPv6 UDP: bound, connected, with its queued datagrams (files_udp.h)
};

// A socket option whose value differs from a fresh socket's (socket_options.h), named as in
// the table there so that images do not depend on option numbers.
struct SocketOption {
    std::string name {}; // "SO_RCVTIMEO"
    int64_t value { 0 }; // Int; Bool 0/1; Timeval in microseconds; Linger l_onoff
    int64_t seconds { 0 }; // Linger: l_linger
    std::string text {}; // String: TCP_CONGESTION's algorithm, SO_BINDTODEVICE's interface

    bool operator==(SocketOption const&) const = default;
};

struct InotifyWatch {
    int wd { 0 };
    std::string path {};
    uint32_t mask { 0 };

    bool operator==(InotifyWatch const&) const = default;
};

// One file registered in an epoll instance, as the process added it.
struct EpollTarget {
    int fd { 0 }; // the fd number it was added with (the key epoll_ctl uses later)
    uint64_t inode { 0 }; // of the target file, to check that fd still names it
    uint32_t events { 0 }; // EPOLLIN ... EPOLLET (with EPOLLERR|EPOLLHUP the kernel adds)
    uint64_t data { 0 };

    bool operator==(EpollTarget const&) const = default;
};

struct FileDescription {
    uint32_t id { 0 };
    FileKind kind { FileKind::Regular };
    std::string path {}; // as /proc/PID/fd shows it, without " (deleted)"; memfd: its name
    uint32_t flags { 0 }; // status and access flags (O_RDWR, O_APPEND, O_NONBLOCK ...), no O_CLOEXEC
    uint64_t position { 0 };
    uint64_t inode { 0 }; // pipes and FIFOs: the pipe; sockets: the socket
    uint32_t mode { 0 }; // permission bits (Deleted, Memfd)
    uint32_t uid { 0 }; // owner (Deleted, Memfd)
    uint32_t gid { 0 };
    uint64_t size { 0 }; // bytes of data saved in the image (0: no data file)
    // Pipe, Fifo: the pipe's capacity (F_GETPIPE_SZ), so the saved data fits back in.
    uint32_t pipe_size { 0 };
    // Eventfd.
    uint64_t eventfd_count { 0 };
    bool eventfd_semaphore { false };
    // UnixSocket: type, whether connected, peer socket inode (0: none), shutdown bits of this end
    // (1: receive, 2: send), and sizes of the queued messages in its data file in order
    // (datagram and seqpacket sockets; one entry of all bytes for streams).
    int socket_type { 0 };
    bool connected { false }; // had a peer, which may be gone since (peer_inode 0 then)
    uint64_t peer_inode { 0 };
    uint32_t shutdown { 0 };
    std::vector<uint64_t> messages {};
    std::string bound_name {}; // a listening or unconnected socket's address: "/path" or "@abstract"
    // Connected to a socket outside the tree (dump --ext-unix-sk): the peer's name, which the
    // restore connects a new socket to. Empty for every other socket.
    std::string external_peer {};
    bool listening { false };
    uint32_t backlog { 0 };
    // Listening: the client sockets (inodes) whose connections wait in its accept queue, not
    // accepted yet, oldest first. Each is a socket of the tree with pending_listener set.
    std::vector<uint64_t> pending_connections {};
    // A client whose connection waits in the accept queue of the tree's listener with this
    // inode (0: none). Restore connects it again to that listener, in the queue's order.
    uint64_t pending_listener { 0 };
    uint32_t send_buffer { 0 }; // SO_SNDBUF as getsockopt reports it (0: unknown)
    uint32_t receive_buffer { 0 }; // SO_RCVBUF
    // Memfd (F_GET_SEALS).
    uint32_t seals { 0 };
    // Signalfd.
    uint64_t signal_mask { 0 };
    // Timerfd: remaining time and interval (re-armed relative to the restore), pending
    // expirations (TFD_IOC_SET_TICKS).
    int clock_id { 0 };
    uint64_t ticks { 0 };
    uint64_t value_ns { 0 };
    uint64_t interval_ns { 0 };
    // Epoll.
    std::vector<EpollTarget> epoll_targets {};
    // Inotify (queued events are not kept).
    std::vector<InotifyWatch> inotify_watches {};
    // TcpSocket (files_tcp.h).
    TcpState tcp {};
    // UdpSocket (files_udp.h).
    UdpState udp {};
    // UnixSocket, TcpSocket, UdpSocket: options set by the program (socket_options.h).
    std::vector<SocketOption> socket_options {};
    // A container's dump: bit k is set when this is the file the runtime gave the init as its
    // fd k (its stdio, outside the container), wherever the description sits now: a shell
    // that redirects keeps its stdout at fd 10 meanwhile. Restore reattaches it to the new
    // runtime's stdio k (restore_plan.cpp).
    uint32_t stdio_mask { 0 };

    bool operator==(FileDescription const&) const = default;
};

// One fd number of a process.
struct OpenFile {
    int fd { 0 };
    uint32_t description { 0 }; // FileDescription::id
    bool cloexec { false };
};

// What a container's runtime gave its init as fds 0-2 ({0, 0}: that fd was not open).
using RuntimeStdio = std::array<sys::FileIdentity, 3>;
// Pure: the FileDescription::stdio_mask of a file with this identity.
uint32_t stdio_mask_of(RuntimeStdio const& stdio, sys::FileIdentity file);

char const* to_string(FileKind kind);
// Which pipe a Pipe or Fifo description belongs to: pipes by pipefs inode, FIFOs by path
// (inode numbers of different filesystems can collide).
std::string pipe_key(FileDescription const& d);
struct Process;
// The description `id` of a process, or nullptr.
FileDescription const* find_description(Process const& process, uint32_t id);
bool file_kind_from_string(std::string const& text, FileKind& kind);
// The image file holding the saved data of description `id`.
std::string file_data_name(uint32_t id);

} // namespace cryo::checkpoint
