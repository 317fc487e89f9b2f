// OCI runtime spec (config.json, versions 1.0 to 1.2, Linux) as plain structs, with parsing,
// validation and serialization. A parsed Spec has passed validation: required fields are
// present, enum-like strings (namespace, device, rlimit, capability names) are known. Fields are
// std::optional where absence differs from a zero value (resources: absent limit != 0).
// No nlohmann here: this header is included widely.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace cryo::oci {

// The spec version cryo writes (spec, state, features' ociVersionMax).
inline constexpr std::string_view k_oci_version = "1.2.0";

struct ConsoleSize {
    uint32_t height { 0 };
    uint32_t width { 0 };
    bool operator==(ConsoleSize const&) const = default;
};

struct User {
    uint32_t uid { 0 };
    uint32_t gid { 0 };
    std::optional<uint32_t> umask {};
    std::vector<uint32_t> additional_gids {};
    std::string username {}; // informational on Linux
    bool operator==(User const&) const = default;
};

// Absent process.capabilities means "do not touch capabilities"; an absent set within it
// means the empty set, so sets are plain vectors of CAP_* names.
struct Capabilities {
    std::vector<std::string> bounding {};
    std::vector<std::string> effective {};
    std::vector<std::string> inheritable {};
    std::vector<std::string> permitted {};
    std::vector<std::string> ambient {};
    bool operator==(Capabilities const&) const = default;
};

struct Rlimit {
    std::string type {}; // "RLIMIT_NOFILE"; see rlimit_resource() in names.h
    uint64_t hard { 0 };
    uint64_t soft { 0 };
    bool operator==(Rlimit const&) const = default;
};

struct IoPriority {
    std::string io_class {}; // JSON "class": IOPRIO_CLASS_RT / _BE / _IDLE
    int32_t priority { 0 };
    bool operator==(IoPriority const&) const = default;
};

struct Scheduler {
    std::string policy {}; // SCHED_OTHER, SCHED_FIFO, ...
    std::optional<int32_t> nice {};
    std::optional<int32_t> priority {};
    std::vector<std::string> flags {};
    std::optional<uint64_t> runtime {};
    std::optional<uint64_t> deadline {};
    std::optional<uint64_t> period {};
    bool operator==(Scheduler const&) const = default;
};

struct ExecCpuAffinity {
    std::string initial {}; // cpu list, e.g. "0-3,7"
    std::string final {};
    bool operator==(ExecCpuAffinity const&) const = default;
};

struct Process {
    bool terminal { false };
    std::optional<ConsoleSize> console_size {};
    User user {};
    std::vector<std::string> args {}; // non-empty after validation
    std::optional<std::string> command_line {}; // Windows only; kept
    std::vector<std::string> env {};
    std::string cwd {};
    std::optional<Capabilities> capabilities {};
    std::vector<Rlimit> rlimits {};
    bool no_new_privileges { false };
    std::string apparmor_profile {};
    std::optional<int32_t> oom_score_adj {};
    std::string selinux_label {};
    std::optional<IoPriority> io_priority {};
    std::optional<Scheduler> scheduler {};
    std::optional<ExecCpuAffinity> exec_cpu_affinity {};
    bool operator==(Process const&) const = default;
};

struct Root {
    std::string path {}; // relative to the bundle, or absolute
    bool readonly { false };
    bool operator==(Root const&) const = default;
};

struct IdMapping {
    uint32_t container_id { 0 };
    uint32_t host_id { 0 };
    uint32_t size { 0 };
    bool operator==(IdMapping const&) const = default;
};

struct Mount {
    std::string destination {};
    std::string type {};
    std::string source {};
    std::vector<std::string> options {};
    std::vector<IdMapping> uid_mappings {}; // idmapped mounts (1.1+)
    std::vector<IdMapping> gid_mappings {};
    bool operator==(Mount const&) const = default;
};

struct Hook {
    std::string path {};
    std::vector<std::string> args {};
    std::vector<std::string> env {};
    std::optional<int32_t> timeout {}; // seconds, > 0 when present
    bool operator==(Hook const&) const = default;
};

struct Hooks {
    std::vector<Hook> prestart {}; // deprecated in the spec but still used (e.g. by docker)
    std::vector<Hook> create_runtime {};
    std::vector<Hook> create_container {};
    std::vector<Hook> start_container {};
    std::vector<Hook> poststart {};
    std::vector<Hook> poststop {};
    bool operator==(Hooks const&) const = default;
    bool empty() const { return *this == Hooks {}; }
};

enum class NamespaceType { Pid, Network, Mount, Ipc, Uts, User, Cgroup, Time };

struct Namespace {
    NamespaceType type { NamespaceType::Pid };
    std::string path {}; // empty: create a new one; else join the namespace at this path
    bool operator==(Namespace const&) const = default;
};

struct TimeOffset {
    int64_t secs { 0 };
    uint32_t nanosecs { 0 };
    bool operator==(TimeOffset const&) const = default;
};

struct Device {
    std::string type {}; // "c", "b", "u" or "p"
    std::string path {};
    int64_t major { 0 }; // required for c/b/u, unused for p
    int64_t minor { 0 };
    std::optional<uint32_t> file_mode {};
    std::optional<uint32_t> uid {};
    std::optional<uint32_t> gid {};
    bool operator==(Device const&) const = default;
};

// A device cgroup rule. Absent type/major/minor mean "all" ('a', '*').
struct DeviceRule {
    bool allow { false };
    std::optional<std::string> type {};
    std::optional<int64_t> major {};
    std::optional<int64_t> minor {};
    std::optional<std::string> access {}; // subset of "rwm"
    bool operator==(DeviceRule const&) const = default;
};

struct Memory {
    std::optional<int64_t> limit {}; // bytes; -1 = unlimited
    std::optional<int64_t> reservation {};
    std::optional<int64_t> swap {}; // memory+swap, as in cgroup v1
    std::optional<int64_t> kernel {}; // deprecated
    std::optional<int64_t> kernel_tcp {};
    std::optional<uint64_t> swappiness {};
    std::optional<bool> disable_oom_killer {};
    std::optional<bool> use_hierarchy {};
    std::optional<bool> check_before_update {};
    bool operator==(Memory const&) const = default;
};

struct Cpu {
    std::optional<uint64_t> shares {};
    std::optional<int64_t> quota {}; // -1 = unlimited
    std::optional<uint64_t> burst {};
    std::optional<uint64_t> period {};
    std::optional<int64_t> realtime_runtime {};
    std::optional<uint64_t> realtime_period {};
    std::optional<std::string> cpus {};
    std::optional<std::string> mems {};
    std::optional<int64_t> idle {};
    bool operator==(Cpu const&) const = default;
};

struct Pids {
    std::optional<int64_t> limit {}; // <= 0 or absent: unlimited
    bool operator==(Pids const&) const = default;
};

struct WeightDevice {
    int64_t major { 0 };
    int64_t minor { 0 };
    std::optional<uint16_t> weight {};
    std::optional<uint16_t> leaf_weight {};
    bool operator==(WeightDevice const&) const = default;
};

struct ThrottleDevice {
    int64_t major { 0 };
    int64_t minor { 0 };
    uint64_t rate { 0 };
    bool operator==(ThrottleDevice const&) const = default;
};

struct BlockIo {
    std::optional<uint16_t> weight {};
    std::optional<uint16_t> leaf_weight {};
    std::vector<WeightDevice> weight_device {};
    std::vector<ThrottleDevice> throttle_read_bps_device {};
    std::vector<ThrottleDevice> throttle_write_bps_device {};
    std::vector<ThrottleDevice> throttle_read_iops_device {};
    std::vector<ThrottleDevice> throttle_write_iops_device {};
    bool operator==(BlockIo const&) const = default;
};

struct HugepageLimit {
    std::string page_size {}; // "2MB", "1GB"
    uint64_t limit { 0 };
    bool operator==(HugepageLimit const&) const = default;
};

struct InterfacePriority {
    std::string name {};
    uint32_t priority { 0 };
    bool operator==(InterfacePriority const&) const = default;
};

struct Network {
    std::optional<uint32_t> class_id {};
    std::vector<InterfacePriority> priorities {};
    bool operator==(Network const&) const = default;
};

struct Rdma {
    std::optional<uint32_t> hca_handles {};
    std::optional<uint32_t> hca_objects {};
    bool operator==(Rdma const&) const = default;
};

// linux.resources; also the payload of `update --resources`. Absent sections stay absent so
// that an update touches only what it names.
struct Resources {
    std::vector<DeviceRule> devices {};
    std::optional<Memory> memory {};
    std::optional<Cpu> cpu {};
    std::optional<Pids> pids {};
    std::optional<BlockIo> block_io {};
    std::vector<HugepageLimit> hugepage_limits {};
    std::optional<Network> network {};
    std::map<std::string, Rdma> rdma {};
    std::map<std::string, std::string> unified {}; // cgroup v2 file name -> value
    bool operator==(Resources const&) const = default;
    bool empty() const { return *this == Resources {}; }
};

struct SeccompArg {
    uint32_t index { 0 };
    uint64_t value { 0 };
    uint64_t value_two { 0 };
    std::string op {}; // SCMP_CMP_EQ, ...
    bool operator==(SeccompArg const&) const = default;
};

struct SeccompSyscall {
    std::vector<std::string> names {};
    std::string action {}; // SCMP_ACT_*
    std::optional<uint32_t> errno_ret {};
    std::vector<SeccompArg> args {};
    bool operator==(SeccompSyscall const&) const = default;
};

struct Seccomp {
    std::string default_action {};
    std::optional<uint32_t> default_errno_ret {};
    std::vector<std::string> architectures {}; // SCMP_ARCH_*
    std::vector<std::string> flags {}; // SECCOMP_FILTER_FLAG_*
    std::string listener_path {};
    std::string listener_metadata {};
    std::vector<SeccompSyscall> syscalls {};
    bool operator==(Seccomp const&) const = default;
};

struct Personality {
    std::string domain {}; // LINUX or LINUX32
    std::vector<std::string> flags {};
    bool operator==(Personality const&) const = default;
};

// Parsed and kept so that it round-trips; cryo does not apply it.
struct IntelRdt {
    std::string clos_id {};
    std::string l3_cache_schema {};
    std::string mem_bw_schema {};
    std::optional<bool> enable_cmt {};
    std::optional<bool> enable_mbm {};
    bool operator==(IntelRdt const&) const = default;
};

struct Linux {
    std::vector<IdMapping> uid_mappings {};
    std::vector<IdMapping> gid_mappings {};
    std::map<std::string, std::string> sysctl {};
    std::optional<Resources> resources {};
    std::string cgroups_path {};
    std::vector<Namespace> namespaces {}; // no two of the same type after validation
    std::vector<Device> devices {};
    std::optional<Seccomp> seccomp {};
    std::string rootfs_propagation {}; // "", "shared", "slave", "private", "unbindable"
    std::vector<std::string> masked_paths {};
    std::vector<std::string> readonly_paths {};
    std::string mount_label {};
    std::optional<IntelRdt> intel_rdt {};
    std::optional<Personality> personality {};
    std::map<std::string, TimeOffset> time_offsets {}; // "monotonic", "boottime"
    bool operator==(Linux const&) const = default;

    // The namespace entry of this type, if the spec asks for one.
    Namespace const* find_namespace(NamespaceType type) const
    {
        for (auto const& ns : namespaces)
            if (ns.type == type)
                return &ns;
        return nullptr;
    }
};

struct Spec {
    std::string oci_version {};
    std::optional<Process> process {}; // required by create; optional in the spec itself
    Root root {};
    std::string hostname {};
    std::string domainname {};
    std::vector<Mount> mounts {};
    Hooks hooks {};
    std::map<std::string, std::string> annotations {};
    Linux linux_config {}; // JSON "linux" (`linux` itself is a predefined macro under gnu++20)
    bool operator==(Spec const&) const = default;
};

// Parses and validates a config.json document. Errors are one line:
// "config.json: process.args[0]: expected string, got number",
// "config.json: invalid JSON at line 3 column 5: ...", "config.json: root.path: required field missing".
// Unknown fields are ignored.
Result<Spec> parse_spec(std::string_view json);
// Reads and parses <bundle_dir>/config.json.
Result<Spec> load_spec(std::string const& bundle_dir);
// A standalone linux.resources object (`update --resources`). Error paths are rooted at
// "resources", e.g. "resources.memory.limit: expected integer, got string".
Result<Resources> parse_resources(std::string_view json);
// A standalone process object (`exec --process`). Error paths are rooted at "process".
Result<Process> parse_process(std::string_view json);

// A standalone hooks object (e.g. kept in a state dir for poststop after the bundle is gone).
// Error paths are rooted at "hooks".
Result<Hooks> parse_hooks(std::string_view json);

// Pretty JSON (2-space indent), fields in the spec's order; absent optionals are omitted.
// Never throws: bytes that are not UTF-8 become U+FFFD (as Go's encoding/json does).
std::string to_json(Spec const& spec);
std::string to_json(Resources const& resources);
std::string to_json(Process const& process);
std::string to_json(Hooks const& hooks);

// What `runc spec` writes (args ["sh"], terminal, default caps and mounts, masked paths),
// except ociVersion (k_oci_version) and hostname ("cryo" where runc writes "runc").
// rootless: as `runc spec --rootless`: a user namespace mapping `uid`/`gid` to 0, no network
// namespace, sysfs bind-mounted, no gid= on devpts, no resources.
Spec default_spec(bool rootless, uint32_t uid, uint32_t gid);
// As above with the calling process's effective uid and gid (what runc does).
Spec default_spec(bool rootless = false);

} // namespace cryo::oci
