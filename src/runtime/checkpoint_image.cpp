#include "runtime/checkpoint_image.h"

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
        return info;
    } catch (std::exception const& e) {
        return Error::format("{}: {}", k_container_info_name, e.what());
    }
}

} // namespace cryo::runtime
