#include "runtime/checkpoint_image.h"

#include "runtime/api.h"

#include <nlohmann/json.hpp>

namespace cryo::runtime {

std::string encode_container_info(ContainerImageInfo const& info)
{
    nlohmann::ordered_json j;
    j["version"] = k_container_info_version;
    j["id"] = info.id;
    j["bundle"] = info.bundle;
    j["rootfs"] = info.rootfs;
    j["created"] = info.created;
    j["annotations"] = info.annotations;
    j["cgroup_path"] = info.cgroup_path;
    j["namespaces"] = info.namespaces;
    j["hostname"] = info.hostname;
    if (info.time_offsets)
        j["time_offsets"] = *info.time_offsets;
    if (info.uid_map)
        j["uid_map"] = *info.uid_map;
    if (info.gid_map)
        j["gid_map"] = *info.gid_map;
    if (info.stdio_marked)
        j["stdio_marked"] = true;
    if (!info.image.empty()) {
        j["image"] = info.image;
        j["disk_limit"] = info.disk_limit;
    }
    return j.dump(1) + "\n";
}

Result<ContainerImageInfo> decode_container_info(std::string_view text)
{
    try {
        auto j = nlohmann::json::parse(text);
        int version = j.at("version").get<int>();
        if (version > k_container_info_version)
            return Error::format("{}: version {} is newer than this cryo reads ({})", k_container_info_name, version,
                                 k_container_info_version);
        ContainerImageInfo info;
        info.id = j.at("id").get<std::string>();
        info.bundle = j.value("bundle", "");
        info.rootfs = j.value("rootfs", "");
        info.created = j.value("created", "");
        info.annotations = j.value("annotations", std::map<std::string, std::string> {});
        info.cgroup_path = j.value("cgroup_path", "");
        info.namespaces = j.value("namespaces", std::map<std::string, std::string> {});
        info.hostname = j.value("hostname", "");
        if (j.contains("time_offsets"))
            info.time_offsets = j.at("time_offsets").get<std::string>();
        if (j.contains("uid_map"))
            info.uid_map = j.at("uid_map").get<std::string>();
        if (j.contains("gid_map"))
            info.gid_map = j.at("gid_map").get<std::string>();
        info.image = j.value("image", "");
        info.disk_limit = j.value("disk_limit", uint64_t { 0 });
        info.stdio_marked = j.value("stdio_marked", false);
        return info;
    } catch (std::exception const& e) {
        return Error::format("{}: {}", k_container_info_name, e.what());
    }
}

RestoreRootfsPlan plan_restore_rootfs(ContainerImageInfo const& info, RestoreBundleFacts const& facts)
{
    RestoreRootfsPlan plan;
    plan.config = facts.has_config ? RestoreConfigSource::Bundle : RestoreConfigSource::Image;
    if (facts.has_rootfs)
        // A rootfs given with the bundle wins (podman and containerd restore in place); the
        // changes of an overlay root are applied onto it, as runc does with CRIU's diff.
        plan.rootfs = facts.image_has_diff ? RestoreRootfs::BundleDiff : RestoreRootfs::Bundle;
    else if (!info.image.empty())
        plan.rootfs = RestoreRootfs::ImageOverlay;
    else
        plan.rootfs = RestoreRootfs::Bundle; // launch reports the missing rootfs by name
    return plan;
}

std::string encode_cgroup_properties(CgroupProperties const& properties)
{
    nlohmann::ordered_json j;
    j["version"] = 1;
    j["properties"] = properties;
    return j.dump(1) + "\n";
}

Result<CgroupProperties> decode_cgroup_properties(std::string_view text)
{
    try {
        auto j = nlohmann::json::parse(text);
        if (j.at("version").get<int>() > 1)
            return Error::format("{}: version {} is newer than this cryo reads (1)", k_cgroup_props_name,
                                 j.at("version").get<int>());
        return j.at("properties").get<CgroupProperties>();
    } catch (std::exception const& e) {
        return Error::format("{}: {}", k_cgroup_props_name, e.what());
    }
}

std::vector<std::string_view> cgroup_property_files(std::string_view controller)
{
    // Limits only: counters and events are the kernel's, not the container's settings. v1
    // memory: the plain limit before memsw (memsw may never be below it; a failed write
    // is retried after the others).
    if (controller.empty())
        return { "memory.min", "memory.low", "memory.high", "memory.max",  "memory.swap.max", "pids.max",
                 "cpu.weight", "cpu.max",    "cpuset.cpus", "cpuset.mems", "io.weight" };
    if (controller == "memory")
        return { "memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.soft_limit_in_bytes",
                 "memory.swappiness" };
    if (controller == "pids")
        return { "pids.max" };
    if (controller == "cpu")
        return { "cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us" };
    if (controller == "cpuset")
        return { "cpuset.cpus", "cpuset.mems" };
    if (controller == "blkio")
        return { "blkio.weight" };
    return {};
}

Result<CgroupRestore> plan_cgroup_restore(CgroupsMode mode, bool cgroup_existed)
{
    switch (mode) {
    case CgroupsMode::Ignore:
        return CgroupRestore::ConfigLimits;
    case CgroupsMode::Soft:
        return cgroup_existed ? CgroupRestore::ConfigLimits : CgroupRestore::SavedProperties;
    case CgroupsMode::Full:
        return CgroupRestore::SavedProperties;
    case CgroupsMode::Strict:
        if (cgroup_existed)
            return Error::make("--manage-cgroups-mode strict: the container's cgroup exists already");
        return CgroupRestore::SavedProperties;
    }
    return CgroupRestore::ConfigLimits;
}

bool ipc_state_is_fresh(std::string_view ipc_json)
{
    // The limits a new IPC namespace gets (ipc/namespace.c, include/uapi/linux/{msg,sem,shm}.h:
    // MSGMAX, MSGMNB, MSGMNI, SEMMSL SEMMNS SEMOPM SEMMNI, SHMMAX = SHMALL = ULONG_MAX - 2^24,
    // SHMMNI), not the host's: they are not inherited.
    static std::map<std::string, std::string> const defaults {
        { "msgmax", "8192" },
        { "msgmnb", "16384" },
        { "msgmni", "32000" },
        { "sem", "32000\t1024000000\t500\t32000" },
        { "shm_rmid_forced", "0" },
        { "shmall", "18446744073692774399" },
        { "shmmax", "18446744073692774399" },
        { "shmmni", "4096" },
    };
    auto j = nlohmann::json::parse(ipc_json, nullptr, false);
    if (!j.is_object() || j.value("schema", 0) != 1)
        return false;
    for (auto const& [key, value] : j.items()) {
        if (key == "schema")
            continue;
        if (key == "queues" || key == "semaphores" || key == "shm") {
            if (!value.is_array() || !value.empty())
                return false;
        } else if (key == "sysctls") {
            if (!value.is_object() || value.size() != defaults.size())
                return false;
            for (auto const& [name, text] : value.items()) {
                auto it = defaults.find(name);
                if (it == defaults.end() || !text.is_string() || text.get<std::string>() != it->second)
                    return false;
            }
        } else {
            return false;
        }
    }
    return true;
}

bool net_state_is_fresh(std::string_view net_json)
{
    auto j = nlohmann::json::parse(net_json, nullptr, false);
    if (!j.is_object() || j.value("schema", 0) != 1)
        return false;
    for (auto const& [key, value] : j.items()) {
        if (key == "schema" || key == "links")
            continue;
        if ((key != "addresses" && key != "routes") || !value.is_array() || !value.empty())
            return false;
    }
    auto const& links = j.contains("links") ? j["links"] : nlohmann::json();
    if (!links.is_array() || links.size() != 1 || !links[0].is_object())
        return false;
    nlohmann::json const fresh_lo = {
        { "alias", "" },  { "flags", 0 },   { "index", 1 },     { "kind", "loopback" }, { "mac", "00:00:00:00:00:00" },
        { "mtu", 65536 }, { "name", "lo" }, { "txqlen", 1000 }, { "up", false }
    };
    return links[0] == fresh_lo;
}

} // namespace cryo::runtime
