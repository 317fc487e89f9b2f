// OCI hooks: each runs as a child of the caller with the container state JSON on stdin,
// its path, args and env from the spec, and an optional timeout (the hook is killed when it
// expires). Output (stdout and stderr together) is captured and, on failure, its first line
// goes into the error so the user sees why ("hook /x: exited with status 1: no network").
#pragma once

#include <span>
#include <string_view>

#include "base/error.h"
#include "oci/spec.h"

namespace cryo::runtime {

Result<void> run_hook(oci::Hook const& hook, std::string_view state_json);
// Runs `hooks` in order; the first failure stops and names the phase ("createRuntime hook 1").
Result<void> run_hooks(std::span<oci::Hook const> hooks, std::string_view phase, std::string_view state_json);
// As run_hooks, but failures are logged as warnings and every hook runs (poststart, poststop).
void run_hooks_warn(std::span<oci::Hook const> hooks, std::string_view phase, std::string_view state_json);

} // namespace cryo::runtime
