// Test driver of checkpoint/ns_state.h (tests/cr/ns_ipc.sh, tests/cr/ns_net.sh):
//   ns_state_driver {dump|restore}-{ipc|net} PID DIR
// Prints nothing on success; the error as one line on stderr otherwise (exit 1).
#include <cstdio>
#include <cstdlib>
#include <string>

#include "checkpoint/ns_state.h"

using namespace cryo;

int main(int argc, char** argv)
{
    if (argc != 4) {
        std::fprintf(stderr, "usage: ns_state_driver {dump|restore}-{ipc|net} PID DIR\n");
        return 2;
    }
    std::string verb = argv[1];
    int pid = std::atoi(argv[2]);
    std::string dir = argv[3];
    Result<void> result = Error::format("unknown verb {}", verb);
    if (verb == "dump-ipc")
        result = checkpoint::dump_ipc_namespace(pid, dir);
    else if (verb == "restore-ipc")
        result = checkpoint::restore_ipc_namespace(pid, dir);
    else if (verb == "dump-net")
        result = checkpoint::dump_net_namespace(pid, dir);
    else if (verb == "restore-net")
        result = checkpoint::restore_net_namespace(pid, dir);
    if (!result) {
        std::fprintf(stderr, "ns_state_driver: %s\n", result.error().message().c_str());
        return 1;
    }
    return 0;
}
