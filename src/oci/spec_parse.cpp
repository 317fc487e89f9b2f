// Parsing and validation of config.json and its standalone parts (process, resources).
#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <regex>
#include <unistd.h>

#include "base/fd.h"
#include "oci/features.h"
#include "oci/json_schema.h"
#include "oci/names.h"
#include "oci/spec.h"

namespace cryo::oci {

namespace detail {

Result<void> read_value(Json const& j, std::string const& path, std::string& out)
{
    if (!j.is_string())
        return type_error(path, "string", j);
    out = j.get_ref<std::string const&>();
    return {};
}

Result<void> read_value(Json const& j, std::string const& path, bool& out)
{
    if (!j.is_boolean())
        return type_error(path, "boolean", j);
    out = j.get<bool>();
    return {};
}

Result<void> read_value(Json const& j, std::string const& path, NamespaceType& out)
{
    if (!j.is_string())
        return type_error(path, "string", j);
    auto const& name = j.get_ref<std::string const&>();
    auto type = namespace_type(name);
    if (!type)
        return path_error(path, fmt::format("unknown namespace type \"{}\"", name));
    out = *type;
    return {};
}

Result<void> post_read(Json const& j, std::string const& path, Device& out)
{
    // Character, block and unbuffered devices need numbers; a FIFO ("p") has none.
    if (out.type == "p")
        return {};
    for (auto key : { "major", "minor" }) {
        auto it = j.find(key);
        if (it == j.end() || it->is_null())
            return path_error(member_path(path, key), fmt::format("required for device type \"{}\"", out.type));
    }
    return {};
}

// nlohmann quotes the input it choked on ("last read: '...'"), raw bytes included; an error
// line must stay one printable line.
static std::string printable(std::string_view text)
{
    std::string out;
    for (char c : text) {
        auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte >= 0x7f)
            out += fmt::format("\\x{:02x}", byte);
        else
            out += c;
    }
    return out;
}

Result<Json> parse_json_text(std::string_view text)
{
    try {
        return Json::parse(text.begin(), text.end());
    } catch (Json::parse_error const& e) {
        // e.what(): "[json.exception.parse_error.101] parse error at line 3, column 5: why".
        // Keep the why; compute the position from e.byte ourselves, because nlohmann counts a
        // newline as the start of the next line ("line 3 column 0" for a raw newline in line 2).
        static std::regex const reason_pattern(R"(at line \d+, column \d+: (.*))");
        std::cmatch m;
        std::string_view what = e.what();
        std::string reason(what);
        if (std::regex_search(what.begin(), what.end(), m, reason_pattern))
            reason = m[1].str();
        size_t offending = std::min(e.byte > 0 ? e.byte - 1 : 0, text.size());
        size_t line = 1;
        size_t line_start = 0;
        for (size_t i = 0; i < offending; ++i) {
            if (text[i] == '\n') {
                ++line;
                line_start = i + 1;
            }
        }
        return Error::format("invalid JSON at line {} column {}: {}", line, offending - line_start + 1,
                             printable(reason));
    } catch (Json::exception const& e) {
        // e.g. out_of_range.406 "number overflow parsing '1e400'": drop the "[json.exception...] " tag.
        std::string_view what = e.what();
        if (auto end = what.find("] "); what.starts_with("[json.exception") && end != std::string_view::npos)
            what.remove_prefix(end + 2);
        return Error::format("invalid JSON: {}", what);
    }
}

} // namespace detail

namespace {

using detail::index_path;
using detail::member_path;
using detail::path_error;

bool contains(std::vector<std::string> const& list, std::string_view item)
{
    return std::find(list.begin(), list.end(), item) != list.end();
}

bool one_of(std::string_view value, std::initializer_list<std::string_view> allowed)
{
    return std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

Result<void> validate_capabilities(Capabilities const& caps, std::string const& path)
{
    std::pair<char const*, std::vector<std::string> const*> const sets[] = {
        { "bounding", &caps.bounding },   { "effective", &caps.effective }, { "inheritable", &caps.inheritable },
        { "permitted", &caps.permitted }, { "ambient", &caps.ambient },
    };
    for (auto const& [name, set] : sets) {
        for (size_t i = 0; i < set->size(); ++i) {
            auto const& cap = (*set)[i];
            if (!capability_number(cap))
                return path_error(index_path(member_path(path, name), i),
                                  fmt::format("unknown capability \"{}\"", cap));
        }
    }
    return {};
}

Result<void> validate_process(Process const& p, std::string const& path)
{
    if (p.args.empty())
        return path_error(member_path(path, "args"), "must not be empty");
    if (p.cwd.empty() || p.cwd[0] != '/')
        return path_error(member_path(path, "cwd"), fmt::format("\"{}\" is not an absolute path", p.cwd));
    if (p.capabilities)
        TRY(validate_capabilities(*p.capabilities, member_path(path, "capabilities")));
    for (size_t i = 0; i < p.rlimits.size(); ++i) {
        auto const& type = p.rlimits[i].type;
        auto here = member_path(index_path(member_path(path, "rlimits"), i), "type");
        if (!rlimit_resource(type))
            return path_error(here, fmt::format("unknown rlimit \"{}\"", type));
        for (size_t k = 0; k < i; ++k)
            if (p.rlimits[k].type == type)
                return path_error(here, fmt::format("duplicate rlimit \"{}\"", type));
    }
    if (p.oom_score_adj && (*p.oom_score_adj < -1000 || *p.oom_score_adj > 1000))
        return path_error(member_path(path, "oomScoreAdj"),
                          fmt::format("{} out of range (-1000 to 1000)", *p.oom_score_adj));
    if (p.io_priority) {
        auto const& c = p.io_priority->io_class;
        if (!one_of(c, { "IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE" }))
            return path_error(member_path(member_path(path, "ioPriority"), "class"),
                              fmt::format("unknown class \"{}\"", c));
        if (p.io_priority->priority < 0 || p.io_priority->priority > 7)
            return path_error(member_path(member_path(path, "ioPriority"), "priority"),
                              fmt::format("{} out of range (0 to 7)", p.io_priority->priority));
    }
    if (p.scheduler) {
        auto const& policy = p.scheduler->policy;
        if (!one_of(policy,
                    { "SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH", "SCHED_ISO", "SCHED_IDLE",
                      "SCHED_DEADLINE" }))
            return path_error(member_path(member_path(path, "scheduler"), "policy"),
                              fmt::format("unknown policy \"{}\"", policy));
    }
    return {};
}

// Kernel rules for /proc/PID/{u,g}id_map: non-empty ranges that do not wrap and do not
// overlap (user_namespaces(7)).
Result<void> validate_id_mappings(std::vector<IdMapping> const& maps, std::string const& path)
{
    constexpr uint64_t k_id_space = uint64_t { 1 } << 32;
    for (size_t i = 0; i < maps.size(); ++i) {
        auto const& m = maps[i];
        auto here = index_path(path, i);
        if (m.size == 0)
            return path_error(member_path(here, "size"), "must be greater than 0");
        if (uint64_t { m.container_id } + m.size > k_id_space)
            return path_error(here, "containerID + size exceeds 2^32");
        if (uint64_t { m.host_id } + m.size > k_id_space)
            return path_error(here, "hostID + size exceeds 2^32");
        for (size_t k = 0; k < i; ++k) {
            auto const& o = maps[k];
            if (m.container_id < uint64_t { o.container_id } + o.size
                && o.container_id < uint64_t { m.container_id } + m.size)
                return path_error(here, fmt::format("containerID range overlaps {}", index_path(path, k)));
            if (m.host_id < uint64_t { o.host_id } + o.size && o.host_id < uint64_t { m.host_id } + m.size)
                return path_error(here, fmt::format("hostID range overlaps {}", index_path(path, k)));
        }
    }
    return {};
}

Result<void> validate_resources(Resources const& r, std::string const& path)
{
    for (size_t i = 0; i < r.devices.size(); ++i) {
        auto const& rule = r.devices[i];
        auto here = index_path(member_path(path, "devices"), i);
        if (rule.type && !one_of(*rule.type, { "a", "b", "c" }))
            return path_error(member_path(here, "type"),
                              fmt::format("invalid device type \"{}\" (want a, b or c)", *rule.type));
        if (rule.access) {
            for (char c : *rule.access)
                if (c != 'r' && c != 'w' && c != 'm')
                    return path_error(member_path(here, "access"),
                                      fmt::format("invalid access \"{}\" (want letters of rwm)", *rule.access));
        }
    }
    if (r.memory && r.memory->swappiness && *r.memory->swappiness > 100)
        return path_error(member_path(member_path(path, "memory"), "swappiness"),
                          fmt::format("{} out of range (0 to 100)", *r.memory->swappiness));
    return {};
}

Result<void> validate_seccomp(Seccomp const& s, std::string const& path)
{
    auto check_action = [](std::string const& action, std::string const& here) -> Result<void> {
        if (!contains(known_seccomp_actions(), action))
            return path_error(here, fmt::format("unknown action \"{}\"", action));
        return {};
    };
    TRY(check_action(s.default_action, member_path(path, "defaultAction")));
    bool notify = s.default_action == "SCMP_ACT_NOTIFY";
    for (size_t i = 0; i < s.architectures.size(); ++i)
        if (!contains(known_seccomp_archs(), s.architectures[i]))
            return path_error(index_path(member_path(path, "architectures"), i),
                              fmt::format("unknown architecture \"{}\"", s.architectures[i]));
    for (size_t i = 0; i < s.syscalls.size(); ++i) {
        auto const& sc = s.syscalls[i];
        auto here = index_path(member_path(path, "syscalls"), i);
        if (sc.names.empty())
            return path_error(member_path(here, "names"), "must not be empty");
        TRY(check_action(sc.action, member_path(here, "action")));
        notify = notify || sc.action == "SCMP_ACT_NOTIFY";
        for (size_t k = 0; k < sc.args.size(); ++k) {
            auto const& arg = sc.args[k];
            auto arg_path = index_path(member_path(here, "args"), k);
            if (!contains(known_seccomp_operators(), arg.op))
                return path_error(member_path(arg_path, "op"), fmt::format("unknown operator \"{}\"", arg.op));
            if (arg.index > 5)
                return path_error(member_path(arg_path, "index"), fmt::format("{} out of range (0 to 5)", arg.index));
        }
    }
    if (notify && s.listener_path.empty())
        return path_error(member_path(path, "listenerPath"), "required when SCMP_ACT_NOTIFY is used");
    return {};
}

Result<void> validate_linux(Linux const& l, std::string const& path)
{
    for (size_t i = 0; i < l.namespaces.size(); ++i)
        for (size_t k = 0; k < i; ++k)
            if (l.namespaces[k].type == l.namespaces[i].type)
                return path_error(
                    member_path(index_path(member_path(path, "namespaces"), i), "type"),
                    fmt::format("duplicate namespace type \"{}\"", namespace_type_name(l.namespaces[i].type)));
    TRY(validate_id_mappings(l.uid_mappings, member_path(path, "uidMappings")));
    TRY(validate_id_mappings(l.gid_mappings, member_path(path, "gidMappings")));
    auto const* userns = l.find_namespace(NamespaceType::User);
    if (!userns && (!l.uid_mappings.empty() || !l.gid_mappings.empty()))
        return path_error(member_path(path, l.uid_mappings.empty() ? "gidMappings" : "uidMappings"),
                          "requires a user namespace");
    if (userns && userns->path.empty()) {
        if (l.uid_mappings.empty())
            return path_error(member_path(path, "uidMappings"), "required with a new user namespace");
        if (l.gid_mappings.empty())
            return path_error(member_path(path, "gidMappings"), "required with a new user namespace");
    }
    for (auto const& [name, offset] : l.time_offsets) {
        auto here = member_path(member_path(path, "timeOffsets"), name);
        if (name != "monotonic" && name != "boottime")
            return path_error(here, "unknown clock (want monotonic or boottime)");
        if (offset.nanosecs >= 1'000'000'000)
            return path_error(member_path(here, "nanosecs"),
                              fmt::format("{} out of range (0 to 999999999)", offset.nanosecs));
    }
    if (!l.time_offsets.empty() && !l.find_namespace(NamespaceType::Time))
        return path_error(member_path(path, "timeOffsets"), "requires a time namespace");
    for (size_t i = 0; i < l.devices.size(); ++i) {
        auto const& d = l.devices[i];
        auto here = index_path(member_path(path, "devices"), i);
        if (!one_of(d.type, { "c", "b", "u", "p" }))
            return path_error(member_path(here, "type"),
                              fmt::format("invalid device type \"{}\" (want c, b, u or p)", d.type));
        if (d.path.empty() || d.path[0] != '/')
            return path_error(member_path(here, "path"), fmt::format("\"{}\" is not an absolute path", d.path));
    }
    if (l.resources)
        TRY(validate_resources(*l.resources, member_path(path, "resources")));
    if (l.seccomp)
        TRY(validate_seccomp(*l.seccomp, member_path(path, "seccomp")));
    if (!one_of(l.rootfs_propagation,
                { "", "private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable" }))
        return path_error(member_path(path, "rootfsPropagation"),
                          fmt::format("unknown propagation \"{}\"", l.rootfs_propagation));
    if (l.personality && !one_of(l.personality->domain, { "LINUX", "LINUX32" }))
        return path_error(member_path(member_path(path, "personality"), "domain"),
                          fmt::format("unknown domain \"{}\" (want LINUX or LINUX32)", l.personality->domain));
    return {};
}

Result<void> validate_hooks(Hooks const& hooks, std::string const& root)
{
    std::pair<char const*, std::vector<Hook> const*> const kinds[] = {
        { "prestart", &hooks.prestart },
        { "createRuntime", &hooks.create_runtime },
        { "createContainer", &hooks.create_container },
        { "startContainer", &hooks.start_container },
        { "poststart", &hooks.poststart },
        { "poststop", &hooks.poststop },
    };
    for (auto const& [name, list] : kinds) {
        for (size_t i = 0; i < list->size(); ++i) {
            auto const& hook = (*list)[i];
            auto here = index_path(member_path(root, name), i);
            if (hook.path.empty() || hook.path[0] != '/')
                return path_error(member_path(here, "path"), fmt::format("\"{}\" is not an absolute path", hook.path));
            if (hook.timeout && *hook.timeout <= 0)
                return path_error(member_path(here, "timeout"), "must be greater than 0");
        }
    }
    return {};
}

Result<void> validate_spec(Spec const& spec)
{
    auto const& v = spec.oci_version;
    if (!(v == "1" || v.starts_with("1.")))
        return path_error("ociVersion", fmt::format("unsupported version \"{}\" (want 1.x)", v));
    if (spec.root.path.empty())
        return path_error("root.path", "must not be empty");
    if (spec.process)
        TRY(validate_process(*spec.process, "process"));
    for (size_t i = 0; i < spec.mounts.size(); ++i) {
        auto const& m = spec.mounts[i];
        auto here = index_path("mounts", i);
        if (m.destination.empty())
            return path_error(member_path(here, "destination"), "must not be empty");
        TRY(validate_id_mappings(m.uid_mappings, member_path(here, "uidMappings")));
        TRY(validate_id_mappings(m.gid_mappings, member_path(here, "gidMappings")));
    }
    TRY(validate_hooks(spec.hooks, "hooks"));
    TRY(validate_linux(spec.linux_config, "linux"));
    return {};
}

template<typename T>
Result<T> parse_part(std::string_view text, std::string const& root)
{
    auto json = TRY(detail::parse_json_text(text));
    T out {};
    TRY(detail::read_value(json, root, out));
    return out;
}

} // namespace

Result<Spec> parse_spec(std::string_view json)
{
    auto spec = TRY(parse_part<Spec>(json, "").context("config.json"));
    TRY(validate_spec(spec).context("config.json"));
    return spec;
}

Result<Spec> load_spec(std::string const& bundle_dir)
{
    std::string path = bundle_dir.empty() ? std::string(".") : bundle_dir;
    if (!path.ends_with('/'))
        path += '/';
    path += "config.json";
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd)
        return Error::from_errno(fmt::format("open {}", path));
    std::string text;
    char buffer[65536];
    for (;;) {
        ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return Error::from_errno(fmt::format("read {}", path));
        if (n == 0)
            break;
        text.append(buffer, static_cast<size_t>(n));
    }
    return parse_spec(text);
}

Result<Resources> parse_resources(std::string_view json)
{
    auto resources = TRY(parse_part<Resources>(json, "resources"));
    TRY(validate_resources(resources, "resources"));
    return resources;
}

Result<Hooks> parse_hooks(std::string_view json)
{
    auto hooks = TRY(parse_part<Hooks>(json, "hooks"));
    TRY(validate_hooks(hooks, "hooks"));
    return hooks;
}

Result<Process> parse_process(std::string_view json)
{
    auto process = TRY(parse_part<Process>(json, "process"));
    TRY(validate_process(process, "process"));
    return process;
}

} // namespace cryo::oci
