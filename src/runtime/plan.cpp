#include "runtime/plan.h"

#include <algorithm>
#include <sched.h>
#include <sys/sysmacros.h>

#include "oci/names.h"
#include "rootfs/mount_options.h"
#include "sys/raw.h"

namespace cryo::runtime {

Result<NamespacePlan> plan_namespaces(oci::Linux const& linux_config)
{
    NamespacePlan plan;
    // setns order for joins: user first (it may own the others), mount last (paths of
    // the other namespace files are host paths, resolved before we leave the host's mounts).
    static constexpr oci::NamespaceType join_order[] = {
        oci::NamespaceType::User,   oci::NamespaceType::Ipc,  oci::NamespaceType::Uts,   oci::NamespaceType::Network,
        oci::NamespaceType::Cgroup, oci::NamespaceType::Time, oci::NamespaceType::Mount,
    };
    for (auto const& ns : linux_config.namespaces) {
        plan.saved[std::string(oci::namespace_type_name(ns.type))] = ns.path;
        if (!ns.path.empty())
            continue;
        switch (ns.type) {
        case oci::NamespaceType::Cgroup:
            plan.new_cgroup = true;
            break;
        case oci::NamespaceType::Time:
            plan.new_time = true;
            break;
        case oci::NamespaceType::User:
            plan.new_user = true;
            plan.clone_flags |= CLONE_NEWUSER;
            break;
        default:
            plan.clone_flags |= oci::namespace_clone_flag(ns.type);
            break;
        }
    }
    for (auto type : join_order) {
        auto const* ns = linux_config.find_namespace(type);
        if (!ns || ns->path.empty())
            continue;
        bool by_parent = plan.new_user
            && (type == oci::NamespaceType::Ipc || type == oci::NamespaceType::Uts
                || type == oci::NamespaceType::Network || type == oci::NamespaceType::Cgroup);
        (by_parent ? plan.parent_joins : plan.joins).emplace_back(oci::namespace_clone_flag(type), ns->path);
    }
    if (auto const* pid = linux_config.find_namespace(oci::NamespaceType::Pid); pid && !pid->path.empty())
        plan.pid_path = pid->path;
    // A user namespace joined by path must come before the new namespaces, which it should
    // own: clone3 would create them owned by the host's user namespace instead.
    auto const* user = linux_config.find_namespace(oci::NamespaceType::User);
    if (user && !user->path.empty() && (plan.clone_flags & ~CLONE_NEWPID) != 0)
        return Error::make("linux.namespaces: joining a user namespace by path together with new "
                           "namespaces is not supported");
    if (!linux_config.time_offsets.empty() && !plan.new_time)
        return Error::make("linux.timeOffsets: requires a new time namespace");
    if ((!linux_config.uid_mappings.empty() || !linux_config.gid_mappings.empty()) && !plan.new_user)
        return Error::make("linux.uidMappings: requires a new user namespace");
    if (plan.new_user && (linux_config.uid_mappings.empty() || linux_config.gid_mappings.empty()))
        return Error::make("linux.uidMappings: a new user namespace needs uid and gid mappings");
    return plan;
}

Result<std::string> id_map_text(std::span<oci::IdMapping const> mappings)
{
    if (mappings.size() > 340)
        return Error::format("{} id mappings: the kernel accepts at most 340", mappings.size());
    std::string out;
    for (auto const& m : mappings) {
        if (m.size == 0)
            return Error::format("id mapping {} -> {}: size is 0", m.container_id, m.host_id);
        out += fmt::format("{} {} {}\n", m.container_id, m.host_id, m.size);
    }
    return out;
}

Result<std::map<std::string, ExecCgroupDir>> plan_exec_cgroup(std::map<std::string, std::string> const& paths,
                                                              std::string_view flag)
{
    std::map<std::string, std::string> by_controller; // "" = every other controller
    std::vector<std::string> pending; // "cpu" of "cpu,cpuacct:sub"
    auto check_path = [](std::string_view entry, std::string_view path) -> Result<std::string> {
        while (path.starts_with('/'))
            path.remove_prefix(1);
        while (path.ends_with('/'))
            path.remove_suffix(1);
        if (path.empty())
            return Error::format("--cgroup {:?}: empty path", entry);
        for (size_t begin = 0; begin <= path.size();) {
            auto end = std::min(path.find('/', begin), path.size());
            if (path.substr(begin, end - begin) == "..")
                return Error::format("--cgroup {:?}: the path must stay inside the container's cgroup", entry);
            begin = end + 1;
        }
        return std::string(path);
    };
    size_t begin = 0;
    while (begin <= flag.size()) {
        auto end = std::min(flag.find(',', begin), flag.size());
        auto entry = flag.substr(begin, end - begin);
        begin = end + 1;
        auto colon = entry.find(':');
        if (colon == std::string_view::npos) {
            if (end == flag.size() && pending.empty()) { // a last entry alone: the path form
                if (by_controller.contains(""))
                    return Error::format("--cgroup {:?}: a path without controller given twice", entry);
                by_controller[""] = TRY(check_path(entry, entry));
            } else {
                pending.emplace_back(entry);
            }
            continue;
        }
        auto path = TRY(check_path(entry, entry.substr(colon + 1)));
        pending.emplace_back(entry.substr(0, colon));
        for (auto& controller : pending) {
            if (controller.empty())
                return Error::format("--cgroup {:?}: empty controller name", entry);
            if (!paths.contains(controller))
                return Error::format("--cgroup {:?}: no controller {:?} in the container's cgroups", entry, controller);
            by_controller[controller] = path;
        }
        pending.clear();
    }
    if (!pending.empty())
        return Error::format("--cgroup {:?}: not [controller:]path", flag);
    std::map<std::string, ExecCgroupDir> out;
    for (auto const& [controller, dir] : paths) {
        auto it = by_controller.find(controller);
        if (it == by_controller.end())
            it = by_controller.find("");
        if (it == by_controller.end())
            out[controller] = { dir, false };
        else
            out[controller] = { dir + "/" + it->second, true };
    }
    return out;
}

Result<std::string> time_offsets_text(std::map<std::string, oci::TimeOffset> const& offsets)
{
    std::string out;
    for (auto const& [clock, offset] : offsets) {
        if (clock != "monotonic" && clock != "boottime")
            return Error::format("linux.timeOffsets: unknown clock {:?}", clock);
        if (offset.nanosecs >= 1000000000u)
            return Error::format("linux.timeOffsets.{}.nanosecs: must be below 1000000000", clock);
        out += fmt::format("{} {} {}\n", clock, offset.secs, offset.nanosecs);
    }
    return out;
}

std::optional<std::string_view> env_value(std::span<std::string const> env, std::string_view name)
{
    // The last definition wins, as getenv() in the process would see after execve.
    for (auto it = env.rbegin(); it != env.rend(); ++it) {
        std::string_view entry = *it;
        if (entry.size() > name.size() && entry.substr(0, name.size()) == name && entry[name.size()] == '=')
            return entry.substr(name.size() + 1);
    }
    return std::nullopt;
}

void env_set(std::vector<std::string>& env, std::string_view name, std::string_view value)
{
    std::string entry = fmt::format("{}={}", name, value);
    for (auto& e : env) {
        if (e.size() > name.size() && std::string_view(e).substr(0, name.size()) == name && e[name.size()] == '=') {
            e = std::move(entry);
            return;
        }
    }
    env.push_back(std::move(entry));
}

Result<ProcessPlan> plan_process(oci::Process const& process, oci::Linux const& linux_config)
{
    ProcessPlan plan;
    plan.args = process.args;
    if (plan.args.empty())
        return Error::make("process.args: must not be empty");
    plan.env = process.env;
    plan.cwd = process.cwd.empty() ? "/" : process.cwd;
    if (plan.cwd.front() != '/')
        return Error::format("process.cwd: {:?} is not an absolute path", plan.cwd);
    plan.terminal = process.terminal;
    plan.console_size = process.console_size;
    plan.user.uid = process.user.uid;
    plan.user.gid = process.user.gid;
    plan.user.additional_gids.assign(process.user.additional_gids.begin(), process.user.additional_gids.end());
    plan.umask = process.user.umask;
    if (process.capabilities) {
        auto const& c = *process.capabilities;
        rootfs::Capabilities caps;
        caps.bounding = TRY(
            rootfs::capability_set(c.bounding, &plan.unknown_capabilities).context("process.capabilities.bounding"));
        caps.effective = TRY(
            rootfs::capability_set(c.effective, &plan.unknown_capabilities).context("process.capabilities.effective"));
        caps.permitted = TRY(
            rootfs::capability_set(c.permitted, &plan.unknown_capabilities).context("process.capabilities.permitted"));
        caps.inheritable = TRY(rootfs::capability_set(c.inheritable, &plan.unknown_capabilities)
                                   .context("process.capabilities.inheritable"));
        caps.ambient = TRY(
            rootfs::capability_set(c.ambient, &plan.unknown_capabilities).context("process.capabilities.ambient"));
        // The kernel only lets a capability into the ambient set if it is permitted and
        // inheritable; runc skips the others (its default spec lists ambient caps without
        // inheritable ones), so do the same instead of failing the raise.
        caps.ambient &= caps.permitted & caps.inheritable;
        std::sort(plan.unknown_capabilities.begin(), plan.unknown_capabilities.end());
        plan.unknown_capabilities.erase(std::unique(plan.unknown_capabilities.begin(), plan.unknown_capabilities.end()),
                                        plan.unknown_capabilities.end());
        plan.capabilities = caps;
    }
    for (size_t i = 0; i < process.rlimits.size(); ++i) {
        auto const& r = process.rlimits[i];
        int resource = TRY(rootfs::rlimit_from_name(r.type).context("process.rlimits[{}].type", i));
        if (r.soft > r.hard)
            return Error::format("process.rlimits[{}]: soft limit {} exceeds hard limit {}", i, r.soft, r.hard);
        plan.rlimits.push_back({ .resource = resource, .soft = r.soft, .hard = r.hard });
    }
    plan.no_new_privileges = process.no_new_privileges;
    plan.oom_score_adj = process.oom_score_adj;
    if (process.io_priority) {
        int io_class
            = TRY(rootfs::io_class_from_name(process.io_priority->io_class).context("process.ioPriority.class"));
        plan.io_priority = rootfs::IoPriority { .io_class = io_class, .priority = process.io_priority->priority };
    }
    if (process.scheduler) {
        auto const& s = *process.scheduler;
        rootfs::Scheduler sched;
        sched.policy = TRY(rootfs::sched_policy_from_name(s.policy).context("process.scheduler.policy"));
        sched.nice = s.nice.value_or(0);
        sched.priority = static_cast<uint32_t>(s.priority.value_or(0));
        for (auto const& flag : s.flags)
            sched.flags |= TRY(rootfs::sched_flag_from_name(flag).context("process.scheduler.flags"));
        sched.runtime = s.runtime.value_or(0);
        sched.deadline = s.deadline.value_or(0);
        sched.period = s.period.value_or(0);
        plan.scheduler = sched;
    }
    if (linux_config.personality) {
        auto persona
            = TRY(rootfs::personality_from_name(linux_config.personality->domain).context("linux.personality.domain"));
        plan.personality = persona;
    }
    return plan;
}

cgroup::Resources to_cgroup_resources(oci::Resources const& r)
{
    cgroup::Resources out;
    if (r.memory) {
        auto const& m = *r.memory;
        out.memory = cgroup::MemoryResources {
            .limit = m.limit,
            .reservation = m.reservation,
            .swap = m.swap,
            .kernel = m.kernel,
            .kernel_tcp = m.kernel_tcp,
            .swappiness = m.swappiness,
            .disable_oom_killer = m.disable_oom_killer,
        };
    }
    if (r.cpu) {
        auto const& c = *r.cpu;
        out.cpu = cgroup::CpuResources {
            .shares = c.shares,
            .quota = c.quota,
            .burst = c.burst,
            .period = c.period,
            .realtime_runtime = c.realtime_runtime,
            .realtime_period = c.realtime_period,
            .cpus = c.cpus,
            .mems = c.mems,
            .idle = c.idle,
        };
    }
    if (r.pids)
        out.pids = cgroup::PidsResources { .limit = r.pids->limit };
    if (r.block_io) {
        auto const& b = *r.block_io;
        cgroup::BlockIoResources io;
        io.weight = b.weight;
        io.leaf_weight = b.leaf_weight;
        for (auto const& w : b.weight_device)
            io.weight_device.push_back(
                { .major = w.major, .minor = w.minor, .weight = w.weight, .leaf_weight = w.leaf_weight });
        auto throttle = [](std::vector<oci::ThrottleDevice> const& in) {
            std::vector<cgroup::ThrottleDevice> v;
            for (auto const& t : in)
                v.push_back({ .major = t.major, .minor = t.minor, .rate = t.rate });
            return v;
        };
        io.throttle_read_bps_device = throttle(b.throttle_read_bps_device);
        io.throttle_write_bps_device = throttle(b.throttle_write_bps_device);
        io.throttle_read_iops_device = throttle(b.throttle_read_iops_device);
        io.throttle_write_iops_device = throttle(b.throttle_write_iops_device);
        out.block_io = std::move(io);
    }
    for (auto const& h : r.hugepage_limits)
        out.hugepage_limits.push_back({ .page_size = h.page_size, .limit = h.limit });
    for (auto const& d : r.devices)
        out.devices.push_back(
            { .allow = d.allow, .type = d.type, .major = d.major, .minor = d.minor, .access = d.access });
    if (r.network) {
        cgroup::NetworkResources n;
        n.class_id = r.network->class_id;
        for (auto const& p : r.network->priorities)
            n.priorities.push_back({ .name = p.name, .priority = p.priority });
        out.network = std::move(n);
    }
    out.unified = r.unified;
    return out;
}

cgroup::Resources plan_cgroup_resources(oci::Linux const& linux_config)
{
    auto out = linux_config.resources ? to_cgroup_resources(*linux_config.resources) : cgroup::Resources {};
    if (!linux_config.resources || linux_config.resources->devices.empty())
        return out; // nothing denied: the parent's (allow-all) rules stay
    auto rule = [](char const* type, std::optional<int64_t> major, std::optional<int64_t> minor, char const* access) {
        return cgroup::DeviceRule {
            .allow = true, .type = std::string(type), .major = major, .minor = minor, .access = std::string(access)
        };
    };
    out.devices.push_back(rule("c", std::nullopt, std::nullopt, "m"));
    out.devices.push_back(rule("b", std::nullopt, std::nullopt, "m"));
    out.devices.push_back(rule("c", 1, 3, "rwm")); // null
    out.devices.push_back(rule("c", 1, 8, "rwm")); // random
    out.devices.push_back(rule("c", 1, 7, "rwm")); // full
    out.devices.push_back(rule("c", 5, 0, "rwm")); // tty
    out.devices.push_back(rule("c", 1, 5, "rwm")); // zero
    out.devices.push_back(rule("c", 1, 9, "rwm")); // urandom
    out.devices.push_back(rule("c", 136, std::nullopt, "rwm")); // /dev/pts/*
    out.devices.push_back(rule("c", 5, 2, "rwm")); // ptmx
    out.devices.push_back(rule("c", 10, 200, "rwm")); // net/tun
    for (auto const& d : linux_config.devices) {
        if (d.type == "p")
            continue;
        char const* type = d.type == "b" ? "b" : "c";
        out.devices.push_back(rule(type, d.major, d.minor, "rwm"));
    }
    return out;
}

Result<rootfs::SeccompProfile> to_seccomp_profile(oci::Seccomp const& s)
{
    rootfs::SeccompProfile p;
    p.default_action = TRY(rootfs::seccomp_action_from_name(s.default_action).context("linux.seccomp.defaultAction"));
    if (s.default_errno_ret)
        p.default_errno = *s.default_errno_ret;
    p.architectures = s.architectures;
    p.flags = s.flags;
    p.listener_path = s.listener_path;
    p.listener_metadata = s.listener_metadata;
    for (size_t i = 0; i < s.syscalls.size(); ++i) {
        auto const& sc = s.syscalls[i];
        rootfs::SeccompRule rule;
        rule.names = sc.names;
        rule.action = TRY(rootfs::seccomp_action_from_name(sc.action).context("linux.seccomp.syscalls[{}].action", i));
        if (sc.errno_ret)
            rule.errno_ret = *sc.errno_ret;
        for (size_t k = 0; k < sc.args.size(); ++k) {
            auto const& a = sc.args[k];
            auto op = TRY(rootfs::seccomp_op_from_name(a.op).context("linux.seccomp.syscalls[{}].args[{}].op", i, k));
            rule.args.push_back({ .index = a.index, .value = a.value, .value_two = a.value_two, .op = op });
        }
        p.rules.push_back(std::move(rule));
    }
    bool notify = p.default_action == rootfs::SeccompAction::Notify
        || std::any_of(p.rules.begin(), p.rules.end(),
                       [](auto const& r) { return r.action == rootfs::SeccompAction::Notify; });
    if (notify && p.listener_path.empty())
        return Error::make("linux.seccomp: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath");
    return p;
}

rootfs::CgroupMount plan_cgroup_mount(MountPlanInput const& input)
{
    rootfs::CgroupMount mount;
    mount.cgroup_namespace = input.cgroup_ns;
    for (auto const& h : input.hierarchies) {
        rootfs::CgroupHierarchy out;
        out.v2 = h.version == cgroup::Version::V2;
        if (out.v2 && input.hierarchies.size() == 1) {
            // Pure v2 host: the one hierarchy is the destination itself.
            auto it = input.cgroup_paths.find("");
            out.host_path = it != input.cgroup_paths.end() ? it->second : h.mount_point;
            mount.hierarchies.push_back(std::move(out));
            continue;
        }
        // v1 (or the hybrid unified mount): a directory named like the host's.
        auto slash = h.mount_point.rfind('/');
        out.dir = h.mount_point.substr(slash + 1);
        std::string joined;
        for (auto const& c : h.controllers) {
            if (!joined.empty())
                joined += ',';
            joined += c.starts_with("name=") ? "none," + c : c;
        }
        out.options = out.v2 ? "" : joined;
        // The container's dir in this hierarchy: any controller of it names the same dir.
        for (auto const& c : h.controllers) {
            auto key = c.starts_with("name=") ? c.substr(5) : c;
            auto it = input.cgroup_paths.find(key);
            if (it == input.cgroup_paths.end())
                it = input.cgroup_paths.find(c);
            if (it != input.cgroup_paths.end()) {
                out.host_path = it->second;
                break;
            }
        }
        if (out.host_path.empty() && out.v2) {
            auto it = input.cgroup_paths.find("hugetlb");
            if (it != input.cgroup_paths.end() && it->second.starts_with(h.mount_point))
                out.host_path = it->second;
        }
        if (out.host_path.empty() || (input.exists && !input.exists(out.host_path)))
            continue; // the container has no cgroup in this hierarchy: nothing to show
        mount.hierarchies.push_back(std::move(out));
    }
    return mount;
}

Result<rootfs::MountPlan> plan_mounts(oci::Spec const& spec, MountPlanInput const& input)
{
    rootfs::MountPlan plan;
    plan.rootfs = input.rootfs;
    plan.readonly_root = spec.root.readonly;
    plan.no_pivot = input.no_pivot;
    if (!spec.linux_config.rootfs_propagation.empty()) {
        if (!rootfs::parse_propagation(spec.linux_config.rootfs_propagation, plan.root_propagation))
            return Error::format("linux.rootfsPropagation: unknown value {:?}", spec.linux_config.rootfs_propagation);
    }
    bool dev_is_mounted = false;
    bool has_devpts = false;
    for (size_t i = 0; i < spec.mounts.size(); ++i) {
        auto const& m = spec.mounts[i];
        if (m.destination.empty() || m.destination.front() != '/')
            return Error::format("mounts[{}].destination: {:?} is not an absolute path", i, m.destination);
        auto options = rootfs::parse_mount_options(m.options);
        if (m.type == "cgroup" || m.type == "cgroup2") {
            rootfs::MountStep step = rootfs::make_mount_step(m.type, m.source, m.destination, options);
            step.cgroup = plan_cgroup_mount(input);
            plan.steps.push_back(std::move(step));
            continue;
        }
        bool bind = options.bind != rootfs::BindKind::None || m.type == "bind";
        std::string source = m.source;
        if (bind && !source.empty() && source.front() != '/')
            source = input.bundle + "/" + source;
        bool is_file = bind && input.is_file && input.is_file(source);
        plan.steps.push_back(rootfs::make_mount_step(m.type, source, m.destination, options, is_file));
        if (m.destination == "/dev")
            dev_is_mounted = true;
        if (m.destination == "/dev/pts" && m.type == "devpts")
            has_devpts = true;
    }
    for (size_t i = 0; i < spec.linux_config.devices.size(); ++i) {
        auto const& d = spec.linux_config.devices[i];
        rootfs::DeviceNode node;
        node.path = d.path;
        if (d.type == "c" || d.type == "u")
            node.type = rootfs::DeviceType::Char;
        else if (d.type == "b")
            node.type = rootfs::DeviceType::Block;
        else if (d.type == "p")
            node.type = rootfs::DeviceType::Fifo;
        else
            return Error::format("linux.devices[{}].type: unknown type {:?}", i, d.type);
        node.major = static_cast<uint32_t>(d.major);
        node.minor = static_cast<uint32_t>(d.minor);
        node.mode = d.file_mode.value_or(0666) & 07777;
        node.uid = d.uid.value_or(0);
        node.gid = d.gid.value_or(0);
        plan.devices.push_back(std::move(node));
    }
    // Default devices only when /dev is ours (a tmpfs from the spec), as runc does.
    if (dev_is_mounted) {
        rootfs::add_default_devices(plan.devices);
        plan.symlinks = rootfs::default_dev_symlinks(has_devpts);
    }
    plan.bind_devices = input.user_ns;
    plan.masked_paths = spec.linux_config.masked_paths;
    plan.readonly_paths = spec.linux_config.readonly_paths;
    return plan;
}

} // namespace cryo::runtime
