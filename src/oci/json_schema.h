// Internal to oci/: one table per spec struct mapping JSON keys to members, and generic
// read/write over those tables, so parsing and serialization cannot drift apart. Reading
// tracks the JSON path for one-line errors ("process.args[0]: expected string, got number").
// Includes nlohmann/json.hpp: keep it out of public headers.
#pragma once

#include <cctype>
#include <concepts>
#include <limits>
#include <tuple>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "oci/spec.h"
#include "oci/state.h"

namespace cryo::oci::detail {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

// Field flags. Required: absent (or null) is an error. Always: written even when empty.
inline constexpr unsigned k_required = 1;
inline constexpr unsigned k_always = 2;

template<typename S, typename M>
struct Field {
    char const* key;
    M S::*member;
    unsigned flags;
};

template<typename S, typename M>
constexpr Field<S, M> field(char const* key, M S::*member, unsigned flags = 0)
{
    return { key, member, flags };
}

template<typename S>
struct Schema;

// clang-format 14 would split this requires-expression over four lines.
// clang-format off
template<typename S>
concept HasSchema = requires { Schema<S>::fields; };
// clang-format on

// clang-format off
template<> struct Schema<ConsoleSize> { static constexpr auto fields = std::tuple {
    field("height", &ConsoleSize::height, k_required), field("width", &ConsoleSize::width, k_required) }; };
template<> struct Schema<User> { static constexpr auto fields = std::tuple {
    field("uid", &User::uid), field("gid", &User::gid), field("umask", &User::umask),
    field("additionalGids", &User::additional_gids), field("username", &User::username) }; };
template<> struct Schema<Capabilities> { static constexpr auto fields = std::tuple {
    field("bounding", &Capabilities::bounding), field("effective", &Capabilities::effective),
    field("inheritable", &Capabilities::inheritable), field("permitted", &Capabilities::permitted),
    field("ambient", &Capabilities::ambient) }; };
template<> struct Schema<Rlimit> { static constexpr auto fields = std::tuple {
    field("type", &Rlimit::type, k_required), field("hard", &Rlimit::hard, k_required),
    field("soft", &Rlimit::soft, k_required) }; };
template<> struct Schema<IoPriority> { static constexpr auto fields = std::tuple {
    field("class", &IoPriority::io_class, k_required), field("priority", &IoPriority::priority) }; };
template<> struct Schema<Scheduler> { static constexpr auto fields = std::tuple {
    field("policy", &Scheduler::policy, k_required), field("nice", &Scheduler::nice),
    field("priority", &Scheduler::priority), field("flags", &Scheduler::flags),
    field("runtime", &Scheduler::runtime), field("deadline", &Scheduler::deadline),
    field("period", &Scheduler::period) }; };
template<> struct Schema<ExecCpuAffinity> { static constexpr auto fields = std::tuple {
    field("initial", &ExecCpuAffinity::initial), field("final", &ExecCpuAffinity::final) }; };
template<> struct Schema<Process> { static constexpr auto fields = std::tuple {
    field("terminal", &Process::terminal), field("consoleSize", &Process::console_size),
    field("user", &Process::user, k_always), field("args", &Process::args, k_required),
    field("commandLine", &Process::command_line), field("env", &Process::env),
    field("cwd", &Process::cwd, k_required | k_always), field("capabilities", &Process::capabilities),
    field("rlimits", &Process::rlimits), field("noNewPrivileges", &Process::no_new_privileges),
    field("apparmorProfile", &Process::apparmor_profile), field("oomScoreAdj", &Process::oom_score_adj),
    field("selinuxLabel", &Process::selinux_label), field("ioPriority", &Process::io_priority),
    field("scheduler", &Process::scheduler), field("execCPUAffinity", &Process::exec_cpu_affinity) }; };
template<> struct Schema<Root> { static constexpr auto fields = std::tuple {
    field("path", &Root::path, k_required | k_always), field("readonly", &Root::readonly) }; };
template<> struct Schema<IdMapping> { static constexpr auto fields = std::tuple {
    field("containerID", &IdMapping::container_id, k_required), field("hostID", &IdMapping::host_id, k_required),
    field("size", &IdMapping::size, k_required) }; };
template<> struct Schema<Mount> { static constexpr auto fields = std::tuple {
    field("destination", &Mount::destination, k_required | k_always), field("type", &Mount::type),
    field("source", &Mount::source), field("options", &Mount::options),
    field("uidMappings", &Mount::uid_mappings), field("gidMappings", &Mount::gid_mappings) }; };
template<> struct Schema<Hook> { static constexpr auto fields = std::tuple {
    field("path", &Hook::path, k_required | k_always), field("args", &Hook::args), field("env", &Hook::env),
    field("timeout", &Hook::timeout) }; };
template<> struct Schema<Hooks> { static constexpr auto fields = std::tuple {
    field("prestart", &Hooks::prestart), field("createRuntime", &Hooks::create_runtime),
    field("createContainer", &Hooks::create_container), field("startContainer", &Hooks::start_container),
    field("poststart", &Hooks::poststart), field("poststop", &Hooks::poststop) }; };
template<> struct Schema<Namespace> { static constexpr auto fields = std::tuple {
    field("type", &Namespace::type, k_required), field("path", &Namespace::path) }; };
template<> struct Schema<TimeOffset> { static constexpr auto fields = std::tuple {
    field("secs", &TimeOffset::secs), field("nanosecs", &TimeOffset::nanosecs) }; };
template<> struct Schema<Device> { static constexpr auto fields = std::tuple {
    field("type", &Device::type, k_required), field("path", &Device::path, k_required),
    field("major", &Device::major), field("minor", &Device::minor), field("fileMode", &Device::file_mode),
    field("uid", &Device::uid), field("gid", &Device::gid) }; };
template<> struct Schema<DeviceRule> { static constexpr auto fields = std::tuple {
    field("allow", &DeviceRule::allow, k_required | k_always), field("type", &DeviceRule::type),
    field("major", &DeviceRule::major), field("minor", &DeviceRule::minor),
    field("access", &DeviceRule::access) }; };
template<> struct Schema<Memory> { static constexpr auto fields = std::tuple {
    field("limit", &Memory::limit), field("reservation", &Memory::reservation), field("swap", &Memory::swap),
    field("kernel", &Memory::kernel), field("kernelTCP", &Memory::kernel_tcp),
    field("swappiness", &Memory::swappiness), field("disableOOMKiller", &Memory::disable_oom_killer),
    field("useHierarchy", &Memory::use_hierarchy), field("checkBeforeUpdate", &Memory::check_before_update) }; };
template<> struct Schema<Cpu> { static constexpr auto fields = std::tuple {
    field("shares", &Cpu::shares), field("quota", &Cpu::quota), field("burst", &Cpu::burst),
    field("period", &Cpu::period), field("realtimeRuntime", &Cpu::realtime_runtime),
    field("realtimePeriod", &Cpu::realtime_period), field("cpus", &Cpu::cpus), field("mems", &Cpu::mems),
    field("idle", &Cpu::idle) }; };
template<> struct Schema<Pids> { static constexpr auto fields = std::tuple {
    field("limit", &Pids::limit) }; };
template<> struct Schema<WeightDevice> { static constexpr auto fields = std::tuple {
    field("major", &WeightDevice::major, k_required), field("minor", &WeightDevice::minor, k_required),
    field("weight", &WeightDevice::weight), field("leafWeight", &WeightDevice::leaf_weight) }; };
template<> struct Schema<ThrottleDevice> { static constexpr auto fields = std::tuple {
    field("major", &ThrottleDevice::major, k_required), field("minor", &ThrottleDevice::minor, k_required),
    field("rate", &ThrottleDevice::rate, k_required) }; };
template<> struct Schema<BlockIo> { static constexpr auto fields = std::tuple {
    field("weight", &BlockIo::weight), field("leafWeight", &BlockIo::leaf_weight),
    field("weightDevice", &BlockIo::weight_device),
    field("throttleReadBpsDevice", &BlockIo::throttle_read_bps_device),
    field("throttleWriteBpsDevice", &BlockIo::throttle_write_bps_device),
    field("throttleReadIOPSDevice", &BlockIo::throttle_read_iops_device),
    field("throttleWriteIOPSDevice", &BlockIo::throttle_write_iops_device) }; };
template<> struct Schema<HugepageLimit> { static constexpr auto fields = std::tuple {
    field("pageSize", &HugepageLimit::page_size, k_required), field("limit", &HugepageLimit::limit, k_required) }; };
template<> struct Schema<InterfacePriority> { static constexpr auto fields = std::tuple {
    field("name", &InterfacePriority::name, k_required), field("priority", &InterfacePriority::priority, k_required) }; };
template<> struct Schema<Network> { static constexpr auto fields = std::tuple {
    field("classID", &Network::class_id), field("priorities", &Network::priorities) }; };
template<> struct Schema<Rdma> { static constexpr auto fields = std::tuple {
    field("hcaHandles", &Rdma::hca_handles), field("hcaObjects", &Rdma::hca_objects) }; };
template<> struct Schema<Resources> { static constexpr auto fields = std::tuple {
    field("devices", &Resources::devices), field("memory", &Resources::memory), field("cpu", &Resources::cpu),
    field("pids", &Resources::pids), field("blockIO", &Resources::block_io),
    field("hugepageLimits", &Resources::hugepage_limits), field("network", &Resources::network),
    field("rdma", &Resources::rdma), field("unified", &Resources::unified) }; };
template<> struct Schema<SeccompArg> { static constexpr auto fields = std::tuple {
    field("index", &SeccompArg::index, k_required), field("value", &SeccompArg::value, k_required),
    field("valueTwo", &SeccompArg::value_two), field("op", &SeccompArg::op, k_required) }; };
template<> struct Schema<SeccompSyscall> { static constexpr auto fields = std::tuple {
    field("names", &SeccompSyscall::names, k_required), field("action", &SeccompSyscall::action, k_required),
    field("errnoRet", &SeccompSyscall::errno_ret), field("args", &SeccompSyscall::args) }; };
template<> struct Schema<Seccomp> { static constexpr auto fields = std::tuple {
    field("defaultAction", &Seccomp::default_action, k_required),
    field("defaultErrnoRet", &Seccomp::default_errno_ret), field("architectures", &Seccomp::architectures),
    field("flags", &Seccomp::flags), field("listenerPath", &Seccomp::listener_path),
    field("listenerMetadata", &Seccomp::listener_metadata), field("syscalls", &Seccomp::syscalls) }; };
template<> struct Schema<Personality> { static constexpr auto fields = std::tuple {
    field("domain", &Personality::domain, k_required), field("flags", &Personality::flags) }; };
template<> struct Schema<IntelRdt> { static constexpr auto fields = std::tuple {
    field("closID", &IntelRdt::clos_id), field("l3CacheSchema", &IntelRdt::l3_cache_schema),
    field("memBwSchema", &IntelRdt::mem_bw_schema), field("enableCMT", &IntelRdt::enable_cmt),
    field("enableMBM", &IntelRdt::enable_mbm) }; };
template<> struct Schema<Linux> { static constexpr auto fields = std::tuple {
    field("uidMappings", &Linux::uid_mappings), field("gidMappings", &Linux::gid_mappings),
    field("sysctl", &Linux::sysctl), field("resources", &Linux::resources),
    field("cgroupsPath", &Linux::cgroups_path), field("namespaces", &Linux::namespaces),
    field("devices", &Linux::devices), field("seccomp", &Linux::seccomp),
    field("rootfsPropagation", &Linux::rootfs_propagation), field("maskedPaths", &Linux::masked_paths),
    field("readonlyPaths", &Linux::readonly_paths), field("mountLabel", &Linux::mount_label),
    field("intelRdt", &Linux::intel_rdt), field("personality", &Linux::personality),
    field("timeOffsets", &Linux::time_offsets) }; };
template<> struct Schema<Spec> { static constexpr auto fields = std::tuple {
    field("ociVersion", &Spec::oci_version, k_required | k_always), field("process", &Spec::process),
    field("root", &Spec::root, k_required | k_always), field("hostname", &Spec::hostname),
    field("domainname", &Spec::domainname), field("mounts", &Spec::mounts), field("hooks", &Spec::hooks),
    field("annotations", &Spec::annotations), field("linux", &Spec::linux_config) }; };
// clang-format on

// ---- paths ----------------------------------------------------------------------------

inline std::string member_path(std::string const& parent, std::string_view key)
{
    // Keys that are not plain identifiers (annotation names, sysctls) are bracketed.
    bool plain = !key.empty();
    for (char c : key)
        plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    std::string out = parent;
    if (plain) {
        if (!out.empty())
            out += '.';
        out += key;
    } else {
        out += "[\"";
        out += key;
        out += "\"]";
    }
    return out;
}

inline std::string index_path(std::string const& parent, size_t index)
{
    return fmt::format("{}[{}]", parent, index);
}

inline Error path_error(std::string const& path, std::string reason)
{
    if (path.empty())
        return Error::make(std::move(reason));
    return Error::make(fmt::format("{}: {}", path, reason));
}

inline Error type_error(std::string const& path, std::string_view expected, Json const& got)
{
    return path_error(path, fmt::format("expected {}, got {}", expected, got.type_name()));
}

// ---- reading --------------------------------------------------------------------------

Result<void> read_value(Json const& j, std::string const& path, std::string& out);
Result<void> read_value(Json const& j, std::string const& path, bool& out);
Result<void> read_value(Json const& j, std::string const& path, NamespaceType& out);
// clang-format 14 would join each requires-clause to the declaration that follows it.
// clang-format off
template<std::integral T>
    requires(!std::same_as<T, bool>)
Result<void> read_value(Json const& j, std::string const& path, T& out);
// clang-format on
template<typename T>
Result<void> read_value(Json const& j, std::string const& path, std::optional<T>& out);
template<typename T>
Result<void> read_value(Json const& j, std::string const& path, std::vector<T>& out);
template<typename T>
Result<void> read_value(Json const& j, std::string const& path, std::map<std::string, T>& out);
template<HasSchema S>
Result<void> read_value(Json const& j, std::string const& path, S& out);

// clang-format off
template<std::integral T>
    requires(!std::same_as<T, bool>)
Result<void> read_value(Json const& j, std::string const& path, T& out)
// clang-format on
{
    // Integers only: Go's encoding/json rejects 1.5 for an int field, and so do we.
    if (!j.is_number_integer())
        return type_error(path, "integer", j);
    using Limits = std::numeric_limits<T>;
    if (j.is_number_unsigned()) {
        auto v = j.get<uint64_t>();
        if (v > static_cast<uint64_t>(Limits::max()))
            return path_error(path, fmt::format("{} out of range ({} to {})", v, Limits::min(), Limits::max()));
        out = static_cast<T>(v);
        return {};
    }
    auto v = j.get<int64_t>();
    if constexpr (std::is_unsigned_v<T>) {
        if (v < 0)
            return path_error(path, fmt::format("{} out of range ({} to {})", v, Limits::min(), Limits::max()));
    } else {
        if (v < static_cast<int64_t>(Limits::min()) || v > static_cast<int64_t>(Limits::max()))
            return path_error(path, fmt::format("{} out of range ({} to {})", v, Limits::min(), Limits::max()));
    }
    out = static_cast<T>(v);
    return {};
}

template<typename T>
Result<void> read_value(Json const& j, std::string const& path, std::optional<T>& out)
{
    if (j.is_null()) {
        out.reset();
        return {};
    }
    T value {};
    TRY(read_value(j, path, value));
    out = std::move(value);
    return {};
}

template<typename T>
Result<void> read_value(Json const& j, std::string const& path, std::vector<T>& out)
{
    if (j.is_null()) // Go decodes null as an empty slice
        return {};
    if (!j.is_array())
        return type_error(path, "array", j);
    out.clear();
    out.reserve(j.size());
    for (size_t i = 0; i < j.size(); ++i) {
        T value {};
        TRY(read_value(j[i], index_path(path, i), value));
        out.push_back(std::move(value));
    }
    return {};
}

template<typename T>
Result<void> read_value(Json const& j, std::string const& path, std::map<std::string, T>& out)
{
    if (j.is_null())
        return {};
    if (!j.is_object())
        return type_error(path, "object", j);
    out.clear();
    for (auto const& [key, item] : j.items()) {
        T value {};
        TRY(read_value(item, member_path(path, key), value));
        out.emplace(key, std::move(value));
    }
    return {};
}

template<typename S, typename M>
bool read_field(Json const& obj, std::string const& path, Field<S, M> const& f, S& out, Result<void>& status)
{
    auto it = obj.find(f.key);
    if (it == obj.end() || it->is_null()) {
        if (f.flags & k_required) {
            status = path_error(member_path(path, f.key), "required field missing");
            return false;
        }
        return true;
    }
    status = read_value(*it, member_path(path, f.key), out.*(f.member));
    return status.has_value();
}

// Checks a table cannot express, run after the fields of a struct were read (they may look
// at the raw object, e.g. to tell an absent number from 0).
Result<void> post_read(Json const& j, std::string const& path, Device& out);

template<HasSchema S>
Result<void> read_value(Json const& j, std::string const& path, S& out)
{
    if (!j.is_object())
        return type_error(path, "object", j);
    Result<void> status;
    std::apply([&](auto const&... f) { (... && read_field(j, path, f, out, status)); }, Schema<S>::fields);
    if constexpr (requires { post_read(j, path, out); }) {
        if (status)
            status = post_read(j, path, out);
    }
    return status;
}

// Parses text into a JSON value; syntax errors read "invalid JSON at line L column C: why".
Result<Json> parse_json_text(std::string_view text);

// ---- writing --------------------------------------------------------------------------

OrderedJson write_value(std::string const& v);
OrderedJson write_value(bool v);
OrderedJson write_value(NamespaceType v);
// clang-format off
template<std::integral T>
    requires(!std::same_as<T, bool>)
OrderedJson write_value(T v)
// clang-format on
{
    return OrderedJson(v);
}
template<typename T>
OrderedJson write_value(std::optional<T> const& v);
template<typename T>
OrderedJson write_value(std::vector<T> const& v);
template<typename T>
OrderedJson write_value(std::map<std::string, T> const& v);
template<HasSchema S>
OrderedJson write_value(S const& v);

template<typename T>
OrderedJson write_value(std::optional<T> const& v)
{
    return v ? write_value(*v) : OrderedJson(nullptr);
}

template<typename T>
OrderedJson write_value(std::vector<T> const& v)
{
    auto out = OrderedJson::array();
    for (auto const& item : v)
        out.push_back(write_value(item));
    return out;
}

template<typename T>
OrderedJson write_value(std::map<std::string, T> const& v)
{
    auto out = OrderedJson::object();
    for (auto const& [key, item] : v)
        out[key] = write_value(item);
    return out;
}

// Go's omitempty, roughly: empty strings, containers, false, absent optionals and structs
// equal to their default are left out unless the field is marked k_always. Plain numbers
// are always written (uid 0 is meaningful).
template<typename T>
bool is_omitted(T const& v)
{
    if constexpr (std::is_same_v<T, bool>)
        return !v;
    else if constexpr (std::is_integral_v<T> || std::is_enum_v<T>)
        return false;
    else if constexpr (HasSchema<T>)
        return v == T {};
    else if constexpr (requires { v.has_value(); })
        return !v.has_value();
    else
        return v.empty();
}

template<HasSchema S>
OrderedJson write_value(S const& v)
{
    auto out = OrderedJson::object();
    std::apply(
        [&](auto const&... f) {
            ((!(f.flags & k_always) && is_omitted(v.*(f.member)) ? void()
                                                                 : void(out[f.key] = write_value(v.*(f.member)))),
             ...);
        },
        Schema<S>::fields);
    return out;
}

// Serializes without throwing: strings that are not valid UTF-8 (paths are bytes on Linux)
// get U+FFFD for the bad bytes, as Go's encoding/json does in runc, instead of an exception.
// indent < 0: compact.
inline std::string dump(OrderedJson const& j, int indent)
{
    return j.dump(indent, ' ', false, OrderedJson::error_handler_t::replace);
}

} // namespace cryo::oci::detail
