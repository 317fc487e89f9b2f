// seccomp(2) filter installation from a raw classic-BPF program.
#pragma once

#include <linux/filter.h>
#include <span>

#include "base/error.h"
#include "base/fd.h"

namespace cryo::sys {

// SECCOMP_SET_MODE_FILTER; returns the listener fd when flags has
// SECCOMP_FILTER_FLAG_NEW_LISTENER, an invalid Fd otherwise.
Result<Fd> seccomp_set_mode_filter(std::span<sock_filter const> filter, unsigned flags);

} // namespace cryo::sys
