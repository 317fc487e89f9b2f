// Container root file systems from images: an overlayfs with the image's layers as lower
// dirs (top first) and the container's own upper and work dirs, returned as data for the
// runtime's mount plan; plus moving a container's changes (upper dir <-> OCI layer tar) and
// committing them as a new image. The container dir layout: upper/, work/, rootfs/ (target).
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "base/fd.h"
#include "image/store.h"

namespace cryo::image {

struct RootfsMounts {
    std::string image;
    std::vector<std::string> layers; // digests, bottom first (what the container uses)
    std::vector<std::string> lower_dirs; // layer rootfs dirs, TOP FIRST (overlayfs order)
    std::string upper_dir; // <container_dir>/upper
    std::string work_dir; // <container_dir>/work
    std::string target; // <container_dir>/rootfs
    ImageConfig config; // the image's default process

    // mount(2) arguments: mount("overlay", target, "overlay", 0, options()).
    std::string source() const { return "overlay"; }
    std::string fstype() const { return "overlay"; }
    std::string options() const;
};

// Pure: the mounts for `image` in `container_dir` (nothing touched). upper/ and work/ go in
// `writable_dir` when given (a size-limited file system mounted there: --disk-limit), else
// in `container_dir`; rootfs/ is always in `container_dir`.
Result<RootfsMounts> plan_container_rootfs(Store const& store, ImageRecord const& image,
                                           std::string const& container_dir, std::string const& writable_dir = {});

// Creates upper/, work/ and rootfs/ (see plan_container_rootfs; the dirs must exist) and
// registers the container with the store so that `image rm` cannot collect its layers while
// it lives.
Result<RootfsMounts> prepare_container_rootfs(Store const& store, std::string const& image_name,
                                              std::string const& container_dir, std::string const& writable_dir = {});
// Mounts the overlay on its target (needs CAP_SYS_ADMIN), and unmounts it (no-op when not
// mounted).
Result<void> mount_rootfs(RootfsMounts const& mounts);
Result<void> unmount_rootfs(std::string const& target);
// Unmounts, removes upper/, work/ and rootfs/ (upper/ and work/ of `writable_dir` too when
// given and still reachable) and the store registration.
Result<void> release_container_rootfs(Store const& store, std::string const& container_dir,
                                      std::string const& writable_dir = {});

// The container's changes as an OCI layer tar (whiteouts as .wh. files, opaque dirs as
// .wh..wh..opq), and back into an (empty) upper dir on another machine.
Result<void> export_changes(std::string const& upper_dir, FdRef out);
Result<void> apply_changes(FdRef tar, std::string const& upper_dir);

struct CommitOptions {
    bool replace { false };
};
// A new image `new_name`: the layers of `base_image` plus the changes in `upper_dir` as one
// more layer on top.
Result<ImageRecord> commit(Store const& store, std::string const& upper_dir, std::string const& base_image,
                           std::string const& new_name, CommitOptions const& options = {});

} // namespace cryo::image
