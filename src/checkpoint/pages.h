// Page contents of private memory, dump and restore side. Dump selects pages with pagemap
// (present or swapped; for private file mappings only the pages the process wrote, which
// are anonymous copies) and streams them into the page file; the page runs are the index.
// Restore streams the page file back with process_vm_writev into areas mapped writable.
#pragma once

#include <cstdint>
#include <vector>

#include "base/error.h"
#include "checkpoint/image.h"
#include "checkpoint/model.h"

namespace cryo::checkpoint {

// Pure: which pages of an area go into the image, from its pagemap entries.
std::vector<PageRun> select_pages(MemoryArea const& area, std::vector<uint64_t> const& pagemap);

Result<std::vector<PageRun>> dump_pages(int pid, std::vector<MemoryArea> const& areas, FileSink& sink);
Result<void> restore_pages(int pid, std::vector<PageRun> const& runs, FileSource& source);

} // namespace cryo::checkpoint
