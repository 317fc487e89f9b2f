// CVE-2019-5736 guard. A process that runs cryo's code inside a container (the init before
// it execs, a process entering with exec) has /proc/self/exe pointing at the host's cryo
// binary. If the container's program is "#!/proc/self/exe" (or names it as ELF
// interpreter), execve would run the host binary inside the container, where another
// container process could open /proc/PID/exe and, once cryo exits, write through it.
// So the final execve goes through a trampoline: a ~100 byte static ELF in a sealed
// memfd that only calls execve(argv[1], argv + 2, envp). While the user's program is being
// exec'd, /proc/self/exe is that memfd (sealed: unwritable, and only a copy anyway).
// Processes that enter a container are also made non-dumpable first, so container
// processes cannot open their /proc/PID/exe before they exec (ptrace access check).
#pragma once

#include <span>

#include "base/error.h"
#include "base/fd.h"

namespace cryo::runtime {

// The trampoline's bytes (an x86-64 ELF executable).
std::span<unsigned char const> exec_trampoline_image();

// A sealed (write, grow, shrink, seal), CLOEXEC memfd holding the trampoline.
Result<Fd> make_exec_trampoline();

// Execs `path` with `argv` (argv[0] first, nullptr-terminated) and `envp` through the
// trampoline: `tramp_argv` must have room for argc + 3 pointers. Returns only on failure,
// with errno set. Allocation-free (runs in the child after clone).
void exec_via_trampoline(FdRef trampoline, char const* path, char* const* argv, char* const* envp,
                         char const** tramp_argv);

} // namespace cryo::runtime
