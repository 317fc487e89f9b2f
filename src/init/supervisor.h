// cryo-init's system-container mode: starts the services of a service file in order,
// restarts them by policy with backoff, reaps every orphan, and on SIGTERM (or SIGINT,
// SIGPWR) stops them in reverse order, each with its stop signal and SIGKILL after its
// timeout. Returns the init's exit code.
#pragma once

#include <csignal>
#include <vector>

#include "init/services.h"

namespace cryo::init {

int supervise(std::vector<ServiceSpec> const& services, sigset_t const& signals);

} // namespace cryo::init
