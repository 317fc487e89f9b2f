// Process attributes of the container init, each as a plan value plus an apply function
// that runs in the child just before exec: capabilities, user, no_new_privs, rlimits,
// umask, oom_score_adj, io priority, scheduler, personality, hostname, sysctl, and the
// closing of every fd the container must not inherit. Parsers from OCI names are pure.
// Errors name the syscall and, for lists, the item; the caller adds what it was doing
// ("set rlimits: RLIMIT_NOFILE 1024:1024: setrlimit: Operation not permitted").
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <utility>
#include <vector>

#include "base/error.h"

namespace cryo::rootfs {

// ---- capabilities -------------------------------------------------------------------

// One bit per capability number (bit CAP_CHOWN = 0 ...).
using CapSet = uint64_t;

struct Capabilities {
    CapSet bounding { 0 };
    CapSet effective { 0 };
    CapSet permitted { 0 };
    CapSet inheritable { 0 };
    CapSet ambient { 0 };
};

// "CAP_SYS_ADMIN" (or "sys_admin") -> 21. Error for unknown names.
Result<int> capability_from_name(std::string_view name);
std::string capability_name(int cap); // "CAP_SYS_ADMIN"
// Highest capability the running kernel knows (/proc/sys/kernel/cap_last_cap).
int last_capability();
// Names to a set. Unknown names (a newer spec than this kernel) are skipped like runc
// does and reported in `unknown` when given; an error only if `unknown` is null.
Result<CapSet> capability_set(std::span<std::string const> names, std::vector<std::string>* unknown = nullptr);
std::vector<std::string> capability_names(CapSet set);

// ---- user ---------------------------------------------------------------------------

struct UserPlan {
    uid_t uid { 0 };
    gid_t gid { 0 };
    std::vector<gid_t> additional_gids;
    // setgroups(2) is refused in a user namespace with setgroups "deny"; the runtime
    // clears this then.
    bool set_groups { true };
};

// The credential switch with the keep-caps dance, in runc's order:
//   drop bounding set, PR_SET_KEEPCAPS 1, setgroups, setresgid, setresuid,
//   PR_SET_KEEPCAPS 0, capset(effective, permitted, inheritable), ambient raises.
// `caps` nullopt leaves capabilities alone (only the user switch).
Result<void> apply_credentials(UserPlan const& user, std::optional<Capabilities> const& caps);
// The pieces, for callers that need a different order (exec into a running container).
Result<void> drop_bounding_set(CapSet keep);
Result<void> set_capabilities(Capabilities const& caps); // capset + ambient
Result<void> switch_user(UserPlan const& user);
// Reads the calling thread's effective/permitted/inheritable/ambient/bounding sets.
Result<Capabilities> current_capabilities();

// ---- simple attributes ---------------------------------------------------------------

Result<void> set_no_new_privs();

struct Rlimit {
    int resource { 0 }; // RLIMIT_*
    uint64_t soft { 0 };
    uint64_t hard { 0 };
};
// "RLIMIT_NOFILE" -> RLIMIT_NOFILE.
Result<int> rlimit_from_name(std::string_view name);
Result<void> apply_rlimits(std::span<Rlimit const> limits);

Result<void> apply_umask(mode_t mask); // never fails; Result for symmetry
Result<void> apply_oom_score_adj(int score);

struct IoPriority {
    int io_class { 0 }; // IOPRIO_CLASS_RT=1, BE=2, IDLE=3
    int priority { 0 };
};
// "IOPRIO_CLASS_BE" -> 2.
Result<int> io_class_from_name(std::string_view name);
Result<void> apply_io_priority(IoPriority const& io);

struct Scheduler {
    uint32_t policy { 0 }; // SCHED_OTHER, SCHED_FIFO...
    int32_t nice { 0 };
    uint32_t priority { 0 };
    uint64_t flags { 0 }; // SCHED_FLAG_*
    uint64_t runtime { 0 };
    uint64_t deadline { 0 };
    uint64_t period { 0 };
};
// "SCHED_FIFO" -> 1; "SCHED_FLAG_RESET_ON_FORK" -> 0x01...
Result<uint32_t> sched_policy_from_name(std::string_view name);
Result<uint64_t> sched_flag_from_name(std::string_view name);
Result<void> apply_scheduler(Scheduler const& sched);

// personality(2) domain: "LINUX" -> PER_LINUX, "LINUX32" -> PER_LINUX32.
Result<unsigned long> personality_from_name(std::string_view domain);
Result<void> apply_personality(unsigned long persona);

Result<void> apply_hostname(std::string_view hostname);
Result<void> apply_domainname(std::string_view domainname);

// "net.ipv4.ip_forward" -> "/proc/sys/net/ipv4/ip_forward" (also accepts '/'-separated keys).
Result<std::string> sysctl_path(std::string_view key);
// Writes each key under the container's /proc/sys (so /proc must be mounted).
Result<void> apply_sysctls(std::span<std::pair<std::string, std::string> const> sysctls);

// ---- fds ------------------------------------------------------------------------------

// Closes every fd >= `first` except those in `keep` (the "no host fd leaks" rule): called
// last before exec with first = 3 + preserve_fds. `keep` lets the exec fifo or sync socket
// (CLOEXEC ones, gone at exec anyway) survive until then.
Result<void> close_fds_except(unsigned first, std::span<int const> keep = {});

} // namespace cryo::rootfs
