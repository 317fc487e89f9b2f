// Spec -> plans: pure conversions from an oci::Spec into what the container init applies
// (namespaces, id maps, the process attributes, cgroup resources, seccomp profile, mounts).
// Nothing here touches the system except plan_mounts' stat of bind sources (passed in as a
// callback so tests stay pure). Every function is unit-tested in tests/unit/runtime.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"
#include "cgroup/manager.h"
#include "cgroup/resources.h"
#include "oci/spec.h"
#include "rootfs/mount_plan.h"
#include "rootfs/process.h"
#include "rootfs/seccomp.h"

namespace cryo::runtime {

// Which namespaces the init gets and how.
struct NamespacePlan {
    // CLONE_NEW* flags for clone3: new namespaces created with the init. Never contains
    // CLONE_NEWCGROUP (unshared by the init once it is inside its cgroup, so the cgroup
    // namespace root is the container's cgroup) nor CLONE_NEWTIME (created by the parent
    // with unshare so that its offsets can be written before any process enters it).
    int clone_flags { 0 };
    bool new_cgroup { false };
    bool new_time { false };
    bool new_user { false };
    // Namespaces joined by path, in the order the init must setns them: user first (the
    // others may be owned by it), mount last. A pid namespace given by path is not here:
    // the parent joins it for its children before clone (see pid_path).
    std::vector<std::pair<int, std::string>> joins;
    // With a new user namespace, the namespaces joined by path that the host's user
    // namespace owns (ipc, uts, network, cgroup) are joined by the parent around clone3,
    // so the init is born in them: once inside its new user namespace it has no
    // capability over them and setns would fail with EPERM (runc joins them before it
    // unshares the user namespace, for the same reason). Time and mount stay in `joins`.
    std::vector<std::pair<int, std::string>> parent_joins;
    std::string pid_path;
    // OCI type name -> path ("" when created): saved in the state for exec.
    std::map<std::string, std::string> saved;
};

Result<NamespacePlan> plan_namespaces(oci::Linux const& linux_config);

// uid_map / gid_map contents: "container host size\n" per mapping (one write(2)).
// Errors for empty sizes and for more mappings than the kernel accepts (340).
Result<std::string> id_map_text(std::span<oci::IdMapping const> mappings);

// exec --cgroup (runc): `flag` is the CLI's comma-joined list of "[controller[,...]:]path"
// entries; `paths` is cgroup::Manager::paths() of the container. Returns, per controller
// key of `paths`, the directory the exec'd process joins and whether it is a sub-cgroup
// (which must then exist). A path without controller applies to every controller not
// named otherwise (and is the only form on a unified hierarchy, key ""). The path is
// relative to the container's cgroup: "..", an empty path and unknown controllers fail.
struct ExecCgroupDir {
    std::string dir;
    bool sub { false };
};
Result<std::map<std::string, ExecCgroupDir>> plan_exec_cgroup(std::map<std::string, std::string> const& paths,
                                                              std::string_view flag);

// /proc/PID/timens_offsets contents ("monotonic 5 0\nboottime 0 0\n").
Result<std::string> time_offsets_text(std::map<std::string, oci::TimeOffset> const& offsets);

// Everything the init (or an exec'd process) applies to itself before execve.
struct ProcessPlan {
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::string cwd { "/" };
    bool terminal { false };
    std::optional<oci::ConsoleSize> console_size;
    rootfs::UserPlan user;
    std::optional<mode_t> umask;
    std::optional<rootfs::Capabilities> capabilities;
    std::vector<rootfs::Rlimit> rlimits;
    bool no_new_privileges { false };
    std::optional<int> oom_score_adj;
    std::optional<rootfs::IoPriority> io_priority;
    std::optional<rootfs::Scheduler> scheduler;
    std::optional<unsigned long> personality;
    // Unknown capability names (newer than this kernel): warned about, then skipped.
    std::vector<std::string> unknown_capabilities;
};

Result<ProcessPlan> plan_process(oci::Process const& process, oci::Linux const& linux_config);

// The value of `name` in an env list ("PATH=/bin" -> "/bin"), or nullopt.
std::optional<std::string_view> env_value(std::span<std::string const> env, std::string_view name);
// Sets or replaces NAME=value in an env list.
void env_set(std::vector<std::string>& env, std::string_view name, std::string_view value);

// The PATH a container process searches when its env has none (runc's default).
inline constexpr char default_path[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// OCI linux.resources -> cgroup::Resources, field by field.
cgroup::Resources to_cgroup_resources(oci::Resources const& resources);

// The container's cgroup resources: linux.resources, then (as runc does) rules allowing
// the default devices, mknod of any device, ptys and /dev/net/tun, then each of
// linux.devices; later rules win.
cgroup::Resources plan_cgroup_resources(oci::Linux const& linux_config);

// OCI linux.seccomp -> rootfs::SeccompProfile (names checked, errors name the field).
Result<rootfs::SeccompProfile> to_seccomp_profile(oci::Seccomp const& seccomp);

struct MountPlanInput {
    std::string rootfs; // absolute host path
    std::string bundle; // absolute; relative bind sources are relative to it
    bool no_pivot { false };
    bool user_ns { false }; // new user namespace: devices are bind-mounted
    bool cgroup_ns { false }; // new cgroup namespace: cgroupfs mounted directly
    // The container's cgroup, for "cgroup" mounts: controller -> host dir (Manager::paths)
    // and the probed hierarchies.
    std::map<std::string, std::string> cgroup_paths;
    std::vector<cgroup::Hierarchy> hierarchies;
    // Whether a bind source is a file (stat in the caller); absent source: not a file.
    std::function<bool(std::string const&)> is_file;
    // Whether a host path exists: hierarchies where the container's cgroup was not made
    // (hugetlb when unused...) are not shown. Absent: all are taken to exist.
    std::function<bool(std::string const&)> exists;
};

Result<rootfs::MountPlan> plan_mounts(oci::Spec const& spec, MountPlanInput const& input);

// Expands one "cgroup"/"cgroup2" mount into the host's hierarchies.
rootfs::CgroupMount plan_cgroup_mount(MountPlanInput const& input);

} // namespace cryo::runtime
