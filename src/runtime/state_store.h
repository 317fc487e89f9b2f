// StateStore: the per-container state directories <root>/<id>/ and the status machine.
// Invariants: state.json is only ever replaced atomically (temp + rename); a
// Container handle that was opened with LockMode::Exclusive holds flock(<dir>/lock) until it
// is dropped, so two commands never modify one container at once; the live status is derived
// (saved status + "is the init still the process we started", checked by its start time),
// so a recycled pid is never mistaken for the container's init and never signalled.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include "base/error.h"
#include "base/fd.h"
#include "oci/spec.h"
#include "oci/state.h"
#include "sys/file.h"

namespace cryo::runtime {

enum class Status { Creating, Created, Running, Paused, Stopped };

std::string_view status_name(Status status); // "creating", "created", ...
std::optional<Status> parse_status(std::string_view name);

// The live status from the saved one and whether the init (same pid AND same start time)
// still exists. A container whose init is gone is stopped, whatever was saved.
Status derive_status(Status saved, bool init_alive);

// "cannot <verb> container <id> in state <status>" unless `status` is one of `allowed`.
Result<void> require_status(std::string_view verb, std::string_view id, Status status,
                            std::initializer_list<Status> allowed);

// What state.json holds: facts saved by create/start/pause..., never derived ones.
struct SavedState {
    std::string id;
    std::string bundle; // absolute
    std::string rootfs; // absolute host path
    Status status { Status::Creating };
    pid_t init_pid { 0 };
    uint64_t init_start_time { 0 }; // /proc/PID/stat field 22 (clock ticks since boot)
    std::string created; // RFC 3339 with nanoseconds, UTC
    std::string owner; // "" unless rootless
    std::string oci_version;
    std::map<std::string, std::string> annotations;
    // The container's cgroup as cgroupsPath named it after resolution ("/cryo/web" or a
    // relative path made absolute); cgroup::Manager::open takes it back.
    std::string cgroup_path;
    bool systemd_cgroup { false };
    // Namespaces the container was created with (spec names, "pid", "network"...) and the
    // path each one was joined from ("" = created new). exec joins the init's.
    std::map<std::string, std::string> namespaces;
    // Hooks that run after create returned (the bundle may have changed or gone by then).
    std::vector<oci::Hook> poststart;
    std::vector<oci::Hook> poststop;
    // What the init was given as fds 0-2 when it was made (create, run, restore), unless a
    // console replaced them: a checkpoint marks these files as the runtime's stdio wherever
    // the container's processes hold them then. Empty for a console and for older state.
    std::optional<std::array<sys::FileIdentity, 3>> stdio;

    bool operator==(SavedState const&) const = default;
};

// Serialization of SavedState (pure; unit-tested). parse errors name "state.json".
std::string saved_state_to_json(SavedState const& state);
Result<SavedState> parse_saved_state(std::string_view json);

// Field 22 (starttime) of /proc/PID/stat (parsed by sys::parse_stat) for a live pid;
// error (ESRCH-like) when the process does not exist.
Result<uint64_t> process_start_time(pid_t pid);

// Replaces `path` atomically (temp file in the same dir + rename) WITHOUT fsync: readers
// never see half a file, which is all runtime state needs. Its subject (live processes)
// does not survive a power loss, so paying a disk flush on every create would buy nothing
// (runc's saveState does the same: temp file, write, close, rename, no fsync). Measured on
// this host's /run (ext4 on virtio, not a tmpfs), 1.5 KB file, 200 rounds while others
// built: write+rename median 0.09-0.13 ms; with fsync of file and dir median 0.36-0.40 ms
// but p90 15-24 ms, far over the 1 ms a create may spend on it. Used for state.json and
// --pid-file.
Result<void> replace_file(std::string const& path, std::string_view data, mode_t mode);

enum class LockMode {
    Exclusive, // flock LOCK_EX: every command that changes the container
    Shared, // LOCK_SH: readers that want a consistent view (state)
    None, // list: never blocks behind a long command
};

// One container's state directory, opened (and locked per LockMode) by StateStore.
class Container {
public:
    Container(Container&&) noexcept = default;
    Container& operator=(Container&&) noexcept = default;
    ~Container() = default;

    std::string const& id() const { return m_state.id; }
    // <root>/<id>
    std::string const& dir() const { return m_dir; }
    FdRef dir_fd() const { return m_dir_fd.ref(); }
    // The lock's fd: a child forked while the lock is held must close its copy, or the
    // lock (an open file description lock) stays held as long as the child lives.
    FdRef lock_fd() const { return m_lock.ref(); }
    // <root>/<id>/exec.fifo: the init blocks opening it for writing until start reads it.
    std::string exec_fifo_path() const { return m_dir + "/exec.fifo"; }

    SavedState& state() { return m_state; }
    SavedState const& state() const { return m_state; }

    // Writes state.json atomically.
    Result<void> save() const;

    // True if init_pid exists and has init_start_time (not a recycled pid).
    bool init_alive() const;
    // The live status: derive_status(saved, init_alive()).
    Status status() const;
    // require_status with this container's id and live status.
    Result<void> require_status(std::string_view verb, std::initializer_list<Status> allowed) const;

    // A pidfd for the init, verified against the start time after opening (so the pidfd
    // cannot refer to a recycled pid). Error "container <id> is not running" if gone.
    Result<Fd> open_init_pidfd() const;

    // The OCI state (runc's `state` shape) with the live status; pid 0 when stopped.
    oci::State oci_state() const;

    // Releases the lock early (run and exec wait for their process without holding it, so
    // kill and state still work meanwhile).
    void unlock() { m_lock.reset(); }

    // Removes the state directory (the lock goes with it). The handle is unusable after.
    Result<void> destroy();

private:
    friend class StateStore;
    Container() = default;

    std::string m_dir;
    Fd m_dir_fd;
    Fd m_lock;
    SavedState m_state;
};

class StateStore {
public:
    // The store at `root` (created 0700 on first use by create()).
    explicit StateStore(std::string root)
        : m_root(std::move(root))
    {
    }

    std::string const& root() const { return m_root; }

    // A new, exclusively locked state dir for `id` with status Creating (not yet saved).
    // Errors: the id validator's message; "container <id> already exists".
    Result<Container> create(std::string const& id) const;
    // An existing container, locked per `mode`, with its state.json loaded.
    // Error: "container <id> does not exist".
    Result<Container> open(std::string const& id, LockMode mode = LockMode::Exclusive) const;
    // Ids of every container dir with a state.json, sorted.
    Result<std::vector<std::string>> ids() const;

private:
    std::string m_root;
};

} // namespace cryo::runtime
