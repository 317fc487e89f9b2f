// Access to another process's memory: process_vm_readv/writev (batched iovecs), /proc/PID/mem
// for pages the vm_* calls refuse (PROT_NONE, read-only targets), and /proc/PID/pagemap
// entries. The remote process must be stopped by the caller for a consistent view.
#pragma once

#include <cstdint>
#include <span>
#include <sys/types.h>
#include <sys/uio.h>
#include <vector>

#include "base/error.h"
#include "base/fd.h"

namespace cryo::sys {

inline constexpr uint64_t kPageSize = 4096;
// A PMD-mapped (transparent huge) page, and the folio size ext4 caches a 2 MiB write as.
inline constexpr uint64_t kHugePageSize = 2 << 20;

// pagemap entry bits, see Documentation/admin-guide/mm/pagemap.rst.
inline constexpr uint64_t kPagemapPresent = 1ULL << 63;
inline constexpr uint64_t kPagemapSwapped = 1ULL << 62;
inline constexpr uint64_t kPagemapFileOrShared = 1ULL << 61;
inline constexpr uint64_t kPagemapExclusive = 1ULL << 56;

// One contiguous remote range and where it goes locally.
struct RemoteCopy {
    void* local;
    uint64_t remote;
    size_t size;
};

// Copies every range fully (loops over partial transfers, batches of IOV_MAX); fails naming
// the first range that could not be copied.
Result<void> process_vm_read(pid_t pid, std::span<RemoteCopy const> copies);
Result<void> process_vm_write(pid_t pid, std::span<RemoteCopy const> copies);
// Reads/writes one range through /proc/PID/mem (works on PROT_NONE and read-only pages).
Result<void> proc_mem_read(FdRef mem, uint64_t remote, void* local, size_t size);
Result<void> proc_mem_write(FdRef mem, uint64_t remote, void const* local, size_t size);

// One 64-bit pagemap entry per page of [start, start + pages * 4096).
Result<std::vector<uint64_t>> read_pagemap(FdRef pagemap, uint64_t start, size_t pages);

} // namespace cryo::sys
