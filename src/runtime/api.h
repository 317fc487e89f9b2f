// The runtime's public API: one function per OCI verb, called by cli/. Each takes the
// Context (global flags) and an option struct; the CLI only parses and prints.
// Implementations live in one file per concern under runtime/ (create.cpp, exec.cpp, ...).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "cgroup/stats.h"
#include "runtime/extras.h"

namespace cryo::runtime {

// Global flags, passed down instead of globals.
struct Context {
    std::string root { "/run/cryo" }; // --root: state directories live in <root>/<id>/
    bool systemd_cgroup { false }; // --systemd-cgroup
    bool debug { false };
};

struct CreateOptions {
    std::string id;
    std::string bundle { "." }; // --bundle
    std::string pid_file; // --pid-file
    std::string console_socket; // --console-socket
    bool no_pivot { false }; // --no-pivot
    bool no_new_keyring { false }; // --no-new-keyring
    int preserve_fds { 0 }; // --preserve-fds N: fds 3..3+N-1 pass into the container
    bool no_subreaper { false }; // --no-subreaper / -no-subreaper
    bool detach { false }; // run --detach
    bool keep { false }; // run --keep: do not delete after exit
    Extras extras; // cryo's own options: --image, --init, --network, limits
};

// create: container in state "created", blocked before exec of the user process.
Result<void> create(Context const& ctx, CreateOptions const& options);
// start: the created container execs its process.
Result<void> start(Context const& ctx, std::string const& id);
// run = create + start; without detach, waits and returns the process's exit status
// (128+signal if killed) and deletes the container.
Result<int> run(Context const& ctx, CreateOptions const& options);

struct ExecOptions {
    std::string id;
    std::string process_json; // --process FILE (an OCI process object), or empty
    std::vector<std::string> args; // otherwise the command line
    std::vector<std::string> env; // --env
    std::string cwd; // --cwd
    std::optional<std::string> user; // --user uid[:gid]
    std::vector<std::string> additional_gids;
    std::vector<std::string> caps; // --cap
    bool tty { false }; // --tty
    std::string console_socket;
    std::string pid_file;
    bool detach { false };
    bool no_new_privs { false };
    int preserve_fds { 0 };
    std::string apparmor, process_label, cgroup;
};
// exec: runs a process in a running container; returns its exit status unless detached.
Result<int> exec(Context const& ctx, ExecOptions const& options);

struct KillOptions {
    std::string id;
    int signal { 15 };
    bool all { false };
};
Result<void> kill(Context const& ctx, KillOptions const& options);

struct DeleteOptions {
    std::string id;
    bool force { false };
};
Result<void> remove(Context const& ctx, DeleteOptions const& options);

// state: the OCI state JSON of one container (runc's extended fields included).
Result<std::string> state_json(Context const& ctx, std::string const& id);

struct ContainerSummary {
    std::string id;
    int pid { 0 };
    std::string status;
    std::string bundle;
    std::string created; // RFC 3339
    std::string owner;
};
Result<std::vector<ContainerSummary>> list(Context const& ctx);

// ps: pids of the container's processes (host pids), from its cgroup.
Result<std::vector<int>> pids(Context const& ctx, std::string const& id);

// top: the container's processes, orphans its init adopted included, with the pids they
// have inside the container (the last NSpid field) next to the host pids.
struct ProcessEntry {
    int pid { 0 }; // inside the container's pid namespace
    int ppid { 0 }; // inside too; 0 when the parent is outside the container
    int host_pid { 0 };
    uint32_t uid { 0 }; // effective uid
    std::string user; // from the container's /etc/passwd, else the uid as a number
    char state { '?' }; // R, S, D, Z, T...
    std::string command; // cmdline with spaces, or [comm] for kernel-style empty cmdlines
};
// Sorted by in-container pid.
Result<std::vector<ProcessEntry>> top(Context const& ctx, std::string const& id);

Result<void> pause(Context const& ctx, std::string const& id);
Result<void> resume(Context const& ctx, std::string const& id);

// update: resources as an OCI linux.resources JSON object.
Result<void> update(Context const& ctx, std::string const& id, std::string const& resources_json);

// checkpoint/restore of containers (runc's verbs; checkpoint.cpp, restore.cpp).
// --manage-cgroups-mode (CRIU's meanings, checkpoint_image.h plan_cgroup_restore): at
// checkpoint, every mode but ignore saves the cgroup's limits in the image; at restore,
// ignore gives the config's limits only, soft the saved ones when the restore created the
// cgroup, full always, strict always and refuses an existing cgroup.
enum class CgroupsMode { Soft, Full, Strict, Ignore };
Result<CgroupsMode> parse_cgroups_mode(std::string_view text);

struct CheckpointOptions {
    std::string id;
    std::string image_path; // --image-path; default ./checkpoint (runc's default)
    std::string work_path; // --work-path: dump.log goes there ("" = none)
    bool leave_running { false };
    bool file_locks { false }; // --file-locks: dump and restore held locks (refused without it)
    bool tcp_established { false }; // --tcp-established: dump established TCP connections
    bool ext_unix_sk { false }; // --ext-unix-sk: unix sockets connected outside, reconnected by name
    CgroupsMode cgroups_mode { CgroupsMode::Soft };
    int status_fd { -1 }; // --status-fd: "\0" written once the dump is done
};
// checkpoint: writes the container's image, then stops it (or lets it run on). A failed
// checkpoint leaves it running as it was.
Result<void> checkpoint(Context const& ctx, CheckpointOptions const& options);

struct ContainerRestoreOptions {
    CreateOptions create; // id, --bundle, --pid-file, --console-socket, --detach,
                          // --no-pivot, --no-subreaper
    std::string image_path; // --image-path; default ./checkpoint
    std::string work_path; // --work-path: restore.log goes there ("" = none)
    CgroupsMode cgroups_mode { CgroupsMode::Soft };
};
// restore: the container runs again from its image (running, no start needed). Without
// detach, waits and returns the init's exit status like run.
Result<int> restore(Context const& ctx, ContainerRestoreOptions const& options);

// events: one JSON object per line to `emit`; --stats prints one stats event and returns.
struct EventsOptions {
    std::string id;
    bool stats { false };
    std::chrono::milliseconds interval { 5000 };
};
Result<void> events(Context const& ctx, EventsOptions const& options,
                    std::function<void(std::string const&)> const& emit);

// beancounters: for each container (one, or all when `id` is empty) and each resource: held,
// maxheld, barrier, limit, failcnt (OpenVZ's /proc/user_beancounters; docs/beancounters.md).
// Each call leaves a sample in the state dir, from which the next call computes rates and
// the maxheld of what no kernel file tracks.
struct ContainerBeancounters {
    std::string id;
    std::string status;
    std::vector<cgroup::Beancounter> rows;
};
Result<std::vector<ContainerBeancounters>> beancounters(Context const& ctx, std::string const& id);

} // namespace cryo::runtime
