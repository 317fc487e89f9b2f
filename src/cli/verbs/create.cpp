// cryo create: set up a container from a bundle and leave it blocked before the user
// process runs (state "created").
#include "cli/options.h"
#include "cli/values.h"
#include "sys/file.h"

namespace cryo::cli {

namespace {

constexpr FlagSpec k_flags[] = {
    { .name = "bundle",
      .alias = "b",
      .kind = FlagKind::Value,
      .help = "path to the root of the bundle directory, defaults to the current directory" },
    { .name = "console-socket",
      .kind = FlagKind::Value,
      .help = "path to an AF_UNIX socket which will receive the master end of the console's pseudoterminal" },
    { .name = "pid-file", .kind = FlagKind::Value, .help = "specify the file to write the process id to" },
    { .name = "no-pivot", .help = "do not use pivot_root to jail the process inside rootfs" },
    { .name = "no-new-keyring", .help = "do not create a new session keyring for the container" },
    { .name = "preserve-fds",
      .kind = FlagKind::Value,
      .help = "pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)",
      .fallback = "0" },
    { .name = "no-subreaper", .help = "accepted for runc compatibility" },
    CRYO_EXTRA_CREATE_FLAGS,
};

Result<int> run_create(Invocation const& invocation)
{
    TRY(require_args(invocation, ArgCount::Exact, 1));
    auto options = TRY(create_options(invocation));
    TRY(require_systemd_if_requested(invocation.context));
    TRY(runtime::create(invocation.context, options));
    return 0;
}

} // namespace

Result<runtime::CreateOptions> create_options(Invocation const& invocation)
{
    auto const& args = invocation.args;
    runtime::CreateOptions options {
        .id = TRY(container_id(invocation)),
        .bundle = args.value_or("bundle", "."),
        .pid_file = args.value_or("pid-file", ""),
        .console_socket = args.value_or("console-socket", ""),
        .no_pivot = args.flag("no-pivot"),
        .no_new_keyring = args.flag("no-new-keyring"),
        .preserve_fds = 0,
        .no_subreaper = args.flag("no-subreaper"),
        .detach = args.flag("detach"),
        .keep = args.flag("keep"),
        .extras = {},
    };
    if (options.bundle.empty())
        options.bundle = ".";
    auto& extras = options.extras;
    extras.image = args.value_or("image", "");
    extras.disk_limit = args.value_or("disk-limit", "");
    extras.init = args.flag("init");
    extras.network = args.value_or("network", "");
    extras.publish = args.values("publish");
    auto& limits = extras.limits;
    limits.memory = args.value("memory");
    limits.memory_swap = args.value("memory-swap");
    limits.cpus = args.value("cpus");
    limits.cpu_shares = args.value("cpu-shares");
    limits.cpuset_cpus = args.value("cpuset-cpus");
    limits.pids_limit = args.value("pids-limit");
    limits.blkio_weight = args.value("blkio-weight");
    limits.device_read_bps = args.values("device-read-bps");
    limits.device_write_bps = args.values("device-write-bps");
    limits.device_read_iops = args.values("device-read-iops");
    limits.device_write_iops = args.values("device-write-iops");
    limits.nofile = args.value("nofile");
    if (auto fds = args.value("preserve-fds")) {
        auto count = TRY(parse_int(*fds).context("--preserve-fds"));
        if (count < 0 || count > 65536)
            return Error::format("--preserve-fds: {} is out of range", count);
        options.preserve_fds = static_cast<int>(count);
    }
    return options;
}

Result<void> require_systemd_if_requested(runtime::Context const& context)
{
    // runc's systemd driver talks to systemd over D-Bus; with no systemd there is nobody to
    // create the scope, so refuse up front instead of half-creating a container.
    if (context.systemd_cgroup && !sys::exists("/run/systemd/system"))
        return Error::make("--systemd-cgroup: systemd is not running on this host (no /run/systemd/system); "
                           "drop --systemd-cgroup to use cgroupfs");
    return {};
}

extern constinit VerbSpec const verb_create {
    .name = "create",
    .summary = "create a container",
    .usage = "[command options] <container-id>",
    .description = "Creates a container from the bundle (a directory with config.json and a root\n"
                   "   file system) and stops it before the user process runs; `cryo start` runs it.",
    .flags = k_flags,
    .run = run_create,
};

} // namespace cryo::cli
