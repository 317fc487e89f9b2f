// Pure helpers behind the query and control verbs (ops_query.cpp: list, pids; ops_control.cpp:
// pause, resume, update, events), exposed for unit tests and for code that needs the same
// data (checkpoint reads the updated resources). No system calls except where noted.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "cgroup/stats.h"
#include "oci/spec.h"
#include "runtime/api.h"
#include "runtime/state_store.h"

namespace cryo::runtime {

// One `list` row from a container's saved state and live status.
ContainerSummary summarize(SavedState const& state, Status live_status);

// runc's types.Stats JSON (libcontainer/events types): cpu, memory, pids, blkio, hugetlb,
// with runc's key names and omitempty rules, so tools that read `runc events` read ours.
std::string stats_json(cgroup::Stats const& stats);
// {"type":"stats","id":"<id>","data":<stats_json>}
std::string stats_event_json(std::string_view id, cgroup::Stats const& stats);
// {"type":"oom","id":"<id>"}
std::string oom_event_json(std::string_view id);

// Applies an update on top of `base`: every value the update names replaces the base's;
// lists the update names (devices, throttle lists, priorities) replace the base's lists;
// hugepage limits merge by page size; maps merge by key.
void merge_resources(oci::Resources& base, oci::Resources const& update);

// <state dir>/resources.json: the container's resources as of its last `update` (its
// config.json's linux.resources merged with every update since). nullopt if never updated.
// Reads a file.
Result<std::optional<oci::Resources>> load_updated_resources(Container const& container);

} // namespace cryo::runtime
