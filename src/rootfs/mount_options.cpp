#include "rootfs/mount_options.h"

#include <array>

#include "sys/mounts.h"

namespace cryo::rootfs {

namespace {

struct FlagOption {
    std::string_view name;
    bool clear; // the option turns the flag off ("rw", "suid", "atime")
    unsigned long flag;
};

// mount(2) flags; see mount(8) FILESYSTEM-INDEPENDENT MOUNT OPTIONS.
constexpr std::array flag_options {
    FlagOption { "ro", false, MS_RDONLY },
    FlagOption { "rw", true, MS_RDONLY },
    FlagOption { "nosuid", false, MS_NOSUID },
    FlagOption { "suid", true, MS_NOSUID },
    FlagOption { "nodev", false, MS_NODEV },
    FlagOption { "dev", true, MS_NODEV },
    FlagOption { "noexec", false, MS_NOEXEC },
    FlagOption { "exec", true, MS_NOEXEC },
    FlagOption { "sync", false, MS_SYNCHRONOUS },
    FlagOption { "async", true, MS_SYNCHRONOUS },
    FlagOption { "dirsync", false, MS_DIRSYNC },
    FlagOption { "remount", false, MS_REMOUNT },
    FlagOption { "mand", false, MS_MANDLOCK },
    FlagOption { "nomand", true, MS_MANDLOCK },
    FlagOption { "atime", true, MS_NOATIME },
    FlagOption { "noatime", false, MS_NOATIME },
    FlagOption { "diratime", true, MS_NODIRATIME },
    FlagOption { "nodiratime", false, MS_NODIRATIME },
    FlagOption { "relatime", false, MS_RELATIME },
    FlagOption { "norelatime", true, MS_RELATIME },
    FlagOption { "strictatime", false, MS_STRICTATIME },
    FlagOption { "nostrictatime", true, MS_STRICTATIME },
    FlagOption { "nosymfollow", false, MS_NOSYMFOLLOW },
    FlagOption { "symfollow", true, MS_NOSYMFOLLOW },
    FlagOption { "silent", false, MS_SILENT },
    FlagOption { "loud", true, MS_SILENT },
};

// mount_setattr(2) attributes applied to every submount ("rro" = recursive read-only).
constexpr std::array recursive_options {
    FlagOption { "rro", false, MOUNT_ATTR_RDONLY },
    FlagOption { "rrw", true, MOUNT_ATTR_RDONLY },
    FlagOption { "rnosuid", false, MOUNT_ATTR_NOSUID },
    FlagOption { "rsuid", true, MOUNT_ATTR_NOSUID },
    FlagOption { "rnodev", false, MOUNT_ATTR_NODEV },
    FlagOption { "rdev", true, MOUNT_ATTR_NODEV },
    FlagOption { "rnoexec", false, MOUNT_ATTR_NOEXEC },
    FlagOption { "rexec", true, MOUNT_ATTR_NOEXEC },
    FlagOption { "rnodiratime", false, MOUNT_ATTR_NODIRATIME },
    FlagOption { "rdiratime", true, MOUNT_ATTR_NODIRATIME },
    FlagOption { "rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW },
    FlagOption { "rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW },
};

struct AtimeOption {
    std::string_view name;
    uint64_t mode; // value of the MOUNT_ATTR__ATIME field
};

// The atime mode is one field of mount_attr (MOUNT_ATTR_RELATIME is 0): each option
// replaces it, which mount_setattr(2) expresses as "clear MOUNT_ATTR__ATIME, set mode".
constexpr std::array recursive_atime_options {
    AtimeOption { "rrelatime", MOUNT_ATTR_RELATIME },       AtimeOption { "rnorelatime", MOUNT_ATTR_STRICTATIME },
    AtimeOption { "rnoatime", MOUNT_ATTR_NOATIME },         AtimeOption { "ratime", MOUNT_ATTR_RELATIME },
    AtimeOption { "rstrictatime", MOUNT_ATTR_STRICTATIME }, AtimeOption { "rnostrictatime", MOUNT_ATTR_RELATIME },
};

void apply_flag(FlagOption const& option, unsigned long& set, unsigned long& clear)
{
    if (option.clear) {
        set &= ~option.flag;
        clear |= option.flag;
    } else {
        set |= option.flag;
        clear &= ~option.flag;
    }
}

void parse_one(std::string_view option, MountOptions& out)
{
    for (auto const& f : flag_options) {
        if (f.name == option) {
            apply_flag(f, out.flags, out.clear_flags);
            return;
        }
    }
    for (auto const& f : recursive_options) {
        if (f.name == option) {
            apply_flag(f, out.recursive_attr_set, out.recursive_attr_clear);
            return;
        }
    }
    for (auto const& a : recursive_atime_options) {
        if (a.name == option) {
            out.recursive_attr_set = (out.recursive_attr_set & ~static_cast<unsigned long>(MOUNT_ATTR__ATIME)) | a.mode;
            out.recursive_attr_clear |= MOUNT_ATTR__ATIME;
            return;
        }
    }
    if (option == "bind") {
        out.bind = BindKind::Bind;
        return;
    }
    if (option == "rbind") {
        out.bind = BindKind::Rbind;
        return;
    }
    PropagationSetting propagation;
    if (parse_propagation(option, propagation)) {
        out.propagation = propagation;
        return;
    }
    if (option == "tmpcopyup") {
        out.tmpcopyup = true;
        return;
    }
    if (option == "idmap") {
        out.idmap = true;
        return;
    }
    if (option == "ridmap") {
        out.idmap = true;
        out.recursive_idmap = true;
        return;
    }
    if (option.empty())
        return;
    if (!out.data.empty())
        out.data += ',';
    out.data += option;
}

} // namespace

bool MountOptions::readonly() const
{
    return (flags & MS_RDONLY) != 0;
}

MountOptions parse_mount_options(std::span<std::string const> options)
{
    MountOptions out;
    for (auto const& option : options)
        parse_one(option, out);
    return out;
}

MountOptions parse_mount_options(std::string_view comma_separated)
{
    MountOptions out;
    while (!comma_separated.empty()) {
        auto comma = comma_separated.find(',');
        parse_one(comma_separated.substr(0, comma), out);
        if (comma == std::string_view::npos)
            break;
        comma_separated.remove_prefix(comma + 1);
    }
    return out;
}

unsigned long propagation_flags(PropagationSetting setting)
{
    unsigned long flags = 0;
    switch (setting.type) {
    case Propagation::Unchanged:
        return 0;
    case Propagation::Private:
        flags = MS_PRIVATE;
        break;
    case Propagation::Slave:
        flags = MS_SLAVE;
        break;
    case Propagation::Shared:
        flags = MS_SHARED;
        break;
    case Propagation::Unbindable:
        flags = MS_UNBINDABLE;
        break;
    }
    return setting.recursive ? flags | MS_REC : flags;
}

bool parse_propagation(std::string_view name, PropagationSetting& out)
{
    bool recursive = false;
    std::string_view base = name;
    // "rprivate" etc.; "rro" never reaches here as it is matched earlier.
    if (base.size() > 1 && base[0] == 'r' && base != "rw") {
        recursive = true;
        base.remove_prefix(1);
    }
    Propagation type;
    if (base == "private")
        type = Propagation::Private;
    else if (base == "slave")
        type = Propagation::Slave;
    else if (base == "shared")
        type = Propagation::Shared;
    else if (base == "unbindable")
        type = Propagation::Unbindable;
    else
        return false;
    out = { type, recursive };
    return true;
}

} // namespace cryo::rootfs
