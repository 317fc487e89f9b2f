// Idmapped bind mounts (OCI "idmap"/"ridmap"), made in the PARENT: mount_setattr
// (MOUNT_ATTR_IDMAP) needs CAP_SYS_ADMIN over the target user namespace, which the
// container init does not have over its own (measured: EPERM in the child, fine in the
// parent). The parent idmaps a detached tree; the child attaches it (MountStep::prepared_tree).
#pragma once

#include <string_view>

#include "base/error.h"
#include "base/fd.h"
#include "rootfs/mount_plan.h"

namespace cryo::rootfs {

// A user namespace with the given uid_map/gid_map contents ("0 100000 65536\n"), for
// mounts whose spec carries its own mappings. A short-lived helper process creates it;
// the returned fd (/proc/PID/ns/user) keeps it alive.
Result<Fd> make_userns(std::string_view uid_map, std::string_view gid_map);

// Clones step.source (recursively for rbind), idmaps it with `userns` (every submount too
// for ridmap) and returns the detached tree. The step's other attributes are applied by
// setup_rootfs when it attaches the tree.
Result<Fd> make_idmapped_tree(MountStep const& step, FdRef userns);

} // namespace cryo::rootfs
