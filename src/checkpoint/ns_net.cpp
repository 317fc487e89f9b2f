// Dump and restore of net namespaces (see checkpoint/ns_state.h). Work in progress: the entry
// points exist so that callers link; they refuse clearly until implemented.
#include "checkpoint/ns_state.h"

namespace cryo::checkpoint {

Result<void> dump_net_namespace(int pid, std::string const&)
{
    return Error::format("dump net namespace of {}: not implemented yet", pid);
}

Result<void> restore_net_namespace(int pid, std::string const&)
{
    return Error::format("restore net namespace of {}: not implemented yet", pid);
}

} // namespace cryo::checkpoint
