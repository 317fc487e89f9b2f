// OCI container state (what `runc state` prints and what hooks read on stdin), as a plain
// struct. state_to_json keeps runc's field order so tools that diff outputs stay happy.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "base/error.h"

namespace cryo::oci {

struct State {
    std::string oci_version {};
    std::string id {};
    std::string status {}; // "creating", "created", "running", "paused", "stopped"
    int pid { 0 }; // 0 when there is no process (stopped)
    std::string bundle {}; // absolute path
    std::map<std::string, std::string> annotations {};
    // runc's extras (absent from the hook state; empty when parsed from one).
    std::string rootfs {}; // absolute path
    std::string created {}; // RFC 3339 with nanoseconds, UTC: "2026-11-27T20:24:27.123456789Z"
    std::string owner {}; // "" unless rootless
    bool operator==(State const&) const = default;
};

// runc's `state` output: ociVersion, id, pid, status, bundle, rootfs, created, annotations
// (omitted when empty), owner; 2-space indent.
std::string state_to_json(State const& state);
// The state passed to hooks on stdin (spec fields only, compact): ociVersion, id, status,
// pid (omitted when 0), bundle, annotations (omitted when empty).
std::string hook_state_to_json(State const& state);
// Accepts both shapes. Errors: "state: <path>: <reason>".
Result<State> parse_state(std::string_view json);

// Formats a CLOCK_REALTIME instant as RFC 3339 in UTC with nanoseconds (runc's "created").
std::string format_rfc3339_nano(int64_t seconds, long nanoseconds);

} // namespace cryo::oci
