// cryo update: change a running container's resource limits, from an OCI linux.resources
// JSON (`--resources FILE`, or `-` for stdin as docker sends it) or from runc's single flags.
#include "cli/options.h"
#include "oci/spec.h"
#include "runtime/extras_limits.h"
#include "sys/file.h"

namespace cryo::cli {

namespace {

constexpr FlagSpec k_flags[] = {
    { .name = "resources",
      .alias = "r",
      .kind = FlagKind::Value,
      .help = "path to the file containing the resources to update or '-' to read from the standard input" },
    { .name = "blkio-weight", .kind = FlagKind::Value, .help = "per cgroup weight, range is from 10 to 1000" },
    { .name = "cpu-period", .kind = FlagKind::Value, .help = "CPU CFS period for hardcapping (in usecs)" },
    { .name = "cpu-quota", .kind = FlagKind::Value, .help = "CPU CFS hardcap limit (in usecs) per period" },
    // runc spells it --cpu-share; docker and the brief say --cpu-shares: accept both.
    { .name = "cpu-shares",
      .alias = "cpu-share",
      .kind = FlagKind::Value,
      .help = "CPU shares (relative weight vs. other containers)" },
    { .name = "cpus",
      .kind = FlagKind::Value,
      .help = "number of CPUs (1.5): the CFS quota for --cpu-period, 100000 us by default" },
    { .name = "cpu-rt-period", .kind = FlagKind::Value, .help = "CPU realtime period (in usecs)" },
    { .name = "cpu-rt-runtime", .kind = FlagKind::Value, .help = "CPU realtime hardcap limit (in usecs)" },
    { .name = "cpuset-cpus", .kind = FlagKind::Value, .help = "CPU(s) to use" },
    { .name = "cpuset-mems", .kind = FlagKind::Value, .help = "memory node(s) to use" },
    { .name = "memory", .kind = FlagKind::Value, .help = "memory limit (bytes, or with a unit: 512m, 1g)" },
    { .name = "memory-reservation", .kind = FlagKind::Value, .help = "memory reservation or soft limit" },
    { .name = "memory-swap",
      .kind = FlagKind::Value,
      .help = "total memory usage (memory + swap); set '-1' to enable unlimited swap" },
    { .name = "kernel-memory", .kind = FlagKind::Value, .help = "kernel memory limit (deprecated by the kernel)" },
    { .name = "kernel-memory-tcp", .kind = FlagKind::Value, .help = "kernel memory limit for TCP buffers" },
    { .name = "pids-limit", .kind = FlagKind::Value, .help = "maximum number of pids allowed in the container" },
};

Result<int> run_update(Invocation const& invocation)
{
    TRY(require_args(invocation, ArgCount::Exact, 1));
    auto id = TRY(container_id(invocation));
    std::string json;
    // As runc: with --resources, the single flags are ignored.
    if (auto source = invocation.args.value("resources")) {
        if (*source == "-")
            json = TRY(sys::read_all(FdRef(STDIN_FILENO)).context("read resources from stdin"));
        else
            json = TRY(sys::read_file(*source).context("read resources"));
    } else {
        json = oci::to_json(TRY(update_flag_resources(invocation.args)));
    }
    TRY(runtime::update(invocation.context, id, json));
    return 0;
}

} // namespace

Result<oci::Resources> update_flag_resources(ParsedArgs const& args)
{
    // The same parsing and checks as create/run's resource flags, applied to an empty spec:
    // what comes out is exactly what the flags name.
    runtime::LimitFlags flags;
    flags.memory = args.value("memory");
    flags.memory_swap = args.value("memory-swap");
    flags.cpus = args.value("cpus");
    flags.cpu_shares = args.value("cpu-shares");
    flags.cpuset_cpus = args.value("cpuset-cpus");
    flags.pids_limit = args.value("pids-limit");
    flags.blkio_weight = args.value("blkio-weight");
    flags.memory_reservation = args.value("memory-reservation");
    flags.kernel_memory = args.value("kernel-memory");
    flags.kernel_memory_tcp = args.value("kernel-memory-tcp");
    flags.cpu_period = args.value("cpu-period");
    flags.cpu_quota = args.value("cpu-quota");
    flags.cpu_rt_period = args.value("cpu-rt-period");
    flags.cpu_rt_runtime = args.value("cpu-rt-runtime");
    flags.cpuset_mems = args.value("cpuset-mems");
    runtime::LimitEnv env {
        .device_number = runtime::block_device_number,
        .online_cpus = runtime::online_cpus(),
        .target = runtime::LimitTarget::RunningContainer,
    };
    oci::Spec spec;
    TRY(runtime::apply_limit_flags(flags, env, spec));
    return spec.linux_config.resources.value_or(oci::Resources {});
}

extern constinit VerbSpec const verb_update {
    .name = "update",
    .summary = "update container resource constraints",
    .usage = "[command options] <container-id>",
    .description = "--resources takes an OCI linux.resources object (fields left out are unchanged);\n"
                   "   with it, the single-resource flags are ignored.",
    .flags = k_flags,
    .run = run_update,
};

} // namespace cryo::cli
