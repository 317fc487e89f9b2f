// Serialization of the spec structs, and the default spec of `cryo spec`.
#include <unistd.h>

#include "oci/json_schema.h"
#include "oci/names.h"
#include "oci/spec.h"

namespace cryo::oci {

namespace detail {

OrderedJson write_value(std::string const& v)
{
    return OrderedJson(v);
}

OrderedJson write_value(bool v)
{
    return OrderedJson(v);
}

OrderedJson write_value(NamespaceType v)
{
    return OrderedJson(std::string(namespace_type_name(v)));
}

} // namespace detail

std::string to_json(Spec const& spec)
{
    return detail::dump(detail::write_value(spec), 2);
}

std::string to_json(Resources const& resources)
{
    return detail::dump(detail::write_value(resources), 2);
}

std::string to_json(Process const& process)
{
    return detail::dump(detail::write_value(process), 2);
}

std::string to_json(Hooks const& hooks)
{
    return detail::dump(detail::write_value(hooks), 2);
}

Spec default_spec(bool rootless, uint32_t uid, uint32_t gid)
{
    std::vector<std::string> const caps { "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" };
    Spec spec {
        .oci_version = std::string(k_oci_version),
        .process = Process {
            .terminal = true,
            .user = { .uid = 0, .gid = 0 },
            .args = { "sh" },
            .env = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm" },
            .cwd = "/",
            .capabilities = Capabilities { .bounding = caps, .effective = caps, .permitted = caps, .ambient = caps },
            .rlimits = { { .type = "RLIMIT_NOFILE", .hard = 1024, .soft = 1024 } },
            .no_new_privileges = true,
        },
        .root = { .path = "rootfs", .readonly = true },
        .hostname = "cryo",
        .mounts = {
            { .destination = "/proc", .type = "proc", .source = "proc" },
            { .destination = "/dev", .type = "tmpfs", .source = "tmpfs",
              .options = { "nosuid", "strictatime", "mode=755", "size=65536k" } },
            { .destination = "/dev/pts", .type = "devpts", .source = "devpts",
              .options = { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5" } },
            { .destination = "/dev/shm", .type = "tmpfs", .source = "shm",
              .options = { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k" } },
            { .destination = "/dev/mqueue", .type = "mqueue", .source = "mqueue",
              .options = { "nosuid", "noexec", "nodev" } },
            { .destination = "/sys", .type = "sysfs", .source = "sysfs",
              .options = { "nosuid", "noexec", "nodev", "ro" } },
            { .destination = "/sys/fs/cgroup", .type = "cgroup", .source = "cgroup",
              .options = { "nosuid", "noexec", "nodev", "relatime", "ro" } },
        },
        .linux_config = {
            .resources = Resources { .devices = { { .allow = false, .access = "rwm" } } },
            .namespaces = { { .type = NamespaceType::Pid }, { .type = NamespaceType::Network },
                            { .type = NamespaceType::Ipc }, { .type = NamespaceType::Uts },
                            { .type = NamespaceType::Mount } },
            .masked_paths = { "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                              "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                              "/proc/scsi" },
            .readonly_paths = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger" },
        },
    };
    if (!rootless)
        return spec;

    // What runc's specconv.ToRootless does: an unprivileged user cannot create a network
    // namespace that is useful, mount sysfs, chown devpts to gid 5, or use cgroups.
    std::vector<Namespace> namespaces;
    for (auto const& ns : spec.linux_config.namespaces)
        if (ns.type != NamespaceType::Network && ns.type != NamespaceType::User)
            namespaces.push_back(ns);
    namespaces.push_back({ .type = NamespaceType::User });
    spec.linux_config.namespaces = std::move(namespaces);
    spec.linux_config.uid_mappings = { { .container_id = 0, .host_id = uid, .size = 1 } };
    spec.linux_config.gid_mappings = { { .container_id = 0, .host_id = gid, .size = 1 } };
    for (auto& mount : spec.mounts) {
        if (mount.destination == "/sys") {
            mount = { .destination = "/sys",
                      .type = "none",
                      .source = "/sys",
                      .options = { "rbind", "nosuid", "noexec", "nodev", "ro" } };
            continue;
        }
        std::erase_if(mount.options,
                      [](std::string const& o) { return o.starts_with("gid=") || o.starts_with("uid="); });
    }
    spec.linux_config.resources.reset();
    return spec;
}

Spec default_spec(bool rootless)
{
    return default_spec(rootless, ::geteuid(), ::getegid());
}

} // namespace cryo::oci
