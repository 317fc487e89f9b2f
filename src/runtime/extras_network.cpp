// --network none|host|bridge and --publish.
#include "runtime/extras.h"

namespace cryo::runtime {

Result<void> network_amend_spec(Context const&, Extras const& extras, ExtrasRun const&, oci::Spec&)
{
    if (!extras.network.empty())
        return Error::format("--network {}: not supported yet", extras.network);
    if (!extras.publish.empty())
        return Error::make("--publish: not supported yet");
    return {};
}

void network_release(std::string const&) { }

} // namespace cryo::runtime
