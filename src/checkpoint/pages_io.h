// Internal to the page dump and restore (pages.cpp, pages_restore.cpp): whole-buffer pread and
// pwrite on page files, and the two-thread worker loop both sides run their copies on.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "base/error.h"
#include "base/fd.h"

namespace cryo::checkpoint {

// Page copies and writes run on two threads: the machine's cores (more only contend).
inline constexpr unsigned kWorkers = 2;

Result<void> pwrite_all(FdRef fd, void const* data, size_t size, uint64_t offset);
// `name` names the file in errors; a short file is "truncated at byte N".
Result<void> pread_all(FdRef fd, void* data, size_t size, uint64_t offset, std::string const& name);

// Runs `work` on up to kWorkers threads (this one included), as many as there are `items`;
// returns the first error.
Result<void> run_workers(size_t items, std::function<Result<void>()> const& work);

} // namespace cryo::checkpoint
