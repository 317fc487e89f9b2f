#include "sys/unix_connect.h"

#include "sys/file_kinds.h"

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>

namespace cryo::sys {

Result<void> connect_unix_name(FdRef socket, std::string const& name)
{
    auto [address, length] = TRY(unix_address(name));
    for (;;) {
        // SAFETY: sockaddr_un is a sockaddr for the sockets API.
        if (::connect(socket.get(), reinterpret_cast<struct sockaddr*>(&address), length) == 0)
            return {};
        if (errno != EINTR)
            return Error::from_errno(fmt::format("connect to {}", name));
    }
}

} // namespace cryo::sys
