// Containers from images (--image, --disk-limit), OCI bundles from images, commit and disk
// usage. What --image sets up is recorded in <state_dir>/image.json before it is set up, so
// image_release can undo it from the state dir alone; the overlay's upper/ and work/ live in
// the state dir, or on a loop-mounted ext4 image (<store>/disks/) mounted on <state_dir>/disk
// when the container has a disk limit. This header has no nlohmann/oci-json dependency.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "image/store.h"
#include "oci/spec.h"

namespace cryo::runtime {

struct Context;

// <state_dir>/image.json.
struct ImageUse {
    std::string image; // the image's name in the store
    std::string store; // the store's root
    std::string upper; // the overlay's upper dir (what commit stores)
    std::string disk_image; // the ext4 image file, "" without --disk-limit
    std::string disk_mount; // where it is mounted (<state_dir>/disk), "" without
    uint64_t disk_limit { 0 }; // bytes, 0 without
};
// nullopt when the container was not made from an image (no image.json).
Result<std::optional<ImageUse>> read_image_use(std::string const& state_dir);

struct DiskUsage {
    uint64_t used_bytes { 0 }; // bytes the container's writes take (blocks, like du)
    uint64_t limit_bytes { 0 }; // the --disk-limit; 0 = no limit (upper dir in the state dir)
    uint64_t available_bytes { 0 }; // what the container may still write (with a limit), else 0
};
// For the beancounters: the disk space of a container's writable layer. With a disk limit,
// statfs of its file system; without one, the blocks of every file in the upper dir (hard
// links counted once). Error when the container was not made from an image.
Result<DiskUsage> container_disk_usage(std::string const& state_dir);

// "1048576", "512k", "512m", "1g", "1.5g", "2GiB", "64MB": binary units as docker and podman
// read them. Errors name the text.
Result<uint64_t> parse_size(std::string_view text);

// The image config's "User" ("", "1000", "1000:1000", "www", "www:www", "1000:staff")
// resolved against the image's /etc/passwd and /etc/group texts. A name that is in neither
// file is an error; a numeric uid without a group takes the passwd gid, else 0.
Result<oci::User> resolve_image_user(std::string const& user, std::string_view passwd, std::string_view group);

// Pure: the config.json of a container from an image: cryo's default spec (runc's) with the
// image's command (Entrypoint + Cmd; `sh` when it has neither), its Env over the default one
// (by name), WorkingDir, `user`, no terminal, a writable root at "rootfs", and `hostname`.
oci::Spec image_spec(image::ImageConfig const& config, oci::User const& user, std::string const& hostname);

// `cryo image bundle NAME DIR`: DIR/config.json (image_spec) and the image's overlay mounted on
// DIR/rootfs with DIR/upper and DIR/work (`cryo image unmount DIR` undoes the mount and removes
// them). DIR is created if needed; an existing DIR/config.json is an error.
Result<void> write_image_bundle(image::Store const& store, std::string const& name, std::string const& dir);

// `cryo commit ID NAME`: the container's upper dir as a new image on top of its image.
Result<image::ImageRecord> commit_container(Context const& ctx, std::string const& id, std::string const& name,
                                            bool replace);

} // namespace cryo::runtime
