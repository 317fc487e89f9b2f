// restore: a container comes back from its checkpoint image. The runtime sets the container
// up again from its config through the launch path (namespaces of the same kinds, cgroup with
// its limits, rootfs mounts, the hostname and time offsets it had, console or stdio), with an
// init that parks instead of exec'ing (LaunchMode::Restore); the engine then rebuilds the
// image's init in it and forks the rest of the tree inside the new pid namespace with their
// pids. The container is `running` without `start`. A failure leaves nothing behind.
#include <csignal>
#include <sys/prctl.h>

#include "base/log.h"
#include "base/scope_guard.h"
#include "checkpoint/image.h"
#include "checkpoint/ns_state.h"
#include "checkpoint/restore.h"
#include "runtime/api.h"
#include "runtime/checkpoint_image.h"
#include "runtime/extras.h"
#include "runtime/launch.h"
#include "runtime/wait.h"
#include "sys/file.h"

namespace cryo::runtime {

namespace {

void append_restore_log(std::string const& work_path, std::string const& text)
{
    if (work_path.empty())
        return;
    (void)sys::mkdir_all(work_path, 0755);
    auto fd = sys::open(work_path + "/restore.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd)
        (void)sys::write(*fd, text.data(), text.size());
}

// Rebuilds the tree into the parked init; undoes the whole container on failure.
Result<void> restore_into(Launched& launched, std::string const& image_path, ContainerImageInfo const& info)
{
    auto& container = launched.container;
    auto const& state = container.state();
    auto own = [&](char const* name) {
        auto it = state.namespaces.find(name);
        return it != state.namespaces.end() && it->second.empty();
    };
    int init_pid = launched.init.pid();
    checkpoint::RestoreInto into {
        .into_pid = init_pid,
        .into_cryo_pidfd = launched.cryo_pidfd.get(),
        .before_resume = [&]() -> Result<void> {
            // Namespace state the image carries, into the fresh namespaces, before any
            // restored process runs.
            if (own("ipc") && info.namespaces.contains("ipc") && sys::exists(image_path + "/ipc"))
                TRY(checkpoint::restore_ipc_namespace(init_pid, image_path + "/ipc").context("ipc namespace"));
            if (own("network") && info.namespaces.contains("network") && sys::exists(image_path + "/net"))
                TRY(checkpoint::restore_net_namespace(init_pid, image_path + "/net").context("network namespace"));
            return {};
        },
    };
    auto restored = TRY(checkpoint::restore({ .images_dir = image_path }, &into));
    log::debug("restore {}: {} pages, memory {:.1f} ms, total {:.1f} ms", container.id(), restored.stats.pages,
        restored.stats.memory_ms, restored.stats.total_ms);
    return {};
}

} // namespace

Result<int> restore(Context const& ctx, ContainerRestoreOptions const& options)
{
    auto const& id = options.create.id;
    auto image_path = TRY(absolute_image_path(options.image_path));
    // The image first: a missing or corrupt one fails before anything is created.
    auto image = TRY(checkpoint::ImageReader::open(image_path).context("restore {}", id));
    auto info_text = TRY(image.read_file(k_container_info_name).context("restore {}: image {}", id, image_path));
    auto info = TRY(decode_container_info(info_text).context("restore {}: image {}", id, image_path));
    auto pid_ns = info.namespaces.find("pid");
    if (pid_ns == info.namespaces.end() || !pid_ns->second.empty())
        return Error::format("restore {}: image {} is not of a container with its own pid namespace", id, image_path);

    auto create = options.create;
    create.extras = {}; // cryo's own create options do not apply to a restore
    // ... except those the image carries (the network), set up again by the launch.
    TRY(restore_extras(image, options.create.extras, create.extras).context("restore {}: image {}", id, image_path));
    if (!create.no_subreaper && !create.detach)
        ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    SignalForwarder forwarder;
    if (!create.detach)
        TRY(forwarder.block());

    RestoreLaunch restore_launch { .hostname = info.hostname, .time_offsets = info.time_offsets };
    auto launched = TRY(launch(ctx, create, LaunchMode::Restore, &restore_launch));
    auto& container = launched.container;
    auto restored = restore_into(launched, image_path, info);
    if (!restored) {
        append_restore_log(options.work_path, fmt::format("restore {} from {}: {}\n", id, image_path,
            restored.error().message()));
        (void)::kill(launched.init.pid(), SIGKILL);
        (void)launched.init.wait();
        (void)launched.cgroup->kill_all(SIGKILL);
        (void)launched.cgroup->destroy();
        release_extras(container.dir()); // the network (veth, lease, rules), an overlay root
        (void)container.destroy();
        return restored.release_error().add_context(fmt::format("restore {}", id));
    }
    launched.cryo_pidfd.reset();
    append_restore_log(options.work_path,
        fmt::format("restore {} from {}: init pid {}\n", id, image_path, launched.init.pid()));
    if (create.detach) {
        launched.init.release();
        return 0;
    }
    container.unlock();
    int status = TRY(forwarder.wait_for(launched.init, launched.console));
    StateStore store(ctx.root);
    if (auto reopened = store.open(id)) {
        auto removed = delete_stopped(*reopened, *launched.cgroup);
        if (!removed)
            log::warn("restore {}: {}", id, removed.error().message());
    }
    return sys::exit_code_of(status);
}

} // namespace cryo::runtime
