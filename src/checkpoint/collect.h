// Collecting one frozen process into the model (dump side, Linux-specific): ids, credentials,
// registers and xsave of every thread, memory areas, mm layout, signal actions (by remote
// rt_sigaction), rlimits, cwd/root/umask/comm, open files. Objects cryo cannot restore are
// refused here with one error naming them, before anything is written.
#pragma once

#include "base/error.h"
#include "checkpoint/freeze.h"
#include "checkpoint/model.h"

namespace cryo::checkpoint {

Result<Process> collect_process(FrozenProcess& frozen);

} // namespace cryo::checkpoint
