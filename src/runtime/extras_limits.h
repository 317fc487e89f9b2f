// The resource flags of create/run and update as a pure rewrite of the spec: LimitFlags (as
// typed) -> linux.resources (fields the flags name override config.json's, the rest is kept) and
// process.rlimits (RLIMIT_NOFILE for --nofile). Unit-tested without devices or root: the
// device lookup (--device-*-bps/iops DEVICE:RATE) and the CPU count are passed in.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "base/error.h"
#include "runtime/extras.h"

namespace cryo::oci {
struct Spec;
}

namespace cryo::runtime {

struct DeviceNumber {
    int64_t major { 0 };
    int64_t minor { 0 };
};

// What the flags are applied to. A running container (`cryo update`) keeps the values the
// flags leave out, which are unknown here: checks that need the whole picture (--memory-swap
// without --memory) are left to the kernel.
enum class LimitTarget { NewContainer, RunningContainer };

struct LimitEnv {
    // A block device path -> its major:minor; errors name the path and reason.
    std::function<Result<DeviceNumber>(std::string const& path)> device_number;
    unsigned online_cpus { 1 }; // --cpus may not ask for more than there are
    LimitTarget target { LimitTarget::NewContainer };
};

// Rewrites `spec` for `flags`. Every error is one line naming the flag and value:
// "--memory 12q: not a size".
Result<void> apply_limit_flags(LimitFlags const& flags, LimitEnv const& env, oci::Spec& spec);

// --cpus N (a decimal number of CPUs, at most `online_cpus`) as microseconds of CFS quota
// per `period_us`; `update --cpus` shares it. Error: "--cpus abc: not a number of CPUs".
inline constexpr uint64_t default_cpu_period_us = 100'000; // docker's and podman's
Result<int64_t> cpus_to_quota(std::string const& text, uint64_t period_us, unsigned online_cpus);
// The CPUs online now (sysconf), at least 1.
unsigned online_cpus();

// The real lookup: stat(2) of `path`, which must be a block device.
Result<DeviceNumber> block_device_number(std::string const& path);

} // namespace cryo::runtime
