// Unix-domain sockets: socketpairs for parent/child sync, connecting to a path (console
// socket, seccomp listener), and passing fds with SCM_RIGHTS. Named unix_socket.h, not
// socket.h, so that it never shadows <sys/socket.h> (src/ is on the include path).
#pragma once

#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/fd.h"

namespace cryo::sys {

// socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC): message boundaries are kept.
Result<std::pair<Fd, Fd>> seqpacket_pair();
// A SOCK_STREAM unix socket connected to `path` (paths longer than sun_path are refused).
Result<Fd> connect_unix(std::string const& path, int type = 1 /* SOCK_STREAM */);

// sendmsg with `data` (at least one byte is sent) and the fds as SCM_RIGHTS.
Result<void> send_with_fds(FdRef socket, std::span<char const> data, std::span<FdRef const> fds);
// recvmsg into `buffer`; received fds are appended to `fds` (CLOEXEC). Returns the byte
// count; 0 means the peer closed.
Result<size_t> recv_with_fds(FdRef socket, std::span<char> buffer, std::vector<Fd>* fds);

} // namespace cryo::sys
