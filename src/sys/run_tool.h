// Runs a host tool (iptables) with its standard output and error captured together, so a
// failure becomes one error line carrying the tool's own words instead of text on our stderr.
// The child gets /dev/null as stdin and no other fd of ours (every fd we hold is CLOEXEC).
#pragma once

#include <string>
#include <vector>

#include "base/error.h"

namespace cryo::sys {

struct ToolResult {
    int exit_code { 0 };
    std::string output; // stdout and stderr interleaved
};

// argv[0] is looked up in PATH, then in /usr/sbin and /sbin (root's tools, often not in a
// service's PATH). An error only when the tool cannot be started or waited for.
Result<ToolResult> run_tool(std::vector<std::string> const& argv);
// Where argv0 would be found by run_tool, if anywhere.
std::string find_tool(std::string const& name);

} // namespace cryo::sys
