// The model of memory objects: what several memory areas (in one process or in many) map
// and whose contents the image must carry because no path reaches them after the dump:
// shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS, inherited over fork), files deleted
// while mapped, memfds. Invariants: ids are unique in a tree and the copies of one object in
// several processes are identical; `extents` are sorted, disjoint and within `size`; their
// bytes are stored back to back in the image file memory_object_data_name(id).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cryo::checkpoint {

enum class MemoryObjectKind {
    SharedAnonymous, // re-created as shared anonymous memory (maps shows /dev/zero (deleted))
    DeletedFile, // re-created at its old path and unlinked at once
    Memfd, // re-created with memfd_create under its old name, seals applied last
};

struct MemoryExtent {
    uint64_t offset { 0 };
    uint64_t length { 0 };

    bool operator==(MemoryExtent const&) const = default;
};

struct MemoryObject {
    uint32_t id { 0 };
    MemoryObjectKind kind { MemoryObjectKind::SharedAnonymous };
    std::string path; // DeletedFile: its path; Memfd: its name (without "memfd:")
    uint64_t size { 0 }; // object (file) size in bytes
    uint32_t mode { 0600 };
    uint32_t uid { 0 };
    uint32_t gid { 0 };
    uint32_t seals { 0 }; // Memfd: F_GET_SEALS
    std::vector<MemoryExtent> extents; // data ranges saved (holes read back as zeros)
    // Identity at dump time (st_dev, st_ino of the mapped file), to find the same object in
    // other processes; not needed to restore.
    uint64_t dev { 0 };
    uint64_t inode { 0 };

    uint64_t saved_bytes() const
    {
        uint64_t n = 0;
        for (auto const& e : extents)
            n += e.length;
        return n;
    }
    bool operator==(MemoryObject const&) const = default;
};

// Pages of a memory area made guards with madvise(MADV_GUARD_INSTALL) (Linux 6.13): no page
// data, a fault on any access; the kernel keeps them as page table markers, not as a VMA, so
// maps does not show them. [start, end), page aligned, inside its area; an area's list is
// sorted and disjoint.
struct GuardRange {
    uint64_t start { 0 };
    uint64_t end { 0 };

    bool operator==(GuardRange const&) const = default;
};

char const* to_string(MemoryObjectKind kind);
bool memory_object_kind_from_string(std::string const& text, MemoryObjectKind& kind);
// The image file holding the saved contents of memory object `id`.
std::string memory_object_data_name(uint32_t id);

} // namespace cryo::checkpoint
