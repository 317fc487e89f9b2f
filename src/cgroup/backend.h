// Internal to cgroup/: the v1 and v2 backends and the cgroupfs helpers they share (apply a
// WritePlan, mkdir with rollback, leaf-first rmdir with EBUSY retry, recursive pid listing,
// polling with a deadline). Not included outside src/cgroup and its unit tests.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cgroup/manager.h"
#include "cgroup/plan.h"

namespace cryo::cgroup::detail {

using Clock = std::chrono::steady_clock;

// How long destroy() waits for exiting processes to leave before it reports EBUSY.
inline constexpr std::chrono::milliseconds remove_timeout { 2000 };

// Resolves a Write's controller to the cgroup directory it goes to.
using DirOf = std::function<Result<std::string>(std::string const& controller)>;

// Applies a plan in order. Repeated writes to one file reuse one open fd (device rules,
// per-device throttles), and files with no write in the plan are never opened.
Result<void> apply_plan(WritePlan const& plan, DirOf const& dir_of);

// mkdir `dir` and any missing parent below `root`; appends what it created, top down.
Result<void> make_dirs(std::string const& root, std::string const& dir, std::vector<std::string>& created);
// Best effort removal of dirs created by make_dirs, bottom up (rollback).
void remove_created(std::vector<std::string> const& created);

// rmdir of `dir` and every sub-cgroup in it, leaf first; on EBUSY (processes still
// leaving) retries with backoff until `deadline`. A missing dir is success.
Result<void> remove_tree(std::string const& dir, Clock::time_point deadline);
// Removes the shared parent of relative cgroup paths ("/cryo") under `mount_point` when the
// removed `path` lay in it and no other container is left there; a busy parent stays (and a
// concurrent create recreates it: make_dirs retries a vanished parent).
void remove_relative_parent_if_empty(std::string const& mount_point, std::string const& path);

// Appends the pids in `dir`/cgroup.procs and in every sub-cgroup.
Result<void> collect_pids(std::string const& dir, std::vector<pid_t>& out);
// Sends `signal` to each pid; pids that already exited are fine.
Result<void> signal_pids(std::vector<pid_t> const& pids, int signal);

// Calls `done` until it yields true or the deadline passes (then yields false). Backs off
// from 50us to 10ms between calls, so a quick freeze costs one or two reads.
Result<bool> poll_until(std::function<Result<bool>()> const& done, std::chrono::milliseconds timeout);

// Reads a file; nullopt when it does not exist (a controller or kernel feature missing).
Result<std::optional<std::string>> read_if_exists(std::string const& path);
// Writes one value; the error names the value and the file.
Result<void> write_value(std::string const& path, std::string_view value);

// Enables `controllers` for the children of every cgroup from `root` down to the parent
// of `dir` (v2 cgroup.subtree_control), limited to what each level offers.
Result<void> enable_v2_controllers(std::string const& root, std::string const& dir,
                                   std::vector<std::string> const& controllers);

// Fills v2-format hugetlb stats from a cgroup2 directory (hybrid hosts use it too).
Result<void> read_v2_hugetlb_stats(std::string const& dir, Stats& stats);

std::unique_ptr<Manager> make_v1(std::string path, std::vector<Hierarchy> hierarchies);
std::unique_ptr<Manager> make_v2(std::string path, Hierarchy root);

} // namespace cryo::cgroup::detail
