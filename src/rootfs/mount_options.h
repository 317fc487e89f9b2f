// Parsing of OCI mount option strings ("ro", "nosuid", "rbind", "rprivate", "mode=755"...)
// into mount(2) flags, propagation and the fs data string. Pure: no syscalls.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace cryo::rootfs {

// Mount propagation as mount(2) wants it (MS_PRIVATE, MS_SLAVE, MS_SHARED, MS_UNBINDABLE),
// with or without MS_REC.
enum class Propagation : uint8_t {
    Unchanged,
    Private,
    Slave,
    Shared,
    Unbindable,
};

struct PropagationSetting {
    Propagation type { Propagation::Unchanged };
    bool recursive { false };
    bool operator==(PropagationSetting const&) const = default;
};

enum class BindKind : uint8_t {
    None,
    Bind, // MS_BIND
    Rbind, // MS_BIND | MS_REC
};

struct MountOptions {
    // MS_* flags to set (MS_RDONLY, MS_NOSUID, ...); never contains MS_BIND/MS_REC or
    // propagation bits: those live in `bind` and `propagation`.
    unsigned long flags { 0 };
    // MS_* flags an option explicitly turned off ("rw", "suid", "dev", "exec", "atime"...):
    // for bind mounts, whose flags come from the source, these are cleared.
    unsigned long clear_flags { 0 };
    BindKind bind { BindKind::None };
    PropagationSetting propagation;
    bool tmpcopyup { false };
    bool idmap { false };
    bool recursive_idmap { false };
    // "r"-prefixed attributes of the mount_setattr(2) kind ("rro", "rnosuid"...): apply
    // the attribute to every submount of a recursive bind.
    unsigned long recursive_attr_set { 0 };
    unsigned long recursive_attr_clear { 0 };
    // Everything not recognised, comma-joined in order: passed to the fs as data.
    std::string data;

    bool readonly() const;
    bool operator==(MountOptions const&) const = default;
};

MountOptions parse_mount_options(std::span<std::string const> options);
// Convenience for a comma-separated list ("nosuid,nodev,mode=755").
MountOptions parse_mount_options(std::string_view comma_separated);

// MS_PRIVATE/MS_SLAVE/... (| MS_REC) for a setting; 0 for Unchanged.
unsigned long propagation_flags(PropagationSetting setting);
// Parses "rprivate", "slave"... (the values of rootfsPropagation); nullopt-like Unchanged
// with ok=false for unknown strings.
bool parse_propagation(std::string_view name, PropagationSetting& out);

} // namespace cryo::rootfs
