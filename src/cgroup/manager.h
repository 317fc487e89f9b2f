// cgroup::Manager: one container's cgroup across every hierarchy, behind one interface with
// a v1 backend (per-controller hierarchies, possibly plus a cgroup2 "unified" mount holding
// hugetlb) and a v2 backend (pure unified), chosen by probing mountinfo. A Manager is cheap
// to open (no cgroup is touched until an operation runs) and never owns a cgroup: destroy()
// is explicit, so `cryo delete` in another process removes what `cryo create` made.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

#include "base/error.h"
#include "base/fd.h"
#include "cgroup/resources.h"
#include "cgroup/stats.h"

namespace cryo::cgroup {

enum class Version { V1, V2 };
enum class Mode { Auto, V1, V2 }; // Auto probes; V1/V2 force a backend (tests)
enum class FreezerState { Thawed, Freezing, Frozen };

// Where a relative cgroupsPath ("a/b") goes: under this parent in every hierarchy, so
// "a/b" becomes "/cryo/a/b". (runc nests relative paths under its own cgroup; we do not,
// because on v2 that cgroup has processes and cannot delegate controllers, and on this
// host it belongs to whatever started us.) The parent is created on first use and shared.
inline constexpr char relative_parent[] = "/cryo";

struct Config {
    // The container's OCI cgroupsPath. Absolute ("/a/b"): relative to each hierarchy's
    // root. Relative ("a/b"): under relative_parent. ".." components are refused.
    std::string path {};
    // Where hierarchies are mounted; unit tests point this at a fixture tree.
    std::string fs_root { "/sys/fs/cgroup" };
    // Source of mount information for probing; tests pass a fixture file whose mount points
    // lie under fs_root.
    std::string mountinfo { "/proc/self/mountinfo" };
    Mode mode { Mode::Auto };
};

// One mounted cgroup hierarchy as probing found it.
struct Hierarchy {
    Version version { Version::V1 };
    std::string mount_point {}; // "/sys/fs/cgroup/memory"
    // v1: from mount options ("cpu", "name=systemd"); a hybrid host's cgroup2 mount: from
    // its cgroup.controllers; a pure v2 root: left empty (read only when creating).
    std::vector<std::string> controllers {};
    bool operator==(Hierarchy const&) const = default;
};

inline constexpr std::chrono::milliseconds default_freeze_timeout { 5000 };

// What a new process needs to enter the cgroup by itself, cheaply. Measured on this host
// (kernel 6.18, v1): writing a pid to cgroup.procs takes the kernel's global threadgroup
// lock, whose first use costs an RCU grace period: ~10-14 ms, more than crun's whole run.
// A thread writing "0" to a v1 `tasks` file moves only itself and skips that lock: 0.07 ms
// for all 8 hierarchies. On cgroup2 the equivalent is clone3(CLONE_INTO_CGROUP).
struct JoinHandles {
    // v1: <cgroup>/tasks of every hierarchy the cgroup exists in, opened O_WRONLY.
    std::vector<Fd> tasks {};
    // v2, or the cgroup2 mount of a hybrid host when the cgroup exists there (hugetlb):
    // the cgroup directory (O_PATH|O_DIRECTORY) for clone3's CLONE_INTO_CGROUP, and its
    // cgroup.procs for a process that was not cloned into it. Invalid Fds when unused.
    Fd unified_dir {};
    Fd unified_procs {};
};

// Called by the new process itself before it starts threads (the container init right
// after clone, an exec'd process before exec): moves the calling thread, and so every
// child it makes later. No allocation unless it fails. `cloned_into_unified`: the
// process was created with CLONE_INTO_CGROUP on handles.unified_dir.
Result<void> join_self(JoinHandles const& handles, bool cloned_into_unified);

class Manager {
public:
    virtual ~Manager() = default;

    // Probes the hierarchies (one read of mountinfo; no cgroup is created).
    static Result<std::unique_ptr<Manager>> open(Config const& config);

    virtual Version version() const = 0;
    // The normalised cgroup path inside each hierarchy, e.g. "/cryo/web".
    virtual std::string const& path() const = 0;
    // Controller -> absolute directory of this cgroup, for joining (exec) and for mounting
    // cgroupfs in the container. v2: the single key "" (unified). v1: one key per controller
    // ("memory", "cpu", "cpuacct", ...; "hugetlb" may point into the unified mount).
    virtual std::map<std::string, std::string> paths() const = 0;
    // The hierarchies this manager uses, as probed.
    virtual std::vector<Hierarchy> const& hierarchies() const = 0;

    // Creates the cgroup and applies `resources`: mkdir in every hierarchy the container
    // needs (v1: cpu, cpuacct, cpuset, memory, devices, freezer, blkio, pids where mounted;
    // hugetlb, net_cls, net_prio only when `resources` use them), copying cpuset.cpus/mems
    // from the parent on v1 and enabling controllers in the parents' cgroup.subtree_control
    // on v2 (on a hybrid host, +hugetlb in the unified mount, only when hugepage limits are
    // given). v2 device rules become an eBPF program attached to the cgroup. An existing
    // cgroup is reused. On error, whatever it created is removed again.
    virtual Result<void> create(Resources const& resources) = 0;
    // Moves a process (all its threads) into the cgroup in every hierarchy where it exists.
    // Slow on first use (see JoinHandles); prefer open_join_handles + join_self.
    virtual Result<void> add_process(pid_t pid) = 0;
    // Opens the files join_self needs; after create(), before the process is made.
    virtual Result<JoinHandles> open_join_handles() = 0;
    // Applies only what `resources` names (runc update / OCI update semantics). Device rules
    // given here replace the old ones: on v2 the new program is attached before the old is
    // detached; on v1 the list is written again in order, so a list starting with "deny
    // all" briefly denies the container's devices.
    virtual Result<void> update(Resources const& resources) = 0;

    // Freezes every process of the cgroup and waits until the kernel reports it frozen; on
    // timeout it thaws again and fails naming the cgroup.
    virtual Result<void> freeze(std::chrono::milliseconds timeout = default_freeze_timeout) = 0;
    virtual Result<void> thaw() = 0;
    virtual Result<FreezerState> freezer_state() = 0;

    // Every process in the cgroup and its descendants (host pids), sorted.
    virtual Result<std::vector<pid_t>> pids() = 0;
    // Sends `signal` to every process of the cgroup (kill --all, delete --force); freezes
    // around the signalling so forks cannot escape (v2 SIGKILL uses cgroup.kill). A cgroup
    // that does not exist has nothing to kill.
    virtual Result<void> kill_all(int signal) = 0;
    // Removes the cgroup (and any sub-cgroups made inside it) from every hierarchy, leaf
    // first, retrying briefly while exiting processes leave. Missing cgroups are fine.
    virtual Result<void> destroy() = 0;

    virtual Result<Stats> stats() = 0;
};

} // namespace cryo::cgroup
