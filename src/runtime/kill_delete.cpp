// kill, delete and state: the verbs that act on an existing container by its state dir.
#include <csignal>

#include "base/log.h"
#include "cgroup/manager.h"
#include "oci/state.h"
#include "runtime/api.h"
#include "runtime/extras.h"
#include "runtime/state_store.h"
#include "runtime/wait.h"
#include "sys/file.h"
#include "sys/process.h"

namespace cryo::runtime {

Result<void> kill(Context const& ctx, KillOptions const& options)
{
    StateStore store(ctx.root);
    auto container = TRY(store.open(options.id, LockMode::Shared));
    TRY(container.require_status("kill", { Status::Created, Status::Running, Status::Paused }));
    if (options.all) {
        auto manager = TRY(cgroup::Manager::open({ .path = container.state().cgroup_path }));
        TRY(manager->kill_all(options.signal).context("kill {}", options.id));
        return {};
    }
    auto pidfd = TRY(container.open_init_pidfd());
    TRY(sys::pidfd_send_signal(pidfd, options.signal).context("kill {}", options.id));
    return {};
}

Result<void> remove(Context const& ctx, DeleteOptions const& options)
{
    StateStore store(ctx.root);
    auto opened = store.open(options.id);
    if (!opened) {
        // As runc: a dir without state.json (a create that was killed) is removed, and
        // --force of a container that does not exist is not an error.
        auto error = opened.release_error();
        if (error.message() == fmt::format("container {} does not exist", options.id)) {
            auto dir = store.root() + "/" + options.id;
            if (sys::exists(dir) && !sys::exists(dir + "/state.json")) {
                release_extras(dir); // what the killed create set up (a veth, a netns mount)
                (void)sys::remove_all(dir);
            }
            if (options.force)
                return {};
        }
        return error;
    }
    auto& container = *opened;
    if (!options.force)
        TRY(container.require_status("delete", { Status::Stopped, Status::Created }));
    auto manager
        = TRY(cgroup::Manager::open({ .path = container.state().cgroup_path }).context("delete {}", options.id));
    TRY(destroy_container(container, *manager).context("delete {}", options.id));
    return {};
}

Result<std::string> state_json(Context const& ctx, std::string const& id)
{
    StateStore store(ctx.root);
    auto container = TRY(store.open(id, LockMode::None));
    return oci::state_to_json(container.oci_state());
}

} // namespace cryo::runtime
