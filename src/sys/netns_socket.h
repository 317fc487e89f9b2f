// The network namespace a socket lives in (SIOCGSKNS): what a fresh socket shows there
// (per-namespace sysctl defaults such as ip_default_ttl or tcp_congestion_control) can differ
// from cryo's own, so a reference socket is made there (sys::open_in_netns).
#pragma once

#include <optional>

#include "base/error.h"
#include "base/fd.h"

namespace cryo::sys {

// An fd of the network namespace of `socket` (opened O_CLOEXEC by the kernel). nullopt when
// the kernel does not tell (SIOCGSKNS refused: no CAP_NET_ADMIN there, or unsupported):
// callers then use cryo's own.
std::optional<Fd> socket_netns(FdRef socket);

} // namespace cryo::sys
