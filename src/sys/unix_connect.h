// connect(2) of an existing unix socket to a name in the form sock_diag reports it: "/path"
// or "@abstract" (as sys::bind_unix takes it). Used to reconnect a socket whose peer lived
// outside a restored tree (dump --ext-unix-sk) and clients that waited in a listener's accept
// queue. And the identity such a connect or a listen(2) records: the kernel stores the
// caller's pid, euid, egid and groups as the other end's SO_PEERCRED / SO_PEERGROUPS.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/fd.h"

namespace cryo::sys {

Result<void> connect_unix_name(FdRef socket, std::string const& name);

// Real, effective and saved ids and supplementary groups of a process.
struct Identity {
    uint32_t uid[3] {};
    uint32_t gid[3] {};
    std::vector<uint32_t> groups {};
};

// Runs `work` as `who`: on a short-lived thread that takes those ids first with the raw
// setgroups/setresgid/setresuid system calls, which change the calling thread only (glibc's
// wrappers change every thread of the process), so cryo itself never changes identity. When
// `who` is the caller's identity already, `work` runs right here. Sockets created, connected
// or set listening by `work` record `who` (and cryo's pid) as the credentials their peers see.
Result<void> as_identity(Identity const& who, std::function<Result<void>()> const& work);

} // namespace cryo::sys
