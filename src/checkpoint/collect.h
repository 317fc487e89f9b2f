// Collecting one frozen process into the model (dump side, Linux-specific): ids, credentials,
// registers and xsave of every thread, memory areas, mm layout, signal actions (by remote
// rt_sigaction), rlimits, cwd/root/umask/comm, open files. Objects cryo cannot restore are
// refused here with one error naming them, before anything is written.
#pragma once

#include <string>

#include "base/error.h"
#include "checkpoint/freeze.h"
#include "checkpoint/model.h"

namespace cryo::checkpoint {

class SocketDefaults;

struct CollectOptions {
    // Test hook: fail at a named step (inject_failure == step) to prove that a failed dump
    // leaves the tree as it was. Steps: "signals" (while a scratch page is mapped in the process).
    std::string inject_failure;
};

// `socket_defaults`: what fresh sockets show, shared by every process of one dump
// (socket_options.h: one fresh socket per network namespace and kind for the whole tree).
Result<Process> collect_process(FrozenProcess& frozen, SocketDefaults& socket_defaults, CollectOptions const& options);

} // namespace cryo::checkpoint
