#include "rootfs/mount_plan.h"

#include <algorithm>
#include <sys/mount.h>

namespace cryo::rootfs {

MountStep make_mount_step(std::string type, std::string source, std::string destination, MountOptions const& options,
                          bool source_is_file)
{
    MountStep step;
    step.bind = options.bind;
    // runc and crun treat type "bind" without a bind option as a bind mount too.
    if (step.bind == BindKind::None && type == "bind")
        step.bind = BindKind::Bind;
    step.source = std::move(source);
    step.destination = std::move(destination);
    step.flags = options.flags;
    step.clear_flags = options.clear_flags;
    step.data = options.data;
    step.propagation = options.propagation;
    step.recursive_attr_set = options.recursive_attr_set;
    step.recursive_attr_clear = options.recursive_attr_clear;
    step.tmpcopyup = options.tmpcopyup;
    step.idmap = options.idmap;
    step.recursive_idmap = options.recursive_idmap;
    if (step.is_bind()) {
        step.fstype.clear();
        // mount(2) ignores every flag but MS_REC with MS_BIND: they take a second step.
        step.readonly_remount = (step.flags & ~static_cast<unsigned long>(MS_REMOUNT)) != 0 || step.clear_flags != 0
            || step.recursive_attr_set != 0 || step.recursive_attr_clear != 0;
        step.target = source_is_file ? TargetKind::File : TargetKind::Directory;
    } else {
        step.fstype = std::move(type);
        step.target = TargetKind::Directory;
    }
    return step;
}

std::vector<DeviceNode> default_devices()
{
    auto dev = [](char const* path, uint32_t major, uint32_t minor) {
        return DeviceNode {
            .path = path, .type = DeviceType::Char, .major = major, .minor = minor, .mode = 0666, .uid = 0, .gid = 0
        };
    };
    return {
        dev("/dev/null", 1, 3),   dev("/dev/zero", 1, 5),    dev("/dev/full", 1, 7),
        dev("/dev/random", 1, 8), dev("/dev/urandom", 1, 9), dev("/dev/tty", 5, 0),
    };
}

void add_default_devices(std::vector<DeviceNode>& devices)
{
    for (auto& device : default_devices()) {
        bool present
            = std::any_of(devices.begin(), devices.end(), [&](DeviceNode const& d) { return d.path == device.path; });
        if (!present)
            devices.push_back(std::move(device));
    }
}

std::vector<Symlink> default_dev_symlinks(bool ptmx_to_devpts)
{
    std::vector<Symlink> links {
        { "/proc/self/fd", "/dev/fd" },
        { "/proc/self/fd/0", "/dev/stdin" },
        { "/proc/self/fd/1", "/dev/stdout" },
        { "/proc/self/fd/2", "/dev/stderr" },
    };
    if (ptmx_to_devpts)
        links.push_back({ "pts/ptmx", "/dev/ptmx" });
    return links;
}

} // namespace cryo::rootfs
