// What a container checkpoint adds to the engine's image (docs/container-checkpoint.md):
// container.json (the saved state a restore needs: hostname, time offsets, namespaces,
// cgroup path, annotations, bundle) and config.json (the bundle's config as it was), both
// checksummed in the manifest; ipc/ and net/ (namespace state) and rootfs-diff.tar (the
// upper layer of an overlay root) next to them. The codec is pure (unit-tested).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"

namespace cryo::runtime {

inline constexpr char k_container_info_name[] = "container.json";
inline constexpr char k_container_config_name[] = "config.json";
inline constexpr char k_rootfs_diff_name[] = "rootfs-diff.tar";
inline constexpr int k_container_info_version = 1;

struct ContainerImageInfo {
    std::string id;     // the id it had (a restore may choose another)
    std::string bundle; // its bundle then (a restore uses --bundle)
    std::string rootfs;
    std::string created;
    std::map<std::string, std::string> annotations;
    std::string cgroup_path;
    std::map<std::string, std::string> namespaces; // kind -> path joined ("" = its own)
    std::string hostname;                          // "" when it had no uts namespace
    std::optional<std::string> time_offsets;       // timens_offsets text, when it had a time ns

    bool operator==(ContainerImageInfo const&) const = default;
};

std::string encode_container_info(ContainerImageInfo const& info);
Result<ContainerImageInfo> decode_container_info(std::string_view text);

// --image-path as runc takes it: relative to the cwd; empty means ./checkpoint.
Result<std::string> absolute_image_path(std::string const& path);

} // namespace cryo::runtime
