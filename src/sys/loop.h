// Loop devices (loop(4)): attach a backing file to a free loop device with LOOP_CTL_GET_FREE +
// LOOP_CONFIGURE in one step. Every fd is O_CLOEXEC. With autoclear the device detaches
// itself when its last user (our fd, then a mount of it) goes away, so nothing has to
// remember to free it.
#pragma once

#include <string>

#include "base/error.h"
#include "base/fd.h"

namespace cryo::sys {

struct LoopDevice {
    Fd fd; // the open /dev/loopN; keeps the device bound while held
    std::string path; // "/dev/loopN"
};

struct LoopOptions {
    bool autoclear { true };
    bool read_only { false };
    bool direct_io { false };
};

// Binds `backing` (an open regular file) to a free loop device. A device another process
// grabs between GET_FREE and CONFIGURE (EBUSY) is skipped and another one asked for.
Result<LoopDevice> loop_attach(FdRef backing, LoopOptions const& options = {});

} // namespace cryo::sys
