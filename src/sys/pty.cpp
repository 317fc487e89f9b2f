#include "sys/pty.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>

#include "sys/file.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

namespace cryo::sys {

Result<Fd> open_pty_master(std::string const& ptmx)
{
    auto master = TRY(open(ptmx, O_RDWR | O_NOCTTY));
    int unlock = 0;
    if (::ioctl(master.get(), TIOCSPTLCK, &unlock) < 0)
        return Error::from_errno("unlock pty");
    return master;
}

Result<Fd> open_pty_peer(FdRef master)
{
    int fd = ::ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return Error::from_errno("open pty peer");
    return Fd(fd);
}

Result<std::string> pty_name(FdRef master)
{
    unsigned number = 0;
    if (::ioctl(master.get(), TIOCGPTN, &number) < 0)
        return Error::from_errno("TIOCGPTN");
    return fmt::format("/dev/pts/{}", number);
}

Result<void> set_controlling_terminal(FdRef tty)
{
    if (::ioctl(tty.get(), TIOCSCTTY, 0) < 0)
        return Error::from_errno("set controlling terminal");
    return {};
}

Result<void> set_window_size(FdRef tty, uint16_t rows, uint16_t columns)
{
    winsize ws {};
    ws.ws_row = rows;
    ws.ws_col = columns;
    if (::ioctl(tty.get(), TIOCSWINSZ, &ws) < 0)
        return Error::from_errno("set window size");
    return {};
}

Result<void> window_size(FdRef tty, uint16_t& rows, uint16_t& columns)
{
    winsize ws {};
    if (::ioctl(tty.get(), TIOCGWINSZ, &ws) < 0)
        return Error::from_errno("get window size");
    rows = ws.ws_row;
    columns = ws.ws_col;
    return {};
}

} // namespace cryo::sys
