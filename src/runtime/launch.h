// launch: the parent side of create, shared by `create` and `run`. It validates the
// bundle, builds every plan, creates the cgroup and the state dir, clones the init, drives
// it through the SyncChannel to "ready", and saves the state. On any error everything it
// made is undone (init killed, cgroup and state dir removed): nothing is left behind.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/error.h"
#include "cgroup/manager.h"
#include "oci/spec.h"
#include "runtime/api.h"
#include "runtime/state_store.h"
#include "runtime/sync.h"
#include "sys/process.h"

namespace cryo::runtime {

enum class LaunchMode {
    Create, // the init blocks on the exec FIFO until `start`
    Run, // no FIFO: the init execs as soon as it is ready
    Restore, // the init parks (restore_init.h) for the checkpoint engine to rebuild it
};

// What a container restore changes in the launch: the state the checkpoint saved.
struct RestoreLaunch {
    std::string hostname; // the uts name at checkpoint ("": the config's)
    std::optional<std::string> time_offsets; // timens_offsets text at checkpoint
    // The image's saved config.json, when --bundle has none: written to the state dir, which
    // becomes the container's bundle ("" = --bundle's).
    std::string config_json;
    // Runs once the root file system exists (an --image overlay is mounted) and before the
    // init is cloned: the image's rootfs changes are applied here.
    std::function<Result<void>(std::string const& state_dir, std::string const& rootfs)> prepare_rootfs;
    // Valid: the pidfd the parked init inherits instead of cryo's (restore_init.h FileHolder,
    // for a container with a new user namespace).
    FdRef files_pidfd;
};

struct Launched {
    Container container; // locked
    oci::Spec spec;
    std::unique_ptr<cgroup::Manager> cgroup;
    sys::ChildProcess init; // killed + reaped if dropped unreleased
    SyncChannel channel; // Run: open until the init execs (EOF) or reports an error
    Fd console; // foreground run with a terminal: the pty master cryo proxies
    Fd cryo_pidfd; // Restore: a pidfd of cryo, open at the same number in the init
};

Result<Launched> launch(Context const& ctx, CreateOptions const& options, LaunchMode mode,
                        RestoreLaunch const* restore = nullptr);

// Current CLOCK_REALTIME as runc's "created" (RFC 3339, nanoseconds, UTC).
std::string now_rfc3339();

// The OCI state for hooks and `state`, built from a container and a status.
std::string hook_state_of(Container const& container, Status status);

// Runs the poststop hooks from the container's bundle config (best effort, warnings).
void run_poststop_hooks(Container const& container);

} // namespace cryo::runtime
