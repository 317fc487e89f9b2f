// What a container checkpoint adds to the engine's image (docs/container-checkpoint.md):
// container.json (the saved state a restore needs: hostname, time offsets, namespaces,
// cgroup path, annotations, bundle) and config.json (the bundle's config as it was), both
// checksummed in the manifest; ipc/ and net/ (namespace state) and rootfs-diff.tar (the
// upper layer of an overlay root) next to them. The codec is pure (unit-tested).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace cryo::runtime {

inline constexpr char k_container_info_name[] = "container.json";
inline constexpr char k_container_config_name[] = "config.json";
inline constexpr char k_rootfs_diff_name[] = "rootfs-diff.tar";
inline constexpr int k_container_info_version = 1;

struct ContainerImageInfo {
    std::string id; // the id it had (a restore may choose another)
    std::string bundle; // its bundle then (a restore uses --bundle)
    std::string rootfs;
    std::string created;
    std::map<std::string, std::string> annotations;
    std::string cgroup_path;
    std::map<std::string, std::string> namespaces; // kind -> path joined ("" = its own)
    std::string hostname; // "" when it had no uts namespace
    std::optional<std::string> time_offsets; // timens_offsets text, when it had a time ns
    // A container on cryo's overlay root (--image): the store image under it and its disk
    // limit (bytes, 0 = none). A restore re-creates the overlay from the image of that name
    // in its own store and applies rootfs-diff.tar to the new upper layer.
    std::string image;
    uint64_t disk_limit { 0 };
    // A container with its own user namespace: /proc/<init>/uid_map and gid_map at checkpoint
    // (host ids). A restore checks that its new namespace maps the same (the image's ids are
    // the host's, translated into the namespace when credentials are restored).
    std::optional<std::string> uid_map;
    std::optional<std::string> gid_map;
    // The engine marked the old runtime's stdio in the image (DumpOptions::runtime_stdio):
    // the restore reattaches those descriptions, not whatever sat at the init's fds 0-2.
    bool stdio_marked { false };

    bool operator==(ContainerImageInfo const&) const = default;
};

std::string encode_container_info(ContainerImageInfo const& info);
Result<ContainerImageInfo> decode_container_info(std::string_view text);

// Where a container restore takes its config and root file system from: what --bundle holds,
// else what the image carries (the saved config; for a container that ran on cryo's overlay
// root, the store's image plus rootfs-diff.tar). Pure, so the choice is unit-tested.
enum class RestoreConfigSource {
    Bundle, // --bundle's config.json
    Image, // the config.json saved in the image (--bundle has none)
};
enum class RestoreRootfs {
    Bundle, // the rootfs the config names, as it is
    BundleDiff, // the rootfs the config names, with rootfs-diff.tar applied onto it
    ImageOverlay, // a new overlay of the store's image `info.image`, the diff in its upper layer
};
struct RestoreBundleFacts {
    bool has_config { false }; // --bundle has a config.json
    bool has_rootfs { false }; // the config's root.path (under --bundle) is a non-empty dir
    bool image_has_diff { false }; // the image holds rootfs-diff.tar
};
struct RestoreRootfsPlan {
    RestoreConfigSource config { RestoreConfigSource::Bundle };
    RestoreRootfs rootfs { RestoreRootfs::Bundle };
    bool operator==(RestoreRootfsPlan const&) const = default;
};
RestoreRootfsPlan plan_restore_rootfs(ContainerImageInfo const& info, RestoreBundleFacts const& facts);

// cgroup.json: the container cgroup's properties at checkpoint (its limits as they were, after
// any `update`), file name -> content, keyed "<controller>/<file>" (v1) or "/<file>" (v2).
inline constexpr char k_cgroup_props_name[] = "cgroup.json";
using CgroupProperties = std::map<std::string, std::string>;
std::string encode_cgroup_properties(CgroupProperties const& properties);
Result<CgroupProperties> decode_cgroup_properties(std::string_view text);
// The files of a controller ("" = the v2 unified hierarchy) saved and restored, in the
// order they are written back.
std::vector<std::string_view> cgroup_property_files(std::string_view controller);

// --manage-cgroups-mode at restore (CRIU's meanings; cryo stands for runc + CRIU, so the
// cgroup "created by the restore" is the one cryo makes from the config):
//   ignore: the cgroup the config names, with the config's limits; nothing from the image.
//   soft:   the saved properties when the restore created the cgroup; an existing one keeps
//           its settings (the config's limits, as create applies them).
//   full:   the saved properties, whether the cgroup existed or not.
//   strict: the saved properties, and the cgroup must not exist before the restore.
enum class CgroupRestore { ConfigLimits, SavedProperties };
enum class CgroupsMode;
Result<CgroupRestore> plan_cgroup_restore(CgroupsMode mode, bool cgroup_existed);

// Whether the image's namespace state (checkpoint/ns_state.h files ipc/ipc.json and
// net/net.json) is exactly what a new namespace starts with: no SysV objects and the kernel's
// default IPC limits; only a loopback that is down, no addresses, no routes. A restore then
// has nothing to write (each restore costs a child process and netlink round trips).
// Anything unknown or unreadable is "not fresh".
bool ipc_state_is_fresh(std::string_view ipc_json);
bool net_state_is_fresh(std::string_view net_json);

// --image-path as runc takes it: relative to the cwd; empty means ./checkpoint.
Result<std::string> absolute_image_path(std::string const& path);

} // namespace cryo::runtime
