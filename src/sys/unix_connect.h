// connect(2) of an existing unix socket to a name in the form sock_diag reports it: "/path"
// or "@abstract" (as sys::bind_unix takes it). Used to reconnect a socket whose peer lived
// outside a restored tree (dump --ext-unix-sk).
#pragma once

#include <string>

#include "base/error.h"
#include "base/fd.h"

namespace cryo::sys {

Result<void> connect_unix_name(FdRef socket, std::string const& name);

} // namespace cryo::sys
