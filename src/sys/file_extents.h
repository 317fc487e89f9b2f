// Data ranges of a file (lseek SEEK_DATA / SEEK_HOLE), so holes (never-written pages of
// shared memory, sparse files) are neither read nor stored. Falls back to one range covering
// the whole file where the filesystem does not tell.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/fd.h"

namespace cryo::sys {

// [offset, length) ranges holding data within the first `size` bytes, sorted, disjoint.
Result<std::vector<std::pair<uint64_t, uint64_t>>> data_extents(FdRef fd, uint64_t size);

} // namespace cryo::sys
