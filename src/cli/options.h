// Flags to runtime option structs, one function per verb (each defined in that verb's file
// under cli/verbs/). Pure apart from reading files named by flags; unit-tested against the
// argv lines real clients send.
#pragma once

#include "base/error.h"
#include "cli/verb.h"
#include "oci/spec.h"
#include "runtime/api.h"

namespace cryo::cli {

// create, run (and restore): --bundle, --pid-file, --console-socket, --no-pivot,
// --no-new-keyring, --preserve-fds, --no-subreaper; --detach and --keep where the verb has
// them. Defined in verbs/create.cpp.
Result<runtime::CreateOptions> create_options(Invocation const& invocation);

// cryo's own flags of create and run (runtime/extras.h), spliced into both verbs' flag tables.
#define CRYO_EXTRA_CREATE_FLAGS                                                                                        \
    { .name = "image",                                                                                                 \
      .kind = FlagKind::Value,                                                                                         \
      .help = "root file system from this image of the store (no bundle rootfs needed)" },                             \
        { .name = "disk-limit",                                                                                        \
          .kind = FlagKind::Value,                                                                                     \
          .help = "limit the container's writable layer to SIZE (e.g. 1g)" },                                          \
        { .name = "init", .help = "run cryo-init as pid 1: it reaps orphans and forwards signals" },                   \
        { .name = "network", .kind = FlagKind::Value, .help = "none|host|bridge (default: as config.json says)" },     \
        { .name = "publish",                                                                                           \
          .alias = "p",                                                                                                \
          .kind = FlagKind::Value,                                                                                     \
          .help = "publish HOSTPORT:PORT[/tcp|udp] of a bridged container" },                                          \
        { .name = "memory", .alias = "m", .kind = FlagKind::Value, .help = "memory limit (e.g. 512m)" },               \
        { .name = "memory-swap", .kind = FlagKind::Value, .help = "memory plus swap limit, -1 for unlimited" },        \
        { .name = "cpus", .kind = FlagKind::Value, .help = "number of CPUs (quota, e.g. 1.5)" },                       \
        { .name = "cpu-shares", .kind = FlagKind::Value, .help = "relative CPU weight" },                              \
        { .name = "cpuset-cpus", .kind = FlagKind::Value, .help = "CPUs the container may run on (e.g. 0-1)" },        \
        { .name = "pids-limit", .kind = FlagKind::Value, .help = "maximum number of processes" },                      \
        { .name = "blkio-weight", .kind = FlagKind::Value, .help = "block IO weight (10-1000)" },                      \
        { .name = "device-read-bps", .kind = FlagKind::Value, .help = "DEVICE:RATE read limit (repeatable)" },         \
        { .name = "device-write-bps", .kind = FlagKind::Value, .help = "DEVICE:RATE write limit (repeatable)" },       \
        { .name = "device-read-iops", .kind = FlagKind::Value, .help = "DEVICE:IOPS read limit (repeatable)" },        \
        { .name = "device-write-iops", .kind = FlagKind::Value, .help = "DEVICE:IOPS write limit (repeatable)" },      \
    {                                                                                                                  \
        .name = "nofile", .kind = FlagKind::Value, .help = "open files per process (RLIMIT_NOFILE)"                    \
    }
// `--systemd-cgroup` needs a running systemd; checked by every verb that creates a cgroup.
Result<void> require_systemd_if_requested(runtime::Context const& context);

// verbs/restore.cpp: a container's restore (runc's flags, plus cryo's --network).
Result<runtime::ContainerRestoreOptions> restore_options(Invocation const& invocation);

// verbs/exec.cpp. process_json is the --process path (the runtime reads it).
Result<runtime::ExecOptions> exec_options(Invocation const& invocation);
// verbs/kill.cpp: `kill ID [SIGNAL]`, SIGTERM by default.
Result<runtime::KillOptions> kill_options(Invocation const& invocation);
// verbs/delete.cpp
Result<runtime::DeleteOptions> delete_options(Invocation const& invocation);
// verbs/events.cpp: --interval must be a positive Go duration.
Result<runtime::EventsOptions> events_options(Invocation const& invocation);
// verbs/update.cpp: runc's single-resource flags (--memory 512m, --cpu-quota ...) as an OCI
// linux.resources object; only the flags given are set.
Result<oci::Resources> update_flag_resources(ParsedArgs const& args);

// verbs/list.cpp: runc's table (ID PID STATUS BUNDLE CREATED OWNER, Go tabwriter layout)
// and a JSON array of {id, pid, status, bundle, created, owner}.
std::string list_table(std::vector<runtime::ContainerSummary> const& containers);
std::string list_json(std::vector<runtime::ContainerSummary> const& containers);

// verbs/ps.cpp: `ps` output reduced to its header and the lines whose PID column (found by
// name in the header, as runc does) is one of `pids`.
Result<std::string> filter_ps_output(std::string_view ps_output, std::vector<int> const& pids);

} // namespace cryo::cli
