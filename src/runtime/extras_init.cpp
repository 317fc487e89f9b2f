// --init: cryo-init runs as the container's pid 1, the user's process under it.
#include "runtime/extras.h"

namespace cryo::runtime {

Result<void> init_amend_spec(Context const&, Extras const& extras, ExtrasRun const&, oci::Spec&)
{
    if (extras.init)
        return Error::make("--init: not supported yet");
    return {};
}

void init_release(std::string const&) { }

} // namespace cryo::runtime
