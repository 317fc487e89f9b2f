// Dump and restore of SysV IPC namespaces (see checkpoint/ns_state.h). Work in progress: the
// entry points exist so that callers link; they refuse clearly until implemented.
#include "checkpoint/ns_state.h"

namespace cryo::checkpoint {

Result<void> dump_ipc_namespace(int pid, std::string const&)
{
    return Error::format("dump ipc namespace of {}: not implemented yet", pid);
}

Result<void> restore_ipc_namespace(int pid, std::string const&)
{
    return Error::format("restore ipc namespace of {}: not implemented yet", pid);
}

} // namespace cryo::checkpoint
