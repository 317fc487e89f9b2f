// The container init's side of create: what the child of clone3 does, from joining
// namespaces to the final execve. Everything it needs is prepared by the parent in an
// InitConfig (plans, fds, argv/envp arrays), so the child only applies. It reports each
// failure over the SyncChannel and exits; it never returns.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/fd.h"
#include "cgroup/manager.h"
#include "oci/spec.h"
#include "oci/state.h"
#include "rootfs/mount_plan.h"
#include "rootfs/seccomp.h"
#include "runtime/plan.h"
#include "runtime/sync.h"

namespace cryo::runtime {

// The exec'd program and its environment, ready for execve. Shared by init and exec.
struct ExecImage {
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::vector<char*> argv; // into args, nullptr-terminated
    std::vector<char*> envp; // into env, nullptr-terminated
    std::vector<char const*> trampoline_argv; // room for args.size() + 3
    // LISTEN_PID=<pid inside>: filled in by the child just before exec (its pid is only
    // known there); envp points at this buffer when listen_fds > 0.
    char listen_pid[32] {};
    int listen_pid_index { -1 };
    char resolved_path[4096] {};

    // Builds the arrays; with `listen_fds` > 0 sets LISTEN_FDS and reserves LISTEN_PID.
    void prepare(std::vector<std::string> process_args, std::vector<std::string> process_env, int listen_fds);
    ExecImage() = default;
    ExecImage(ExecImage const&) = delete;
    ExecImage& operator=(ExecImage const&) = delete;
};

// Finds args[0] like execvp would, inside the current root (after pivot_root): a name
// without '/' is searched in PATH. Writes the result into image.resolved_path.
// Error like runc's: "exec: \"foo\": executable file not found in $PATH".
Result<void> resolve_executable(ExecImage& image);

// What both the init and an exec'd process apply to themselves right before exec, after
// their mounts are in place: rlimits, oom score, io priority, scheduler, personality,
// umask, credentials and capabilities, no_new_privs, cwd. Seccomp is separate (its place
// depends on no_new_privs and on a notify listener).
Result<void> apply_process_attributes(ProcessPlan const& plan, bool in_new_user_ns);

// Closes every fd except 0-2, [3, 3 + passed_fds) and the CLOEXEC `trampoline` and
// `keep_open` (the sync socket: its EOF tells the parent the exec happened), clears CLOEXEC
// on the passed ones, sets LISTEN_PID and execs through the trampoline. Returns the error.
Error finish_exec(ExecImage& image, FdRef trampoline, int passed_fds, FdRef keep_open);

// Opens a pty in the current /dev/ptmx, sends the master to `console_socket` (SCM_RIGHTS,
// as runc does), makes the slave the controlling terminal and stdio. When `console_path`
// is set, the slave is bind-mounted there (/dev/console for the init).
Result<void> setup_console(FdRef console_socket, std::optional<oci::ConsoleSize> size, bool mount_dev_console);

// The namespaces of NamespacePlan::parent_joins, joined by the calling (parent) thread just
// before clone3 so that the init inherits them; leave() (or the destructor) returns the
// thread to the namespaces it had. Single-threaded use: setns affects the calling thread.
class ParentJoins {
public:
    static Result<ParentJoins> enter(std::vector<std::pair<int, std::string>> const& joins);
    ParentJoins() = default;
    ParentJoins(ParentJoins&&) = default;
    ParentJoins& operator=(ParentJoins&&) = delete;
    ~ParentJoins() { leave(); }
    void leave();

private:
    std::vector<std::pair<int, Fd>> m_previous; // (type, our own namespace), in join order
};

struct InitConfig {
    NamespacePlan const* namespaces { nullptr };
    // The init moves itself into its cgroup first thing (cheaper than the parent writing
    // its pid, see cgroup::JoinHandles); on cgroup2 clone3 already put it there.
    cgroup::JoinHandles const* cgroup_join { nullptr };
    bool cloned_into_cgroup { false };
    // Only a new user namespace needs the parent between clone and setup (id maps).
    bool wait_for_parent { false };
    std::vector<std::pair<int, Fd>> join_fds; // opened by the parent, in setns order
    rootfs::MountPlan const* mounts { nullptr };
    ProcessPlan const* process { nullptr };
    ExecImage* image { nullptr };
    std::optional<rootfs::SeccompProgram> seccomp;
    std::string hostname;
    std::string domainname;
    bool new_uts { false };
    std::vector<std::pair<std::string, std::string>> sysctl;
    bool has_runtime_hooks { false }; // prestart/createRuntime: ask the parent
    std::vector<oci::Hook> create_container_hooks;
    std::vector<oci::Hook> start_container_hooks;
    oci::State hook_state; // for the container's own hooks; pid and status set in the child
    Fd exec_fifo; // O_PATH; invalid in `run` (no start step to wait for)
    Fd console_socket; // connected; invalid without a terminal
    Fd trampoline;
    int passed_fds { 0 }; // LISTEN_FDS + --preserve-fds, starting at fd 3
    bool no_new_keyring { false };
    int lock_fd { -1 }; // the state lock: closed first thing in the child
    int cryo_pidfd { -1 }; // Park: a pidfd the restore engine takes files through (kept open)
};

// What the container's first process does once it is set up: exec the user's process
// (create, run), or park in pause() as pid 1 for the checkpoint engine to rebuild the
// image's init in it (restore; it keeps root and every capability in its namespaces).
enum class FinalAction { Exec, Park };

// The container's first process, after clone: joins its cgroup and namespaces, prepares the
// rootfs, hostname, sysctls, console and keyring, then (Exec) applies the process's
// attributes and execs, or (Park) waits. Reports errors over the channel; never returns.
[[noreturn]] void run_container_process(InitConfig& config, SyncChannel& channel, FinalAction action);
[[noreturn]] inline void run_init(InitConfig& config, SyncChannel& channel)
{
    run_container_process(config, channel, FinalAction::Exec);
}

} // namespace cryo::runtime
