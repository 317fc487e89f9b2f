// userfaultfd(2) ioctls on a context created inside another process (its memory is the one
// registered and filled): API handshake, register/unregister a range for missing-page
// handling, and UFFDIO_COPY, which allocates each page and copies into it in one step (no
// zero-fill first, as a fault through process_vm_writev does). The caller owns the fd.
// Write-protect side (dump snapshots): register a range in WP mode, protect/unprotect page
// ranges, wake waiters, and read fault and event messages as plain data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/error.h"
#include "base/fd.h"

namespace cryo::sys {

Result<void> uffd_api(FdRef uffd);
Result<void> uffd_register_missing(FdRef uffd, uint64_t start, uint64_t size);
Result<void> uffd_unregister(FdRef uffd, uint64_t start, uint64_t size);
// Copies size bytes from local memory into [dst, dst + size) of the registered process,
// whose pages there must not exist yet (EEXIST otherwise). Retries partial copies and EAGAIN.
Result<void> uffd_copy(FdRef uffd, uint64_t dst, void const* local, size_t size);

// UFFDIO_API asking for `features` (UFFD_FEATURE_* bits); returns the features the kernel
// reports (a superset: it adds the ones always on, such as UFFD_FEATURE_PAGEFAULT_FLAG_WP).
Result<uint64_t> uffd_api_features(FdRef uffd, uint64_t features);
// Registers [start, start + size) for write-protect faults (UFFDIO_REGISTER_MODE_WP).
Result<void> uffd_register_wp(FdRef uffd, uint64_t start, uint64_t size);
// UFFDIO_WRITEPROTECT: protect (no wake) or unprotect, which wakes the threads waiting on a
// fault in the range. EAGAIN (the process is changing its mappings and an event is pending
// on the fd) is returned as an errno error: read the events, then retry.
Result<void> uffd_writeprotect(FdRef uffd, uint64_t start, uint64_t size, bool protect);
// UFFDIO_WAKE: wakes the threads waiting on a fault in the range.
Result<void> uffd_wake(FdRef uffd, uint64_t start, uint64_t size);

// One message read from a userfaultfd.
struct UffdEvent {
    enum class Kind { WriteFault, Fault, Remove, Unmap, Remap, Other };
    Kind kind { Kind::Other };
    uint64_t address { 0 }; // faults: the page; remove/unmap: start; remap: from
    uint64_t end { 0 }; // remove/unmap: end; remap: from + len
};
// Reads the messages waiting on a non-blocking userfaultfd into `out` (cleared first); none
// waiting is not an error (out stays empty).
Result<void> uffd_read_events(FdRef uffd, std::vector<UffdEvent>& out);

} // namespace cryo::sys
