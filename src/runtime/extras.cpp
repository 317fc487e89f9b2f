// The order in which cryo's own container options are applied and undone (see extras.h).
#include "runtime/extras.h"

namespace cryo::runtime {

bool LimitFlags::any() const
{
    return memory || memory_swap || cpus || cpu_shares || cpuset_cpus || pids_limit || blkio_weight
        || !device_read_bps.empty() || !device_write_bps.empty() || !device_read_iops.empty()
        || !device_write_iops.empty() || nofile || memory_reservation || kernel_memory || kernel_memory_tcp
        || cpu_period || cpu_quota || cpu_rt_period || cpu_rt_runtime || cpuset_mems;
}

bool Extras::any() const
{
    return !image.empty() || !disk_limit.empty() || init || !network.empty() || !publish.empty() || limits.any();
}

Result<void> prepare_bundle(Context const& ctx, Extras const& extras, ExtrasRun& run)
{
    TRY(image_prepare_bundle(ctx, extras, run));
    return {};
}

Result<void> amend_spec(Context const& ctx, Extras const& extras, ExtrasRun const& run, oci::Spec& spec)
{
    // The image first (it owns root and mounts), then what adds to the process and namespaces.
    TRY(image_amend_spec(ctx, extras, run, spec));
    TRY(limits_amend_spec(ctx, extras, run, spec));
    TRY(init_amend_spec(ctx, extras, run, spec));
    TRY(network_amend_spec(ctx, extras, run, spec));
    return {};
}

void release_extras(std::string const& state_dir)
{
    network_release(state_dir);
    image_release(state_dir);
}

Result<void> checkpoint_extras(std::string const& state_dir, checkpoint::ImageWriter& writer)
{
    TRY(network_checkpoint(state_dir, writer));
    return {};
}

Result<void> restore_extras(checkpoint::ImageReader const& image, Extras const& asked, Extras& extras)
{
    TRY(network_restore(image, asked, extras));
    return {};
}

} // namespace cryo::runtime
