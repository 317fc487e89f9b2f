// cryo update: change a running container's resource limits, from an OCI linux.resources
// JSON (`--resources FILE`, or `-` for stdin as docker sends it) or from runc's single flags.
#include "cli/options.h"
#include "cli/values.h"
#include "runtime/extras_limits.h"
#include "sys/file.h"

namespace cryo::cli {

namespace {

constexpr FlagSpec k_flags[] = {
    { .name = "resources", .alias = "r", .kind = FlagKind::Value,
      .help = "path to the file containing the resources to update or '-' to read from the standard input" },
    { .name = "blkio-weight", .kind = FlagKind::Value, .help = "per cgroup weight, range is from 10 to 1000" },
    { .name = "cpu-period", .kind = FlagKind::Value, .help = "CPU CFS period for hardcapping (in usecs)" },
    { .name = "cpu-quota", .kind = FlagKind::Value, .help = "CPU CFS hardcap limit (in usecs) per period" },
    // runc spells it --cpu-share; docker and the brief say --cpu-shares: accept both.
    { .name = "cpu-shares", .alias = "cpu-share", .kind = FlagKind::Value,
      .help = "CPU shares (relative weight vs. other containers)" },
    { .name = "cpus", .kind = FlagKind::Value,
      .help = "number of CPUs (1.5): the CFS quota for --cpu-period, 100000 us by default" },
    { .name = "cpu-rt-period", .kind = FlagKind::Value, .help = "CPU realtime period (in usecs)" },
    { .name = "cpu-rt-runtime", .kind = FlagKind::Value, .help = "CPU realtime hardcap limit (in usecs)" },
    { .name = "cpuset-cpus", .kind = FlagKind::Value, .help = "CPU(s) to use" },
    { .name = "cpuset-mems", .kind = FlagKind::Value, .help = "memory node(s) to use" },
    { .name = "memory", .kind = FlagKind::Value, .help = "memory limit (bytes, or with a unit: 512m, 1g)" },
    { .name = "memory-reservation", .kind = FlagKind::Value, .help = "memory reservation or soft limit" },
    { .name = "memory-swap", .kind = FlagKind::Value,
      .help = "total memory usage (memory + swap); set '-1' to enable unlimited swap" },
    { .name = "kernel-memory", .kind = FlagKind::Value, .help = "kernel memory limit (deprecated by the kernel)" },
    { .name = "kernel-memory-tcp", .kind = FlagKind::Value, .help = "kernel memory limit for TCP buffers" },
    { .name = "pids-limit", .kind = FlagKind::Value, .help = "maximum number of pids allowed in the container" },
};

// "-1" means unlimited; anything else is a size ("512m").
Result<int64_t> memory_value(std::string_view flag, std::string const& text)
{
    if (text == "-1")
        return -1;
    return parse_size(text).context("--{}", flag);
}

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
    oci::Resources resources;
    auto memory = [&]() -> oci::Memory& {
        if (!resources.memory)
            resources.memory.emplace();
        return *resources.memory;
    };
    auto cpu = [&]() -> oci::Cpu& {
        if (!resources.cpu)
            resources.cpu.emplace();
        return *resources.cpu;
    };

    if (auto v = args.value("memory"))
        memory().limit = TRY(memory_value("memory", *v));
    if (auto v = args.value("memory-reservation"))
        memory().reservation = TRY(memory_value("memory-reservation", *v));
    if (auto v = args.value("memory-swap"))
        memory().swap = TRY(memory_value("memory-swap", *v));
    if (auto v = args.value("kernel-memory"))
        memory().kernel = TRY(memory_value("kernel-memory", *v));
    if (auto v = args.value("kernel-memory-tcp"))
        memory().kernel_tcp = TRY(memory_value("kernel-memory-tcp", *v));

    if (auto v = args.value("cpu-shares"))
        cpu().shares = TRY(parse_uint(*v).context("--cpu-shares"));
    if (auto v = args.value("cpu-period"))
        cpu().period = TRY(parse_uint(*v).context("--cpu-period"));
    if (auto v = args.value("cpu-quota"))
        cpu().quota = TRY(parse_int(*v).context("--cpu-quota"));
    if (auto v = args.value("cpus")) {
        // docker update's flag; it names the quota another way, so not both.
        if (args.value("cpu-quota"))
            return Error::make("--cpus and --cpu-quota cannot be used together");
        auto period = cpu().period.value_or(runtime::default_cpu_period_us);
        cpu().period = period;
        cpu().quota = TRY(runtime::cpus_to_quota(*v, period, runtime::online_cpus()));
    }
    if (auto v = args.value("cpu-rt-period"))
        cpu().realtime_period = TRY(parse_uint(*v).context("--cpu-rt-period"));
    if (auto v = args.value("cpu-rt-runtime"))
        cpu().realtime_runtime = TRY(parse_int(*v).context("--cpu-rt-runtime"));
    if (auto v = args.value("cpuset-cpus"))
        cpu().cpus = *v;
    if (auto v = args.value("cpuset-mems"))
        cpu().mems = *v;

    if (auto v = args.value("pids-limit"))
        resources.pids = oci::Pids { .limit = TRY(parse_int(*v).context("--pids-limit")) };
    if (auto v = args.value("blkio-weight")) {
        auto weight = TRY(parse_uint(*v).context("--blkio-weight"));
        if (weight > 0xFFFF)
            return Error::format("--blkio-weight: {} is out of range", weight);
        resources.block_io.emplace();
        resources.block_io->weight = static_cast<uint16_t>(weight);
    }
    return resources;
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
