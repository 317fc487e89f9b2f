// Pure helpers of runtime::top (top.cpp): reading user names out of a container's
// /etc/passwd and making a command line printable. Unit-tested in tests/unit/runtime.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace cryo::runtime {

// uid -> name from passwd(5) text; malformed lines are skipped, the first name of a uid wins.
std::map<uint32_t, std::string> parse_passwd(std::string_view text);

// /proc/PID/cmdline (NUL-separated) as one line: NULs become spaces, trailing NULs go,
// control characters become '?'. Empty (a zombie, a kernel-style thread): "[comm]".
std::string command_line(std::string_view cmdline, std::string_view comm);

} // namespace cryo::runtime
