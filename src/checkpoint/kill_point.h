// Test hook CRYO_TEST_KILL_AT=<phase> (test_hooks.h): cryo SIGKILLs itself when a dump reaches
// that phase, so tests can prove the tree runs on whatever moment cryo dies
// (tests/cr/cr_kill_dump.sh lists the phases).
#pragma once

#include <csignal>

#include "checkpoint/test_hooks.h"

namespace cryo::checkpoint {

inline void kill_point(char const* phase)
{
    if (auto const& wanted = test_hooks().kill_at; wanted && *wanted == phase)
        ::raise(SIGKILL);
}

} // namespace cryo::checkpoint
