// The resource flags of create/run as a spec rewrite (runtime/extras_limits.h): values land
// in linux.resources and process.rlimits, override config.json's, keep what they do not
// name, and bad values are one-line errors that leave the spec untouched.
#include <functional>

#include <gtest/gtest.h>

#include "oci/spec.h"
#include "runtime/extras_limits.h"

using namespace cryo;
using namespace cryo::runtime;

namespace {

LimitEnv fake_env()
{
    return LimitEnv { .device_number = [](std::string const& path) -> Result<DeviceNumber> {
                         if (path == "/dev/vda")
                             return DeviceNumber { .major = 254, .minor = 0 };
                         if (path == "/dev/odd:name")
                             return DeviceNumber { .major = 8, .minor = 16 };
                         return Error::format("{} is not a block device", path);
                     },
                      .online_cpus = 2 };
}

oci::Spec base_spec()
{
    oci::Spec spec;
    spec.process.emplace();
    spec.process->rlimits
        = { { .type = "RLIMIT_NOFILE", .hard = 1024, .soft = 1024 }, { .type = "RLIMIT_CORE", .hard = 0, .soft = 0 } };
    oci::Resources resources;
    resources.memory = oci::Memory { .limit = 1 << 30 };
    resources.cpu = oci::Cpu { .shares = 700 };
    resources.block_io = oci::BlockIo { .throttle_read_bps_device = { { .major = 254, .minor = 0, .rate = 5 },
                                                                      { .major = 8, .minor = 0, .rate = 7 } } };
    spec.linux_config.resources = resources;
    return spec;
}

// LimitFlags has no default member initialisers (designated initialisers would warn), so
// tests set fields on a default-constructed one.
LimitFlags flags_with(std::function<void(LimitFlags&)> const& set)
{
    LimitFlags flags;
    set(flags);
    return flags;
}

std::string error_of(std::function<void(LimitFlags&)> const& set)
{
    auto flags = flags_with(set);
    auto spec = base_spec();
    auto result = apply_limit_flags(flags, fake_env(), spec);
    EXPECT_TRUE(result.is_error());
    EXPECT_EQ(spec, base_spec()) << "a refused flag changed the spec";
    return result.is_error() ? result.error().message() : "";
}

} // namespace

TEST(LimitFlags, EveryFlagLandsInTheSpec)
{
    auto spec = base_spec();
    auto flags = flags_with([](LimitFlags& f) {
        f.memory = "64m";
        f.memory_swap = "96m";
        f.cpus = "0.5";
        f.cpu_shares = "512";
        f.cpuset_cpus = "0-1,3";
        f.pids_limit = "32";
        f.blkio_weight = "300";
        f.device_read_bps = { "/dev/vda:1mb" };
        f.device_write_bps = { "/dev/odd:name:2m" };
        f.device_read_iops = { "/dev/vda:100" };
        f.device_write_iops = { "/dev/vda:50" };
        f.nofile = "256:512";
    });
    MUST(apply_limit_flags(flags, fake_env(), spec));
    auto const& resources = *spec.linux_config.resources;
    EXPECT_EQ(resources.memory->limit, 64 << 20);
    EXPECT_EQ(resources.memory->swap, 96 << 20);
    EXPECT_EQ(resources.cpu->quota, 50000);
    EXPECT_EQ(resources.cpu->period, 100000u);
    EXPECT_EQ(resources.cpu->shares, 512u);
    EXPECT_EQ(resources.cpu->cpus, "0-1,3");
    EXPECT_EQ(resources.pids->limit, 32);
    EXPECT_EQ(resources.block_io->weight, 300);
    // The flag's device replaces config.json's entry for it; 8:0 stays.
    EXPECT_EQ(resources.block_io->throttle_read_bps_device,
              (std::vector<oci::ThrottleDevice> { { .major = 8, .minor = 0, .rate = 7 },
                                                  { .major = 254, .minor = 0, .rate = 1 << 20 } }));
    // DEVICE may itself contain ':' (the rate is after the last one).
    EXPECT_EQ(resources.block_io->throttle_write_bps_device,
              (std::vector<oci::ThrottleDevice> { { .major = 8, .minor = 16, .rate = 2 << 20 } }));
    EXPECT_EQ(resources.block_io->throttle_read_iops_device,
              (std::vector<oci::ThrottleDevice> { { .major = 254, .minor = 0, .rate = 100 } }));
    EXPECT_EQ(resources.block_io->throttle_write_iops_device,
              (std::vector<oci::ThrottleDevice> { { .major = 254, .minor = 0, .rate = 50 } }));
    // RLIMIT_NOFILE replaced, the others kept.
    EXPECT_EQ(spec.process->rlimits,
              (std::vector<oci::Rlimit> { { .type = "RLIMIT_CORE", .hard = 0, .soft = 0 },
                                          { .type = "RLIMIT_NOFILE", .hard = 512, .soft = 256 } }));
}

TEST(LimitFlags, WhatFlagsDoNotNameIsKept)
{
    auto spec = base_spec();
    MUST(apply_limit_flags(flags_with([](LimitFlags& f) { f.pids_limit = "0"; }), fake_env(), spec));
    auto expected = base_spec();
    expected.linux_config.resources->pids = oci::Pids { .limit = -1 }; // 0 = unlimited (docker)
    EXPECT_EQ(spec, expected);
}

TEST(LimitFlags, CpusUsesTheSpecPeriodAndNofileOneValue)
{
    auto spec = base_spec();
    spec.linux_config.resources->cpu->period = 50000;
    MUST(apply_limit_flags(flags_with([](LimitFlags& f) {
                               f.cpus = "1.5";
                               f.nofile = "64";
                           }),
                           fake_env(), spec));
    EXPECT_EQ(spec.linux_config.resources->cpu->quota, 75000);
    EXPECT_EQ(spec.linux_config.resources->cpu->period, 50000u);
    EXPECT_EQ(spec.process->rlimits.back(), (oci::Rlimit { .type = "RLIMIT_NOFILE", .hard = 64, .soft = 64 }));
}

TEST(LimitFlags, SwapUsesConfigMemoryAndUnlimitedSwap)
{
    auto spec = base_spec();
    MUST(apply_limit_flags(flags_with([](LimitFlags& f) { f.memory_swap = "-1"; }), fake_env(), spec));
    EXPECT_EQ(spec.linux_config.resources->memory->swap, -1);
    EXPECT_EQ(spec.linux_config.resources->memory->limit, 1 << 30);
}

TEST(LimitFlags, SpecWithoutResourcesGetsThem)
{
    oci::Spec spec;
    spec.process.emplace();
    MUST(apply_limit_flags(flags_with([](LimitFlags& f) { f.memory = "1g"; }), fake_env(), spec));
    ASSERT_TRUE(spec.linux_config.resources);
    EXPECT_EQ(spec.linux_config.resources->memory->limit, int64_t { 1 } << 30);
}

TEST(LimitFlags, BadValuesAreOneLineErrorsNamingFlagAndValue)
{
    EXPECT_EQ(error_of([](LimitFlags& f) { f.memory = "12q"; }), "--memory 12q: not a size");
    EXPECT_EQ(error_of([](LimitFlags& f) { f.memory = "0"; }), "--memory 0: must be greater than 0");
    EXPECT_EQ(error_of([](LimitFlags& f) {
                  f.memory = "64m";
                  f.memory_swap = "32m";
              }),
              "--memory-swap 32m: below the memory limit (67108864 bytes); it counts memory + swap");
    oci::Spec no_memory;
    no_memory.process.emplace();
    auto result = apply_limit_flags(flags_with([](LimitFlags& f) { f.memory_swap = "1g"; }), fake_env(), no_memory);
    ASSERT_TRUE(result.is_error());
    EXPECT_EQ(result.error().message(), "--memory-swap 1g: needs a memory limit (--memory)");
    EXPECT_EQ(error_of([](LimitFlags& f) { f.cpus = "abc"; }), "--cpus abc: not a number of CPUs");
    EXPECT_EQ(error_of([](LimitFlags& f) { f.cpus = "1."; }), "--cpus 1.: not a number of CPUs");
    EXPECT_EQ(error_of([](LimitFlags& f) { f.cpus = "3"; }), "--cpus 3: more than the 2 CPUs online");
    EXPECT_EQ(error_of([](LimitFlags& f) { f.cpus = "0.001"; }), "--cpus 0.001: too small (at least 0.010)");
    EXPECT_EQ(error_of([](LimitFlags& f) { f.cpu_shares = "x"; }), "--cpu-shares x: not an unsigned integer");
    EXPECT_EQ(error_of([](LimitFlags& f) { f.cpu_shares = "1"; }), "--cpu-shares 1: out of range 2-262144");
    EXPECT_EQ(error_of([](LimitFlags& f) { f.cpuset_cpus = "a"; }), "--cpuset-cpus a: not a CPU list (like 0-3,7)");
    EXPECT_EQ(error_of([](LimitFlags& f) { f.cpuset_cpus = "0,,1"; }),
              "--cpuset-cpus 0,,1: not a CPU list (like 0-3,7)");
    EXPECT_EQ(error_of([](LimitFlags& f) { f.cpuset_cpus = "3-1"; }), "--cpuset-cpus 3-1: not a CPU list (like 0-3,7)");
    EXPECT_EQ(error_of([](LimitFlags& f) { f.pids_limit = "lots"; }), "--pids-limit lots: not an integer");
    EXPECT_EQ(error_of([](LimitFlags& f) { f.blkio_weight = "5"; }), "--blkio-weight 5: out of range 10-1000");
    EXPECT_EQ(error_of([](LimitFlags& f) { f.device_read_bps = { "/dev/vda" }; }),
              "--device-read-bps /dev/vda: expected DEVICE:RATE");
    EXPECT_EQ(error_of([](LimitFlags& f) { f.device_read_bps = { "/dev/vda:fast" }; }),
              "--device-read-bps /dev/vda:fast: fast: not a size");
    EXPECT_EQ(error_of([](LimitFlags& f) { f.device_write_iops = { "/dev/vda:0" }; }),
              "--device-write-iops /dev/vda:0: 0: not a positive number of operations");
    EXPECT_EQ(error_of([](LimitFlags& f) { f.device_read_iops = { "/dev/null:5" }; }),
              "--device-read-iops /dev/null:5: /dev/null is not a block device");
    EXPECT_EQ(error_of([](LimitFlags& f) { f.nofile = "10:5"; }), "--nofile 10:5: soft limit above hard limit");
    EXPECT_EQ(error_of([](LimitFlags& f) { f.nofile = "x"; }),
              "--nofile x: expected N or SOFT:HARD (positive integers)");
}

TEST(LimitFlags, CpusToQuotaSharedWithUpdate)
{
    EXPECT_EQ(MUST(cpus_to_quota("0.5", 100000, 2)), 50000);
    EXPECT_EQ(MUST(cpus_to_quota("2", 100000, 2)), 200000);
    EXPECT_EQ(MUST(cpus_to_quota("0.01", 100000, 2)), 1000);
    EXPECT_TRUE(cpus_to_quota("", 100000, 2).is_error());
    EXPECT_TRUE(cpus_to_quota("-1", 100000, 2).is_error());
}
