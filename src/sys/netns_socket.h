// A new socket in the network namespace of another socket (SIOCGSKNS, then a short-lived
// thread that setns'es there): what a fresh socket shows there (per-namespace sysctl
// defaults such as ip_default_ttl or tcp_congestion_control) can differ from cryo's own.
#pragma once

#include "base/error.h"
#include "base/fd.h"

namespace cryo::sys {

// socket(domain, type) in the namespace `like` lives in. Falls back to cryo's own namespace
// when the kernel does not tell (SIOCGSKNS refused: no CAP_NET_ADMIN there, or unsupported).
Result<Fd> socket_in_netns_of(FdRef like, int domain, int type);

} // namespace cryo::sys
