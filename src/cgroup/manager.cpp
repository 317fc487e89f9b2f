#include "cgroup/manager.h"

#include "cgroup/backend.h"
#include "cgroup/parse.h"
#include "sys/file.h"

namespace cryo::cgroup {

Result<std::unique_ptr<Manager>> Manager::open(Config const& config)
{
    auto path = TRY(normalize_cgroup_path(config.path));
    auto root = config.fs_root;
    while (root.size() > 1 && root.back() == '/')
        root.pop_back();
    if (config.mode == Mode::V2)
        return detail::make_v2(std::move(path), Hierarchy { .version = Version::V2, .mount_point = root });

    auto mountinfo = TRY(sys::read_file(config.mountinfo).context("probe cgroup hierarchies"));
    auto hierarchies = parse_cgroup_mounts(mountinfo, root);
    if (hierarchies.empty())
        return Error::format("probe cgroup hierarchies: none mounted under {}", root);
    bool pure_v2
        = hierarchies.size() == 1 && hierarchies[0].version == Version::V2 && hierarchies[0].mount_point == root;
    if (pure_v2) {
        if (config.mode == Mode::V1)
            return Error::format("probe cgroup hierarchies: {} is cgroup v2, not v1", root);
        return detail::make_v2(std::move(path), std::move(hierarchies[0]));
    }
    // Hybrid host: learn which controllers the unified mount holds (hugetlb here).
    for (auto& hierarchy : hierarchies) {
        if (hierarchy.version != Version::V2)
            continue;
        auto text = TRY(
            detail::read_if_exists(hierarchy.mount_point + "/cgroup.controllers").context("probe cgroup hierarchies"));
        if (!text)
            continue;
        std::string_view list = *text;
        while (!list.empty()) {
            auto end = list.find_first_of(" \n");
            if (end != 0)
                hierarchy.controllers.emplace_back(list.substr(0, end));
            if (end == std::string_view::npos)
                break;
            list.remove_prefix(end + 1);
        }
    }
    return detail::make_v1(std::move(path), std::move(hierarchies));
}

Result<void> join_self(JoinHandles const& handles, bool cloned_into_unified)
{
    // "0" means the writer itself; in `tasks` only the calling thread moves (see
    // JoinHandles for why that matters).
    for (auto const& fd : handles.tasks) {
        auto written = sys::write(fd, "0", 1);
        if (written.is_error())
            return Error::from_errno(written.error().code(), "join cgroup: write tasks");
    }
    if (!cloned_into_unified && handles.unified_procs.valid()) {
        auto written = sys::write(handles.unified_procs, "0", 1);
        if (written.is_error())
            return Error::from_errno(written.error().code(), "join cgroup: write cgroup.procs");
    }
    return {};
}

} // namespace cryo::cgroup
