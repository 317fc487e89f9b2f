// Wrappers for cgroupfs directory walks: cgroup trees are directories of directories with
// control files beside them, and walking them must not stat every control file.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"

namespace cryo::sys {

// Names of the subdirectories of `path` (d_type, stat only where the fs reports
// DT_UNKNOWN). A missing directory is an ENOENT error, which callers may accept.
Result<std::vector<std::string>> list_subdirs(std::string const& path);

} // namespace cryo::sys
