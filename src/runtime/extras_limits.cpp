// The resource flags of create/run (--memory, --cpus, --pids-limit, ...) into linux.resources.
#include "runtime/extras.h"

namespace cryo::runtime {

Result<void> limits_amend_spec(Context const&, Extras const& extras, ExtrasRun const&, oci::Spec&)
{
    if (extras.limits.any())
        return Error::make("resource flags (--memory, --cpus, --pids-limit, ...): not supported yet");
    return {};
}

} // namespace cryo::runtime
