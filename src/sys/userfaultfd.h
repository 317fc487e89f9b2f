// userfaultfd(2) ioctls on a context created inside another process (its memory is the one
// registered and filled): API handshake, register/unregister a range for missing-page
// handling, and UFFDIO_COPY, which allocates each page and copies into it in one step (no
// zero-fill first, as a fault through process_vm_writev does). The caller owns the fd.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/error.h"
#include "base/fd.h"

namespace cryo::sys {

Result<void> uffd_api(FdRef uffd);
Result<void> uffd_register_missing(FdRef uffd, uint64_t start, uint64_t size);
Result<void> uffd_unregister(FdRef uffd, uint64_t start, uint64_t size);
// Copies size bytes from local memory into [dst, dst + size) of the registered process,
// whose pages there must not exist yet (EEXIST otherwise). Retries partial copies and EAGAIN.
Result<void> uffd_copy(FdRef uffd, uint64_t dst, void const* local, size_t size);

} // namespace cryo::sys
