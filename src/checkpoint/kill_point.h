// Test hook, always compiled in (one getenv, cached): CRYO_TEST_KILL_AT=<phase> makes cryo
// SIGKILL itself when a dump reaches that phase, so tests can prove the tree runs on whatever
// moment cryo dies (tests/cr/cr_kill_dump.sh lists the phases).
#pragma once

#include <csignal>
#include <cstdlib>
#include <cstring>

namespace cryo::checkpoint {

inline void kill_point(char const* phase)
{
    static char const* const wanted = std::getenv("CRYO_TEST_KILL_AT");
    if (wanted && std::strcmp(wanted, phase) == 0)
        ::raise(SIGKILL);
}

} // namespace cryo::checkpoint
