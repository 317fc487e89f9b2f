// The sys layer's test hook, parsed once per process: CRYO_TEST_KILL_TRACEE=NR[:PID] SIGKILLs
// the tracee's process (PID's only, if given) from its entry stop of remote syscall NR, so that
// tests/cr/cr_kill_tracee.sh can prove a tracee killed under cryo's hands fails the dump at once
// instead of hanging it. It lives here, not with the engine's hooks (checkpoint/test_hooks.h,
// which lists every hook), because sys cannot include checkpoint. A value that does not parse
// is ignored, as if unset, with one warning.
#pragma once

#include <optional>
#include <string>
#include <sys/types.h>

namespace cryo::sys {

struct KillTraceeHook {
    long syscall { 0 };
    std::optional<pid_t> pid {}; // none: whichever process runs syscall NR

    bool operator==(KillTraceeHook const&) const = default;
    bool matches(long number, pid_t tgid) const { return number == syscall && (!pid || *pid == tgid); }
};

struct ParsedKillTracee {
    std::optional<KillTraceeHook> hook;
    std::string warning; // empty unless the value was ignored
};

// Pure: `value` is the variable's (nullptr: unset). NR is a syscall number (0 and up), PID a pid
// (1 and up), both decimal.
ParsedKillTracee parse_kill_tracee(char const* value);

// The hook of this process: CRYO_TEST_KILL_TRACEE parsed on the first call, which logs the warning.
std::optional<KillTraceeHook> const& kill_tracee_hook();

} // namespace cryo::sys
