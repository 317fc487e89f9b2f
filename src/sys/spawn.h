// Running a helper program and capturing its standard output (used by `cryo ps`, which
// formats `ps` output like runc). The child gets stdin and stderr of the caller and no other
// fd of ours (every fd we hold is CLOEXEC).
#pragma once

#include <string>
#include <vector>

#include "base/error.h"

namespace cryo::sys {

// Runs argv[0] (looked up in PATH) with argv and the current environment, waits, and
// returns its stdout. Errors: "run ps: No such file or directory", "ps exited with status 1".
Result<std::string> run_capture(std::vector<std::string> const& argv);

} // namespace cryo::sys
