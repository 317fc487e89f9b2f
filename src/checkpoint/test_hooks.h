// The checkpoint engine's test hooks: environment variables, always compiled in, read and parsed
// once per cryo process (the first time test_hooks() is called) and then constant. Every hook of
// the engine is listed here; a hook's value that does not parse is ignored, as if unset, with one
// warning naming it (a test that relies on a misspelt hook then fails on the hook's absence).
//
// Hooks of this layer (TestHooks below):
//   CRYO_PAGEMAP_SCAN=0            pages_plan.cpp: plan the pages to dump from pagemap entries
//                                  even where the kernel has PAGEMAP_SCAN (both are measured,
//                                  and must give the same plan). Users: cr_pagemap_scan.sh,
//                                  cr_guard.sh, bench/pagemap_scan.sh; unit pages_scan_test
//                                  switches it with TestHooksOverride.
//   CRYO_DUMP_SNAPSHOT=0           dump.cpp: --leave-running copies every page while frozen,
//                                  without write-protect snapshots. Users: cr_eintr.sh,
//                                  bench/cr.sh; documented in docs/checkpoint-engine.md.
//   CRYO_TEST_KILL_AT=PHASE        kill_point.h: cryo SIGKILLs itself when a dump reaches PHASE
//                                  (freeze, frozen, collected, copying, pages, scratch, thawed,
//                                  written: the kill_point() calls). Users: cr_kill_dump.sh,
//                                  cr_eintr.sh, cr_wp_snapshot.sh.
//   CRYO_TEST_SIGNAL_AT_RELEASE=N  syscall_reentry.cpp: a restore sends signal N (1..64) to each
//                                  process just released. User: cr_restart.sh.
//   CRYO_TEST_SNAPSHOT_HOLD=PATH   dump.cpp: after the thaw of a snapshot dump, creates
//                                  PATH.thawed and holds the copy until PATH.go exists (at most
//                                  kSnapshotHoldLimit). Users: cr_wp_snapshot.sh, cr_wp_futex.sh.
//   CRYO_TEST_SNAPSHOT_PROTECT_FUTEX=1  wp_snapshot.cpp: futex pages write-protected like the
//                                  others (negative control of cr_wp_futex.sh).
//   CRYO_TEST_SNAPSHOT_NO_PATCH=1  wp_snapshot.cpp: pages saved by the snapshot are not patched
//                                  into the image (negative control of cr_wp_snapshot.sh).
// Values: a switch (=0 / =1) takes "0" or "1"; a number is decimal; a phase or path is any
// non-empty string. Anything else is ignored with the warning.
//
// Elsewhere, because of the layer rule (sys and runtime cannot include checkpoint):
//   CRYO_TEST_KILL_TRACEE=NR[:PID]      sys/test_hooks.h (cr_kill_tracee.sh).
//   CRYO_TEST_CHECKPOINT_FAILURE=STEP   runtime/checkpoint.cpp (cr_container_errors.sh).
// Not a hook: CRYO_NO_PROGRESS (progress.h), the user's switch for the progress bar.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace cryo::checkpoint {

// How long CRYO_TEST_SNAPSHOT_HOLD holds at most, so that a test that never creates PATH.go
// does not hang the dump.
inline constexpr std::chrono::milliseconds kSnapshotHoldLimit { 5000 };

// Defaults are the hooks unset: production behaviour.
struct TestHooks {
    bool pagemap_scan { true }; // CRYO_PAGEMAP_SCAN
    bool dump_snapshot { true }; // CRYO_DUMP_SNAPSHOT
    std::optional<std::string> kill_at {}; // CRYO_TEST_KILL_AT
    std::optional<int> signal_at_release {}; // CRYO_TEST_SIGNAL_AT_RELEASE
    std::optional<std::string> snapshot_hold {}; // CRYO_TEST_SNAPSHOT_HOLD
    bool snapshot_protect_futex { false }; // CRYO_TEST_SNAPSHOT_PROTECT_FUTEX
    bool snapshot_no_patch { false }; // CRYO_TEST_SNAPSHOT_NO_PATCH
};

struct ParsedTestHooks {
    TestHooks hooks;
    // One line per ignored variable: "ignoring CRYO_X=value: why".
    std::vector<std::string> warnings;
};

// Pure: the hooks from `lookup` (getenv's contract: nullptr for an unset variable).
ParsedTestHooks parse_test_hooks(std::function<char const*(char const*)> const& lookup);

// The hooks of this process: the environment parsed on the first call (which logs the
// warnings), or the innermost TestHooksOverride alive.
TestHooks const& test_hooks();

// For unit tests, which switch hooks within one process: test_hooks() returns `hooks` while
// this lives. Not for concurrent use with a dump running on another thread.
class TestHooksOverride {
public:
    explicit TestHooksOverride(TestHooks hooks);
    ~TestHooksOverride();
    TestHooksOverride(TestHooksOverride const&) = delete;
    TestHooksOverride& operator=(TestHooksOverride const&) = delete;

private:
    TestHooks m_hooks;
    TestHooks const* m_previous;
};

} // namespace cryo::checkpoint
