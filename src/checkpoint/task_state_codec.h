// JSON encoding, inside the process metadata (codec.cpp), of the state in task_model.h and
// memory_model.h: key "task" of the process and of each thread, "memory_objects", and
// "object" of the areas that map one. Every key is optional and defaults (older images
// decode unchanged). Only codec.cpp includes this (it pulls in nlohmann's declarations).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "base/error.h"
#include "checkpoint/model.h"

namespace cryo::checkpoint {

// Adds the keys to j, which already holds "threads" and "areas" in the model's order.
void encode_task_state(Process const& process, nlohmann::json& j);
// Reads them back (threads and areas already decoded) and checks references: every area's
// object exists, siginfo sizes. nlohmann type errors propagate as exceptions.
Result<void> decode_task_state(nlohmann::json const& j, Process& process);
// "flock", "posix", "ofd".
char const* lock_kind_name(LockKind kind);

} // namespace cryo::checkpoint
