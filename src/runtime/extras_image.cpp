// --image and --disk-limit: containers whose root is an overlay of image-store layers.
#include "runtime/extras.h"

namespace cryo::runtime {

Result<void> image_prepare_bundle(Context const&, Extras const& extras, ExtrasRun&)
{
    if (!extras.image.empty())
        return Error::make("--image: not supported yet");
    if (!extras.disk_limit.empty())
        return Error::make("--disk-limit: not supported yet");
    return {};
}

Result<void> image_amend_spec(Context const&, Extras const&, ExtrasRun const&, oci::Spec&) { return {}; }

void image_release(std::string const&) { }

} // namespace cryo::runtime
