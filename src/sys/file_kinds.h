// Wrappers of the syscalls that inspect and create special kinds of open files for the
// checkpoint engine: kcmp(KCMP_FILE), tee, pipe sizes, eventfd, memfd and seals, socket
// peeking. Every fd created here is O_CLOEXEC; nothing here consumes data it only inspects.
#pragma once

#include <cstdint>
#include <string>
#include <sys/types.h>
#include <sys/un.h>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/fd.h"

namespace cryo::sys {

// Whether fd_a of pid_a and fd_b of pid_b are the same open file description (kcmp(2)).
Result<bool> same_file_description(pid_t pid_a, int fd_a, pid_t pid_b, int fd_b);

// tee(2) with SPLICE_F_NONBLOCK: duplicates up to `size` bytes of the pipe `in` into the
// pipe `out` without consuming them. Returns 0 when `in` is empty.
Result<size_t> tee(FdRef in, FdRef out, size_t size);
Result<uint32_t> pipe_size(FdRef pipe);
Result<void> set_pipe_size(FdRef pipe, uint32_t size);

Result<Fd> eventfd(int flags); // count 0; EFD_CLOEXEC added
Result<Fd> signalfd(uint64_t mask, int flags); // kernel sigset: bit n-1 is signal n; SFD_CLOEXEC added
Result<Fd> timerfd_create(int clock_id, int flags); // TFD_CLOEXEC added
// Arms (relative) or disarms (value 0) a timerfd.
Result<void> timerfd_settime(FdRef timer, uint64_t value_ns, uint64_t interval_ns);
// Expirations not yet read (TFD_IOC_SET_TICKS; kernels with CONFIG_CHECKPOINT_RESTORE).
Result<void> timerfd_set_ticks(FdRef timer, uint64_t ticks);
Result<Fd> epoll_create(); // EPOLL_CLOEXEC
Result<Fd> inotify_init(); // IN_CLOEXEC
Result<int> inotify_add_watch(FdRef inotify, std::string const& path, uint32_t mask);
Result<void> inotify_rm_watch(FdRef inotify, int wd);
// open_by_handle_at(2) (needs CAP_DAC_READ_SEARCH); O_CLOEXEC added.
Result<Fd> open_by_handle(FdRef mount, int handle_type, std::vector<uint8_t> const& handle, int flags);
Result<Fd> memfd_create(std::string const& name, unsigned flags); // MFD_CLOEXEC added
Result<uint32_t> file_seals(FdRef fd);
Result<void> add_file_seals(FdRef fd, uint32_t seals);

Result<uint32_t> status_flags(FdRef fd); // F_GETFL
Result<void> set_status_flags(FdRef fd, uint32_t flags); // F_SETFL
Result<void> seek(FdRef fd, uint64_t position); // lseek SEEK_SET
Result<void> ftruncate(FdRef fd, uint64_t size);
Result<void> fchmod(FdRef fd, mode_t mode);
Result<void> fchown(FdRef fd, uid_t uid, gid_t gid);
// Of a path itself (symlinks not followed for the owner).
Result<void> chmod_path(std::string const& path, mode_t mode);
Result<void> chown_path(std::string const& path, uid_t uid, gid_t gid);
Result<size_t> pread(FdRef fd, void* buffer, size_t size, uint64_t offset);
Result<void> pwrite_all(FdRef fd, void const* buffer, size_t size, uint64_t offset);

Result<Fd> socket(int domain, int type); // SOCK_CLOEXEC added
Result<std::pair<Fd, Fd>> socketpair(int domain, int type); // SOCK_CLOEXEC added
Result<int> socket_option(FdRef socket, int level, int name);
Result<void> set_socket_option(FdRef socket, int level, int name, int value);
Result<void> shutdown(FdRef socket, int how);
// A unix socket name, "/path" or "@abstract", as the address bind and connect take.
struct UnixAddress {
    struct sockaddr_un address;
    socklen_t length;
};
Result<UnixAddress> unix_address(std::string const& name);

// bind(2) of a unix socket to a path, or to an abstract name written "@name".
Result<void> bind_unix(FdRef socket, std::string const& name);
Result<void> listen(FdRef socket, int backlog);
struct Peeked {
    size_t size { 0 }; // bytes copied into the buffer
    size_t length { 0 }; // full length of the message (datagrams; MSG_TRUNC)
    bool control { false }; // ancillary data was queued with it
    bool empty { false }; // nothing (more) queued
};
// recvmsg(MSG_PEEK | MSG_DONTWAIT [| MSG_TRUNC]): looks at queued data without taking it.
Result<Peeked> peek(FdRef socket, void* buffer, size_t size, bool datagram);
// send(2) of a whole buffer as one message (datagram) or as a stream.
Result<void> send_all(FdRef socket, void const* buffer, size_t size);

} // namespace cryo::sys
