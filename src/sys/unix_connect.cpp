#include "sys/unix_connect.h"

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>

namespace cryo::sys {

Result<void> connect_unix_name(FdRef socket, std::string const& name)
{
    struct sockaddr_un address { };
    address.sun_family = AF_UNIX;
    if (name.empty() || name.size() > sizeof address.sun_path - (name[0] == '@' ? 0 : 1))
        return Error::format("unix socket name \"{}\" is empty or too long", name);
    std::memcpy(address.sun_path, name.data(), name.size());
    if (name[0] == '@')
        address.sun_path[0] = '\0'; // abstract: no trailing NUL, the length says where it ends
    auto length
        = static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + name.size() + (name[0] == '@' ? 0 : 1));
    for (;;) {
        // SAFETY: sockaddr_un is a sockaddr for the sockets API.
        if (::connect(socket.get(), reinterpret_cast<struct sockaddr*>(&address), length) == 0)
            return {};
        if (errno != EINTR)
            return Error::from_errno(fmt::format("connect to {}", name));
    }
}

} // namespace cryo::sys
