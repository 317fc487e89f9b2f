// Namespace-wide state a container checkpoint carries besides its processes: the SysV IPC
// objects of its ipc namespace and the links, addresses and routes of its net namespace.
// A dump only reads (message queues are copied with MSG_COPY, nothing is consumed); a restore
// expects a fresh namespace and re-creates the state in it. Files: docs/checkpoint-image.md
// ("Namespaces: ipc.json and net.json"). No thread of the caller changes namespace: the ipc
// work runs in a short-lived forked child (reaped before return), the net work talks
// rtnetlink through a socket opened inside by a short-lived thread. Needs root (the caller's
// CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_CHECKPOINT_RESTORE over the namespaces).
#pragma once

#include <string>

#include "base/error.h"

namespace cryo::checkpoint {

// SysV IPC objects (shm segments with contents, semaphore sets with values, message queues
// with their messages) and the ipc sysctls of the ipc namespace `pid` is in -> files under
// dir (created if missing).
Result<void> dump_ipc_namespace(int pid, std::string const& dir);
// Re-creates them, same ids/keys/modes/owners/contents, in the ipc namespace of `pid` (a fresh one).
Result<void> restore_ipc_namespace(int pid, std::string const& dir);

// Links (lo, veth: name, mtu, up/down, mac), IPv4/IPv6 addresses, routes of pid's net namespace.
// For a veth whose peer is in the caller's namespace, the peer's name, state and bridge are kept.
Result<void> dump_net_namespace(int pid, std::string const& dir);
// Configures pid's (fresh) net namespace as it was: lo up with its addresses; a veth whose peer was
// outside is re-created as a new veth pair with the inside end moved into the namespace under the same
// name/mac/addresses/routes and the outside end named as recorded (if free) and left in the caller's ns
// (re-attached to its bridge if it had one).
Result<void> restore_net_namespace(int pid, std::string const& dir);

} // namespace cryo::checkpoint
