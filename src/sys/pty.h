// Pseudo-terminals: open a master on a given ptmx, unlock it, open its peer (the slave)
// through TIOCGPTPEER so no path lookup can be redirected, make a tty the controlling
// terminal, set the window size.
#pragma once

#include <cstdint>
#include <string>

#include "base/error.h"
#include "base/fd.h"

namespace cryo::sys {

// Opens `ptmx` (e.g. "/dev/ptmx" inside the container after pivot_root) O_RDWR|O_NOCTTY
// and unlocks the new pty.
Result<Fd> open_pty_master(std::string const& ptmx);
// The slave of `master`, O_RDWR|O_NOCTTY (TIOCGPTPEER).
Result<Fd> open_pty_peer(FdRef master);
// Path of the slave in the devpts the master came from ("/dev/pts/3"), for /dev/console.
Result<std::string> pty_name(FdRef master);
// TIOCSCTTY: the tty becomes the calling session leader's controlling terminal.
Result<void> set_controlling_terminal(FdRef tty);
Result<void> set_window_size(FdRef tty, uint16_t rows, uint16_t columns);
Result<void> window_size(FdRef tty, uint16_t& rows, uint16_t& columns);

} // namespace cryo::sys
