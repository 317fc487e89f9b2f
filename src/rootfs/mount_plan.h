// The mount plan: everything the container init does to build its root file system, as
// plain data. The runtime fills it from the OCI spec (in the parent); apply_mounts() in
// mounts.h executes it in the child. Destinations are absolute paths INSIDE the rootfs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include "base/fd.h"
#include "rootfs/mount_options.h"

namespace cryo::rootfs {

enum class TargetKind : uint8_t {
    Directory, // create a directory as mount point when missing
    File, // create an empty file (bind of a file, of a device, /dev/null mask)
};

// One cgroup hierarchy to show inside the container.
struct CgroupHierarchy {
    // Directory name below the cgroup mount destination ("memory", "cpu,cpuacct", "systemd",
    // "unified"); empty for a pure cgroup v2 host, where the hierarchy IS the destination.
    std::string dir;
    // mount(2) data when mounting the fs directly (cgroup namespace): "memory",
    // "cpu,cpuacct", "none,name=systemd"; ignored for v2.
    std::string options;
    // The container's cgroup on the host (bind source without a cgroup namespace).
    std::string host_path;
    bool v2 { false };
};

// A mount of type "cgroup"/"cgroup2" in the spec, expanded by the caller into the
// hierarchies of the host. On a v1 host a tmpfs goes on the destination and each
// hierarchy below it; on a pure v2 host the one hierarchy (dir "") is the destination.
// The step's flags apply to every hierarchy (read-only unless the spec says "rw").
struct CgroupMount {
    std::vector<CgroupHierarchy> hierarchies;
    // With a cgroup namespace mount cgroup/cgroup2 fs directly; without, bind host_path.
    bool cgroup_namespace { false };
};

// One mount in the container: a new file system (proc, tmpfs...) or a bind mount.
struct MountStep {
    std::string source; // host path for binds; fs source ("proc", "tmpfs") otherwise
    std::string destination; // absolute, inside the rootfs
    std::string fstype; // "" or "bind" for bind mounts
    unsigned long flags { 0 }; // MS_* to set (MS_RDONLY, MS_NOSUID...), no MS_BIND/MS_REC
    unsigned long clear_flags { 0 }; // MS_* explicitly cleared ("rw", "exec"...), binds only
    std::string data; // fs data ("mode=755,size=65536k")
    PropagationSetting propagation;
    BindKind bind { BindKind::None };
    // Informative: a bind whose flags need a step after the clone (apply always does it
    // with mount_setattr on the detached tree, so no remount and no lost locked flags).
    bool readonly_remount { false };
    TargetKind target { TargetKind::Directory };
    // Recursive attributes for rbinds ("rro"...), see MountOptions.
    unsigned long recursive_attr_set { 0 };
    unsigned long recursive_attr_clear { 0 };
    bool tmpcopyup { false };
    // Idmapped bind ("idmap"/"ridmap"). Only a process privileged over the target user
    // namespace can idmap a tree, i.e. the parent, not the container init: the parent
    // makes the tree with make_idmapped_tree() (idmap.h), sends it to the child, and the
    // child sets `prepared_tree` before setup_rootfs.
    bool idmap { false };
    bool recursive_idmap { false };
    // A detached mount tree (open_tree/make_idmapped_tree) to attach instead of cloning
    // `source`; borrowed, the caller keeps it open until setup_rootfs returns.
    FdRef prepared_tree;
    // Set for type "cgroup"/"cgroup2": source, fstype, data and bind are then unused.
    std::optional<CgroupMount> cgroup;

    bool is_bind() const { return bind != BindKind::None; }
};

// Builds a step from an OCI mount (type, source, destination, options). For binds,
// `source_is_file` says whether to create a file or a directory as target; the caller
// (parent) stats the host source to know it.
MountStep make_mount_step(std::string type, std::string source, std::string destination, MountOptions const& options,
                          bool source_is_file = false);

enum class DeviceType : uint8_t {
    Char, // 'c' or 'u'
    Block, // 'b'
    Fifo, // 'p'
};

struct DeviceNode {
    std::string path; // absolute, inside the rootfs ("/dev/null")
    DeviceType type { DeviceType::Char };
    uint32_t major { 0 };
    uint32_t minor { 0 };
    mode_t mode { 0666 }; // permission bits only
    uid_t uid { 0 };
    gid_t gid { 0 };
};

// OCI's default devices: null, zero, full, random, urandom, tty (0666, root-owned).
std::vector<DeviceNode> default_devices();
// Appends the default devices that `devices` does not already define (by path).
void add_default_devices(std::vector<DeviceNode>& devices);

struct Symlink {
    std::string target; // what the link points to ("/proc/self/fd")
    std::string link; // absolute, inside the rootfs ("/dev/fd")
};

// /dev/fd, /dev/stdin, /dev/stdout, /dev/stderr (and /dev/ptmx -> pts/ptmx when asked).
std::vector<Symlink> default_dev_symlinks(bool ptmx_to_devpts);

struct MountPlan {
    std::string rootfs; // absolute host path of the container's root
    bool readonly_root { false };
    // rootfsPropagation (default rslave, like runc): / gets it before anything is mounted,
    // so with rslave/rprivate nothing done here reaches the host. Shared: the single
    // mounts pivot_root cares about are made private and the new / is made shared after
    // the pivot (submounts stay shared with the host). Unbindable: rslave first, then
    // applied to the new /. Unchanged: / is left as it is (the caller saw to it).
    PropagationSetting root_propagation { Propagation::Slave, true };
    // Mounts, in spec order.
    std::vector<MountStep> steps;
    std::vector<DeviceNode> devices;
    std::vector<Symlink> symlinks;
    // In a new user namespace mknod is not allowed: bind the host's device node instead.
    bool bind_devices { false };
    // Host path of the pty slave to bind on /dev/console (empty: no console).
    std::string console;
    bool no_pivot { false };
    std::vector<std::string> masked_paths;
    std::vector<std::string> readonly_paths;
};

} // namespace cryo::rootfs
