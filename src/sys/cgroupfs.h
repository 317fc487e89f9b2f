// Wrappers for cgroupfs directory walks: cgroup trees are directories of directories with
// control files beside them, and walking them must not stat every control file.
#pragma once

#include <cstdint>
#include <linux/bpf.h>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/fd.h"

namespace cryo::sys {

// Names of the subdirectories of `path` (d_type, stat only where the fs reports
// DT_UNKNOWN). A missing directory is an ENOENT error, which callers may accept.
Result<std::vector<std::string>> list_subdirs(std::string const& path);

// cgroup v2 device control is an eBPF program of type BPF_PROG_TYPE_CGROUP_DEVICE attached
// to the cgroup directory (see Documentation/admin-guide/cgroup-v2.rst, "Device
// controller"). Loading fails with the verifier's log in the error.
Result<Fd> bpf_load_device_program(std::span<struct bpf_insn const> program);
// BPF_PROG_ATTACH with BPF_F_ALLOW_MULTI: programs of parent cgroups keep applying too.
Result<void> bpf_attach_device_program(FdRef cgroup_dir, FdRef program);
Result<void> bpf_detach_device_program(FdRef cgroup_dir, FdRef program);
// Ids of the device programs attached to the cgroup itself (not inherited ones).
Result<std::vector<uint32_t>> bpf_device_program_ids(FdRef cgroup_dir);
Result<Fd> bpf_program_by_id(uint32_t id);

} // namespace cryo::sys
