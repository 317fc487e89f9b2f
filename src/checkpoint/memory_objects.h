// Memory objects (memory_model.h), Linux side. Dump: an area that maps shared anonymous
// memory, a deleted file or a memfd is tied to one object per (device, inode), found through
// /proc/PID/map_files; once the tree is collected, objects get tree-wide ids and their data
// ranges are saved, read through the mapped file itself. Restore: each object is re-created
// once in cryo (shared anonymous memory as cryo's own shared mapping reopened through
// /proc/self/map_files, so every process maps the very same object) and handed to every area
// that maps it.
#pragma once

#include <map>

#include "base/error.h"
#include "base/fd.h"
#include "checkpoint/image.h"
#include "checkpoint/model.h"
#include "sys/procfs.h"

namespace cryo::checkpoint {

// Whether a maps entry needs a memory object (its contents are reachable by no path).
bool needs_memory_object(sys::MapsEntry const& m);
// Ties the area to the process's object for that file (process-local id until finished),
// creating it; sets area.kind and area.object.
Result<void> attach_memory_object(int pid, sys::MapsEntry const& m, MemoryArea& area, Process& process);
// Tree-wide ids (one per device and inode) and the saved contents of every object.
Result<void> finish_memory_objects(ProcessTree& tree, ImageWriter& image);

class MemoryObjects {
public:
    static Result<MemoryObjects> open(std::vector<Process> const& processes, ImageReader const& image);
    // An fd of object `id`, opened read-write, for mmap in a process.
    Result<Fd> reopen(uint32_t id) const;

private:
    std::map<uint32_t, Fd> m_fds;
};

} // namespace cryo::checkpoint
