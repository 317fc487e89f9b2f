// Thin wrappers of credential syscalls: capget/capset (v3, 64-bit sets), the capability
// prctls (bounding set, ambient set, keep-caps), setres[ug]id and setgroups. The raw
// syscalls are used, not glibc's set*id wrappers: those signal every thread (setxid) and
// are not needed in the single-threaded container init.
#pragma once

#include <cstdint>
#include <span>
#include <sys/types.h>

#include "base/error.h"

namespace cryo::sys {

struct CapabilitySets {
    uint64_t effective { 0 };
    uint64_t permitted { 0 };
    uint64_t inheritable { 0 };
};

Result<CapabilitySets> capget();
Result<void> capset(CapabilitySets const& sets);
Result<bool> cap_bounding_has(int cap);
Result<void> cap_bounding_drop(int cap);
Result<bool> cap_ambient_has(int cap);
Result<void> cap_ambient_raise(int cap);
Result<void> cap_ambient_clear_all();
Result<void> set_keep_caps(bool keep);
Result<void> setresuid(uid_t uid);
Result<void> setresgid(gid_t gid);
Result<void> setgroups(std::span<gid_t const> groups);

} // namespace cryo::sys
