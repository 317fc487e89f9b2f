// How restore maps a process's memory areas, as plain data (restore.cpp applies it with one
// remote mmap per area): the protection each area is mapped with, whether it needs an mprotect
// once its pages are filled, and which file it maps. Invariant: an area whose pages the image
// holds is mapped writable (the fill writes it) and gets its own protection after the fill;
// every other area is mapped with its own protection at once, so it costs no remote mprotect.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "checkpoint/model.h"

namespace cryo::checkpoint {

// The file an area maps, as cryo opens it: one open (and, in the process, one fd) per key
// serves every area mapping that file with those flags.
struct AreaFileKey {
    uint32_t object { 0 }; // a memory object of the image (memory_objects.h), or 0: `path`
    std::string path;
    int open_flags { 0 }; // O_RDONLY or O_RDWR (a writable shared mapping)

    auto operator<=>(AreaFileKey const&) const = default;
};

struct AreaMapping {
    size_t area { 0 }; // index in Process::areas
    uint64_t prot { 0 }; // PROT_* for the mmap
    uint64_t flags { 0 }; // MAP_* for the mmap (MAP_FIXED always)
    std::optional<AreaFileKey> file; // none: anonymous memory
    bool protect_after_fill { false }; // mprotect to its own protection once filled
};

// PROT_* of an area as it was at the dump.
uint64_t area_prot(MemoryArea const& a);

// Whether any of `runs` (the process's page index) falls inside `a`.
bool area_has_pages(MemoryArea const& a, std::vector<PageRun> const& runs);

// One mapping per area of `p` that restore maps (not the vDSO, vvar, vvar_vclock or
// vsyscall, which the kernel provides), in the order of p.areas.
std::vector<AreaMapping> plan_area_mappings(Process const& p);

// The kernel's special mappings (vDSO, vvar, vvar_vclock) move from where the new process has
// them to where the dumped one had them, with one remote mremap each.
struct SpecialMove {
    uint64_t from { 0 };
    uint64_t size { 0 };
    uint64_t to { 0 };
};
// The mremaps that move each of `moves` to its place: directly when no destination touches
// any mapping's current place; otherwise each first to `parking` (a free range as large as
// all of them), then to its place, so that no move lands on a mapping not moved yet.
// Mappings already in place are not moved.
std::vector<SpecialMove> plan_special_moves(std::vector<SpecialMove> const& moves, uint64_t parking);

} // namespace cryo::checkpoint
