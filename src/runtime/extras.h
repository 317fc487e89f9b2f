// cryo's own container options beyond an OCI bundle: --image, --disk-limit, --init,
// --network/--publish and the resource flags of create/run. Each option lives in its own file
// (extras_image.cpp, extras_init.cpp, extras_network.cpp, extras_limits.cpp) and plugs into
// launch at two points: before config.json is read (only --image: it writes a bundle) and
// after it is parsed (each rewrites the spec for its option). Whatever an option sets up
// outside the spec (an overlay mount, a veth, an address lease) it records under the
// container's state dir, so release_extras can undo it from that dir alone: on delete, and
// when a create fails half way. Release is idempotent and best effort.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/error.h"

namespace cryo::oci {
struct Spec;
}

namespace cryo::checkpoint {
class ImageReader;
class ImageWriter;
} // namespace cryo::checkpoint

namespace cryo::runtime {

struct Context;

// The resource flags of create/run (docker/podman names). Values are kept as typed by the
// user; extras_limits.cpp parses them into linux.resources (and rlimits for --nofile).
struct LimitFlags {
    std::optional<std::string> memory; // --memory 512m
    std::optional<std::string> memory_swap; // --memory-swap 1g (memory + swap), -1 = unlimited
    std::optional<std::string> cpus; // --cpus 1.5
    std::optional<std::string> cpu_shares; // --cpu-shares 512
    std::optional<std::string> cpuset_cpus; // --cpuset-cpus 0-1
    std::optional<std::string> pids_limit; // --pids-limit 100
    std::optional<std::string> blkio_weight; // --blkio-weight 500
    std::vector<std::string> device_read_bps; // --device-read-bps /dev/sda:1mb (repeatable)
    std::vector<std::string> device_write_bps;
    std::vector<std::string> device_read_iops;
    std::vector<std::string> device_write_iops;
    std::optional<std::string> nofile; // --nofile 1024 (RLIMIT_NOFILE of every process)
    // runc's update flags beyond those of create/run (`cryo update` fills them too).
    std::optional<std::string> memory_reservation; // --memory-reservation 256m, -1 = unlimited
    std::optional<std::string> kernel_memory; // --kernel-memory 64m
    std::optional<std::string> kernel_memory_tcp; // --kernel-memory-tcp 16m
    std::optional<std::string> cpu_period; // --cpu-period 100000 (us)
    std::optional<std::string> cpu_quota; // --cpu-quota 50000 (us), -1 = unlimited
    std::optional<std::string> cpu_rt_period; // --cpu-rt-period 1000000 (us)
    std::optional<std::string> cpu_rt_runtime; // --cpu-rt-runtime 950000 (us)
    std::optional<std::string> cpuset_mems; // --cpuset-mems 0

    bool any() const;
};

struct Extras {
    std::string image; // --image NAME: root file system from the image store
    std::string disk_limit; // --disk-limit SIZE: upper layer on a size-limited ext4 image
    bool init { false }; // --init: cryo-init runs as pid 1 and the process under it
    std::string network; // --network none|host|bridge ("" = as config.json says)
    std::vector<std::string> publish; // --publish HOSTPORT:CONTAINERPORT[/tcp|udp] (repeatable)
    LimitFlags limits;

    bool any() const;
};

// Where an option may keep what release_extras needs.
struct ExtrasRun {
    std::string id;
    std::string state_dir; // the container's state dir (<root>/<id>), exists during launch
    std::string bundle; // in: --bundle; out: the bundle launch reads (--image may replace it)
};

// Phase 1, before config.json is read.
Result<void> prepare_bundle(Context const& ctx, Extras const& extras, ExtrasRun& run);
// Phase 2, after config.json is parsed and before anything is created from it.
Result<void> amend_spec(Context const& ctx, Extras const& extras, ExtrasRun const& run, oci::Spec& spec);
// Undo everything recorded under state_dir, in reverse order of set-up. Never fails: what
// cannot be undone is logged.
void release_extras(std::string const& state_dir);

// One per option file; prepare_bundle/amend_spec/release_extras (extras.cpp) call them in order.
Result<void> image_prepare_bundle(Context const& ctx, Extras const& extras, ExtrasRun& run);
Result<void> image_amend_spec(Context const& ctx, Extras const& extras, ExtrasRun const& run, oci::Spec& spec);
void image_release(std::string const& state_dir);

Result<void> limits_amend_spec(Context const& ctx, Extras const& extras, ExtrasRun const& run, oci::Spec& spec);

// --init sets up nothing outside the spec (a bind mount it lists), so it has no release.
Result<void> init_amend_spec(Context const& ctx, Extras const& extras, ExtrasRun const& run, oci::Spec& spec);

Result<void> network_amend_spec(Context const& ctx, Extras const& extras, ExtrasRun const& run, oci::Spec& spec);
void network_release(std::string const& state_dir);

// Checkpoint and restore. What an option set up outside the spec that a restored container
// needs again (its network: bridge, address, published ports) travels in the checkpoint image
// as a file of the option's own (network.json). checkpoint_extras adds those files to the
// image being written; restore_extras reads them back into the Extras the restore launches
// with, so the restore goes through prepare/amend/release as a create does. `asked`: cryo
// options given to the restore itself; they take precedence over the image's.
Result<void> checkpoint_extras(std::string const& state_dir, checkpoint::ImageWriter& writer);
Result<void> restore_extras(checkpoint::ImageReader const& image, Extras const& asked, Extras& extras);

Result<void> network_checkpoint(std::string const& state_dir, checkpoint::ImageWriter& writer);
Result<void> network_restore(checkpoint::ImageReader const& image, Extras const& asked, Extras& extras);

} // namespace cryo::runtime
