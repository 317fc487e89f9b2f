// cgroup v2 device rules as an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE), built as plain
// data so it is unit-tested without privilege. Semantics match v1's devices.allow/deny
// applied in order: each access bit (r, w, m) of a request is decided by the last rule
// that matches the device and names that bit; bits no rule decides are allowed (a v1
// cgroup starts from its parent's allow-all). A request passes only if all its bits do.
#pragma once

#include <linux/bpf.h>
#include <vector>

#include "base/error.h"
#include "cgroup/resources.h"

namespace cryo::cgroup {

// Straight-line code with forward jumps only: the rules are walked last to first, each a
// few instructions, so the verifier's work stays linear in the number of rules.
Result<std::vector<struct bpf_insn>> device_program(std::vector<DeviceRule> const& rules);

} // namespace cryo::cgroup
