// The resource flags of create/run and update (--memory, --cpus, --pids-limit, ...) into
// linux.resources and process.rlimits (see extras_limits.h). Sizes and integers go through the same parsers
// as `cryo update`'s flags (runtime/quantity.h), so both accept the same spellings.
#include "runtime/extras_limits.h"

#include <algorithm>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "oci/spec.h"
#include "runtime/quantity.h"
#include "sys/file.h"

namespace cryo::runtime {

using quantity::parse_int;
using quantity::parse_size;
using quantity::parse_uint;

namespace {

// The kernel refuses a quota below 1 ms (cpu.cfs_quota_us, see sched-bwc.rst).
constexpr uint64_t min_cpu_quota_us = 1'000;

Error bad(std::string_view flag, std::string_view value, std::string_view reason)
{
    return Error::format("--{} {}: {}", flag, value, reason);
}

// A byte size, or -1 (unlimited) when `allow_unlimited`.
Result<int64_t> size_value(std::string_view flag, std::string const& text, bool allow_unlimited)
{
    if (allow_unlimited && text == "-1")
        return -1;
    auto size = parse_size(text);
    if (!size)
        return bad(flag, text, "not a size");
    if (*size <= 0)
        return bad(flag, text, "must be greater than 0");
    return *size;
}

Result<uint64_t> uint_value(std::string_view flag, std::string const& text)
{
    auto value = parse_uint(text);
    if (!value)
        return bad(flag, text, "not an unsigned integer");
    return *value;
}

Result<int64_t> int_value(std::string_view flag, std::string const& text)
{
    auto value = parse_int(text);
    if (!value)
        return bad(flag, text, "not an integer");
    return *value;
}

} // namespace

Result<int64_t> cpus_to_quota(std::string const& text, uint64_t period, unsigned online_cpus)
{
    auto number = quantity::detail::take_decimal(text);
    if (!number || number->length != text.size() || text.back() == '.')
        return bad("cpus", text, "not a number of CPUs");
    if (number->value > static_cast<long double>(online_cpus))
        return bad("cpus", text, fmt::format("more than the {} CPUs online", online_cpus));
    // Rounded half up by hand: std::llround is libm's, and cryo does not link libm (its IFUNC
    // resolvers alone made ~300 KiB of every command's resident memory, bench/rss_breakdown.sh).
    auto quota = static_cast<uint64_t>(number->value * static_cast<long double>(period) + 0.5L);
    if (quota < min_cpu_quota_us)
        return bad("cpus", text,
                   fmt::format("too small (at least {:.3f})",
                               static_cast<double>(min_cpu_quota_us) / static_cast<double>(period)));
    return static_cast<int64_t>(quota);
}

unsigned online_cpus()
{
    auto online = ::sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? static_cast<unsigned>(online) : 1;
}

namespace {

// "0-3,7": digits, ranges and commas only (the kernel checks the CPUs exist).
bool is_cpu_list(std::string_view text)
{
    if (text.empty())
        return false;
    size_t start = 0;
    while (start <= text.size()) {
        auto end = text.find(',', start);
        auto item = text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
        auto dash = item.find('-');
        auto first = item.substr(0, dash);
        auto all_digits = [](std::string_view s) {
            return !s.empty() && std::all_of(s.begin(), s.end(), quantity::detail::is_digit);
        };
        if (!all_digits(first))
            return false;
        if (dash != std::string_view::npos) {
            auto last = item.substr(dash + 1);
            if (!all_digits(last) || std::stoul(std::string(last)) < std::stoul(std::string(first)))
                return false;
        }
        if (end == std::string_view::npos)
            return true;
        start = end + 1;
    }
    return false;
}

enum class RateKind { Bytes, Iops };

// DEVICE:RATE, DEVICE a block device path (which may itself hold no ':').
Result<oci::ThrottleDevice> throttle_device(std::string_view flag, std::string const& text, RateKind kind,
                                            LimitEnv const& env)
{
    auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
        return bad(flag, text, "expected DEVICE:RATE");
    auto path = text.substr(0, colon);
    auto rate_text = text.substr(colon + 1);
    uint64_t rate = 0;
    if (kind == RateKind::Bytes) {
        auto size = parse_size(rate_text);
        if (!size || *size <= 0)
            return bad(flag, text, fmt::format("{}: not a size", rate_text));
        rate = static_cast<uint64_t>(*size);
    } else {
        auto iops = parse_uint(rate_text);
        if (!iops || *iops == 0)
            return bad(flag, text, fmt::format("{}: not a positive number of operations", rate_text));
        rate = *iops;
    }
    auto number = env.device_number(path);
    if (!number)
        return bad(flag, text, number.error().message());
    return oci::ThrottleDevice { .major = number->major, .minor = number->minor, .rate = rate };
}

// "N" or "SOFT:HARD".
Result<oci::Rlimit> nofile_rlimit(std::string const& text)
{
    auto colon = text.find(':');
    auto soft = parse_uint(text.substr(0, colon));
    auto hard = colon == std::string::npos ? soft : parse_uint(text.substr(colon + 1));
    if (!soft || !hard || *soft == 0)
        return bad("nofile", text, "expected N or SOFT:HARD (positive integers)");
    if (*soft > *hard)
        return bad("nofile", text, "soft limit above hard limit");
    return oci::Rlimit { .type = "RLIMIT_NOFILE", .hard = *hard, .soft = *soft };
}

} // namespace

Result<void> apply_limit_flags(LimitFlags const& flags, LimitEnv const& env, oci::Spec& spec)
{
    // Plan into a copy, so a bad flag leaves the spec as it was.
    auto resources = spec.linux_config.resources.value_or(oci::Resources {});
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
    auto block_io = [&]() -> oci::BlockIo& {
        if (!resources.block_io)
            resources.block_io.emplace();
        return *resources.block_io;
    };

    if (flags.memory)
        memory().limit = TRY(size_value("memory", *flags.memory, true));
    if (flags.memory_swap) {
        auto swap = TRY(size_value("memory-swap", *flags.memory_swap, true));
        auto limit = resources.memory ? resources.memory->limit : std::nullopt;
        // A running container has a memory limit already (or the kernel refuses the swap one).
        if ((!limit || *limit == -1) && env.target == LimitTarget::NewContainer)
            return bad("memory-swap", *flags.memory_swap, "needs a memory limit (--memory)");
        if (limit && *limit != -1 && swap != -1 && swap < *limit)
            return bad("memory-swap", *flags.memory_swap,
                       fmt::format("below the memory limit ({} bytes); it counts memory + swap", *limit));
        memory().swap = swap;
    }
    if (flags.memory_reservation)
        memory().reservation = TRY(size_value("memory-reservation", *flags.memory_reservation, true));
    if (flags.kernel_memory)
        memory().kernel = TRY(size_value("kernel-memory", *flags.kernel_memory, true));
    if (flags.kernel_memory_tcp)
        memory().kernel_tcp = TRY(size_value("kernel-memory-tcp", *flags.kernel_memory_tcp, true));

    // The period first: --cpus computes its quota for it.
    if (flags.cpu_period)
        cpu().period = TRY(uint_value("cpu-period", *flags.cpu_period));
    if (flags.cpu_quota) {
        // docker's --cpus names the quota another way.
        if (flags.cpus)
            return Error::make("--cpus and --cpu-quota cannot be used together");
        cpu().quota = TRY(int_value("cpu-quota", *flags.cpu_quota));
    }
    if (flags.cpu_rt_period)
        cpu().realtime_period = TRY(uint_value("cpu-rt-period", *flags.cpu_rt_period));
    if (flags.cpu_rt_runtime)
        cpu().realtime_runtime = TRY(int_value("cpu-rt-runtime", *flags.cpu_rt_runtime));
    if (flags.cpus) {
        auto period = resources.cpu && resources.cpu->period && *resources.cpu->period != 0 ? *resources.cpu->period
                                                                                            : default_cpu_period_us;
        auto quota = TRY(cpus_to_quota(*flags.cpus, period, env.online_cpus));
        cpu().period = period;
        cpu().quota = quota;
    }
    if (flags.cpu_shares) {
        // cpu.shares' kernel range; docker passes anything and lets the kernel clamp, we say so.
        auto shares = TRY(uint_value("cpu-shares", *flags.cpu_shares));
        if (shares < 2 || shares > 262144)
            return bad("cpu-shares", *flags.cpu_shares, "out of range 2-262144");
        cpu().shares = shares;
    }
    if (flags.cpuset_cpus) {
        if (!is_cpu_list(*flags.cpuset_cpus))
            return bad("cpuset-cpus", *flags.cpuset_cpus, "not a CPU list (like 0-3,7)");
        cpu().cpus = *flags.cpuset_cpus;
    }
    if (flags.cpuset_mems) {
        if (!is_cpu_list(*flags.cpuset_mems))
            return bad("cpuset-mems", *flags.cpuset_mems, "not a memory node list (like 0-1)");
        cpu().mems = *flags.cpuset_mems;
    }

    if (flags.pids_limit) {
        auto limit = parse_int(*flags.pids_limit);
        if (!limit)
            return bad("pids-limit", *flags.pids_limit, "not an integer");
        // docker's convention: 0 or -1 is unlimited.
        resources.pids = oci::Pids { .limit = *limit <= 0 ? -1 : *limit };
    }

    if (flags.blkio_weight) {
        auto weight = TRY(uint_value("blkio-weight", *flags.blkio_weight));
        if (weight < 10 || weight > 1000)
            return bad("blkio-weight", *flags.blkio_weight, "out of range 10-1000");
        block_io().weight = static_cast<uint16_t>(weight);
    }
    // A device named again replaces its config.json entry; others stay.
    auto throttles = [&](char const* flag, std::vector<std::string> const& values, RateKind kind,
                         std::vector<oci::ThrottleDevice>& into) -> Result<void> {
        for (auto const& text : values) {
            auto device = TRY(throttle_device(flag, text, kind, env));
            std::erase_if(into, [&](oci::ThrottleDevice const& old) {
                return old.major == device.major && old.minor == device.minor;
            });
            into.push_back(device);
        }
        return {};
    };
    if (!flags.device_read_bps.empty())
        TRY(throttles("device-read-bps", flags.device_read_bps, RateKind::Bytes, block_io().throttle_read_bps_device));
    if (!flags.device_write_bps.empty())
        TRY(throttles("device-write-bps", flags.device_write_bps, RateKind::Bytes,
                      block_io().throttle_write_bps_device));
    if (!flags.device_read_iops.empty())
        TRY(throttles("device-read-iops", flags.device_read_iops, RateKind::Iops,
                      block_io().throttle_read_iops_device));
    if (!flags.device_write_iops.empty())
        TRY(throttles("device-write-iops", flags.device_write_iops, RateKind::Iops,
                      block_io().throttle_write_iops_device));

    std::optional<oci::Rlimit> nofile;
    if (flags.nofile)
        nofile = TRY(nofile_rlimit(*flags.nofile));

    if (!resources.empty())
        spec.linux_config.resources = std::move(resources);
    if (nofile) {
        if (!spec.process)
            return Error::make("--nofile: config.json has no process");
        auto& rlimits = spec.process->rlimits;
        std::erase_if(rlimits, [](oci::Rlimit const& old) { return old.type == "RLIMIT_NOFILE"; });
        rlimits.push_back(*nofile);
    }
    return {};
}

Result<DeviceNumber> block_device_number(std::string const& path)
{
    auto st = TRY(sys::stat(path).context("stat {}", path));
    if (!S_ISBLK(st.st_mode))
        return Error::format("{} is not a block device", path);
    return DeviceNumber { .major = static_cast<int64_t>(major(st.st_rdev)),
                          .minor = static_cast<int64_t>(minor(st.st_rdev)) };
}

Result<void> limits_amend_spec(Context const&, Extras const& extras, ExtrasRun const&, oci::Spec& spec)
{
    if (!extras.limits.any())
        return {};
    LimitEnv env { .device_number = block_device_number, .online_cpus = online_cpus() };
    return apply_limit_flags(extras.limits, env, spec);
}

} // namespace cryo::runtime
