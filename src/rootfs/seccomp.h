// seccomp: a plain profile (the OCI linux.seccomp object), compiled to classic BPF in the
// PARENT with libseccomp, and loaded in the child with seccomp(2): the child neither
// allocates for libseccomp nor resolves names after clone.
#pragma once

#include <cstdint>
#include <linux/filter.h>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/fd.h"

namespace cryo::rootfs {

enum class SeccompAction : uint8_t {
    Kill, // SCMP_ACT_KILL (thread)
    KillProcess,
    KillThread,
    Trap,
    Errno,
    Trace,
    Allow,
    Log,
    Notify,
};

enum class SeccompOp : uint8_t {
    NotEqual,
    LessThan,
    LessEqual,
    Equal,
    GreaterEqual,
    GreaterThan,
    MaskedEqual,
};

struct SeccompArg {
    unsigned index { 0 };
    uint64_t value { 0 };
    uint64_t value_two { 0 };
    SeccompOp op { SeccompOp::Equal };
};

struct SeccompRule {
    std::vector<std::string> names;
    SeccompAction action { SeccompAction::Allow };
    // errnoRet; unset means EPERM for Errno and Trace.
    std::optional<unsigned> errno_ret;
    std::vector<SeccompArg> args;
};

struct SeccompProfile {
    SeccompAction default_action { SeccompAction::Allow };
    std::optional<unsigned> default_errno;
    std::vector<std::string> architectures; // "SCMP_ARCH_X86_64", ...
    std::vector<std::string> flags; // "SECCOMP_FILTER_FLAG_LOG", ...
    std::vector<SeccompRule> rules;
    std::string listener_path; // OCI listenerPath; used by the runtime, not here
    std::string listener_metadata;
};

// "SCMP_ACT_ERRNO" -> Errno, "SCMP_CMP_EQ" -> Equal; errors name the bad value.
Result<SeccompAction> seccomp_action_from_name(std::string_view name);
Result<SeccompOp> seccomp_op_from_name(std::string_view name);
// "SECCOMP_FILTER_FLAG_LOG" -> SECCOMP_FILTER_FLAG_LOG.
Result<unsigned> seccomp_flag_from_name(std::string_view name);

struct SeccompProgram {
    std::vector<sock_filter> filter;
    unsigned flags { 0 }; // SECCOMP_FILTER_FLAG_* for seccomp(2)
    bool needs_listener { false }; // some action is Notify: load with NEW_LISTENER
};

// In the parent: builds the filter with libseccomp and exports its BPF.
Result<SeccompProgram> compile(SeccompProfile const& profile);
// compile() through a cache of exported programs in `cache_dir` (created 0700 if missing):
// libseccomp takes ~8 ms for a docker/podman default profile here, more than a whole
// `crun run`; a hit costs one file read. An entry holds the full profile text it was
// compiled from (and libseccomp's version), so a hash collision or an upgrade is a miss,
// never a wrong filter. The directory must be as trusted as the runtime's state dir: a
// writable cache would let its writer choose the filter. Cache write errors are ignored.
Result<SeccompProgram> compile_cached(SeccompProfile const& profile, std::string const& cache_dir);
// The canonical text of a profile, the cache key (exposed for tests).
std::string seccomp_cache_key(SeccompProfile const& profile);

// In the child (after no_new_privs, or with CAP_SYS_ADMIN): installs the filter. Returns
// the notify listener fd when needs_listener, an invalid Fd otherwise.
Result<Fd> load(SeccompProgram const& program);

} // namespace cryo::rootfs
