// The parked init of a container restore (restore_init.cpp): set up like create's init,
// then it waits in pause() for the checkpoint engine to rebuild the image's init in it.
#pragma once

#include "runtime/init.h"
#include "runtime/sync.h"

namespace cryo::runtime {

// `cryo_pidfd`: a pidfd of the restoring cryo, kept open at its number (the engine takes it).
[[noreturn]] void run_restore_init(InitConfig& config, SyncChannel& channel, int cryo_pidfd);

} // namespace cryo::runtime
