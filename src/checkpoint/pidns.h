// Pids as the tree's own pid namespace sees them. A dump records, for every process and
// thread, its id in the innermost pid namespace (NSpid in /proc/PID/status, last entry); a
// container restore re-creates each task with that id inside a new pid namespace, where
// the host pids of the dump mean nothing. Bare trees in cryo's own namespace map to
// themselves. Invariant: the map holds every pid and tid of the image's processes.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "base/error.h"
#include "checkpoint/model.h"

namespace cryo::checkpoint {

inline constexpr char kNsPidsName[] = "ns_pids.json";

struct NsPids {
    std::map<int, int> inner; // pid or tid at dump (cryo's view) -> id in its own pid namespace
    // Id of a pid or tid, or 0 when the image does not name it (a parent outside the tree).
    int of(int pid) const
    {
        auto it = inner.find(pid);
        return it == inner.end() ? 0 : it->second;
    }
};

// Reads NSpid of every process and thread of the (frozen) tree.
Result<NsPids> collect_ns_pids(ProcessTree const& tree);

// Pure codec (unit-tested).
std::string encode_ns_pids(NsPids const& pids);
Result<NsPids> decode_ns_pids(std::string_view text);

// Rewrites the ids of `processes` (pid, ppid, pgid, sid, thread ids) to their ids in their
// own pid namespace. An id the map lacks (a parent, group or session outside the tree)
// becomes 0. Error if a process or thread of the image is missing from the map.
Result<void> to_namespace_ids(std::vector<Process>& processes, NsPids const& pids);

// A shell job (CRIU's term): a process of the tree in a process group or session whose
// leader is not in the tree, like a command started by an interactive shell. Such a tree
// is refused unless `shell_job` (dump --shell-job); a restore then puts those processes in
// the restoring caller's group and session, as CRIU's restore --shell-job does. Pure
// (unit-tested): names the first such process, its group or session and the leader.
Result<void> check_shell_job(std::vector<Process> const& processes, bool shell_job);

} // namespace cryo::checkpoint
