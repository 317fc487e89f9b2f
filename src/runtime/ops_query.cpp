// runtime::list and runtime::pids: read-only queries over the state store and the
// container's cgroup.
#include "base/log.h"
#include "cgroup/manager.h"
#include "runtime/ops.h"
#include "sys/file.h"

namespace cryo::runtime {

ContainerSummary summarize(SavedState const& state, Status live_status)
{
    return ContainerSummary {
        .id = state.id,
        // As runc: a stopped container has no pid (its old one may belong to someone else).
        .pid = live_status == Status::Stopped ? 0 : state.init_pid,
        .status = std::string(status_name(live_status)),
        .bundle = state.bundle,
        .created = state.created,
        .owner = state.owner,
    };
}

Result<std::vector<ContainerSummary>> list(Context const& ctx)
{
    StateStore store(ctx.root);
    // A missing root is an empty list (nothing was ever created there), as in runc.
    auto ids = TRY(store.ids().context("list containers in {}", ctx.root));
    std::vector<ContainerSummary> out;
    out.reserve(ids.size());
    for (auto const& id : ids) {
        // LockMode::None: list must not wait behind a long create or checkpoint.
        auto container = store.open(id, LockMode::None);
        if (container.is_error()) {
            // Deleted since ids() read the directory, or a damaged state: skip it, as runc
            // does, so one bad container does not hide all the others.
            if (sys::exists(store.root() + "/" + id + "/state.json"))
                log::warn("list: skipping {}: {}", id, container.error().message());
            continue;
        }
        out.push_back(summarize(container->state(), container->status()));
    }
    return out;
}

Result<std::vector<int>> pids(Context const& ctx, std::string const& id)
{
    StateStore store(ctx.root);
    auto container = TRY(store.open(id, LockMode::Shared));
    auto const& state = container.state();
    if (state.cgroup_path.empty())
        return Error::format("ps {}: container has no cgroup", id);
    auto manager = TRY(cgroup::Manager::open({ .path = state.cgroup_path }).context("ps {}", id));
    auto found = manager->pids();
    if (found.is_error()) {
        // A stopped container's cgroup may already be gone: it simply has no processes.
        if (container.status() == Status::Stopped)
            return std::vector<int> {};
        return found.release_error().add_context(fmt::format("ps {}", id));
    }
    return std::vector<int>(found->begin(), found->end());
}

} // namespace cryo::runtime
