// Applies a MountPlan in the container init, in its new mount namespace, in two phases
// so that the runtime can write hostname and sysctls in between (as runc does):
//   setup_rootfs:    / propagation, rootfs bind, mounts, devices, symlinks, console,
//                    pivot_root (or MS_MOVE + chroot); afterwards cwd and root are the
//                    container's /.
//   finalize_rootfs: readonly paths, masked paths, read-only root.
// Errors name the mount: "mount proc on /proc: Operation not permitted".
#pragma once

#include "base/error.h"
#include "rootfs/mount_plan.h"

namespace cryo::rootfs {

// setup_rootfs = mount_rootfs then enter_rootfs; the runtime runs the createContainer hooks
// in between (OCI: after the rootfs mounts, before pivot_root).
Result<void> setup_rootfs(MountPlan const& plan);
Result<void> mount_rootfs(MountPlan const& plan); // everything up to pivot_root
Result<void> enter_rootfs(MountPlan const& plan); // pivot_root (or move + chroot), / propagation
Result<void> finalize_rootfs(MountPlan const& plan);

} // namespace cryo::rootfs
