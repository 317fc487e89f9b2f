// The features document (`cryo features`), in the shape and key order of `runc features`.
#include <algorithm>

#include "oci/features.h"
#include "oci/json_schema.h"
#include "oci/names.h"

namespace cryo::oci {

std::vector<std::string> const& known_mount_options()
{
    // The options runc 1.1 recognises in mounts[].options (its features output).
    static std::vector<std::string> const options {
        "acl",          "async",       "atime",          "bind",
        "defaults",     "dev",         "diratime",       "dirsync",
        "exec",         "iversion",    "lazytime",       "loud",
        "mand",         "noacl",       "noatime",        "nodev",
        "nodiratime",   "noexec",      "noiversion",     "nolazytime",
        "nomand",       "norelatime",  "nostrictatime",  "nosuid",
        "nosymfollow",  "private",     "ratime",         "rbind",
        "rdev",         "rdiratime",   "relatime",       "remount",
        "rexec",        "rnoatime",    "rnodev",         "rnodiratime",
        "rnoexec",      "rnorelatime", "rnostrictatime", "rnosuid",
        "rnosymfollow", "ro",          "rprivate",       "rrelatime",
        "rro",          "rrw",         "rshared",        "rslave",
        "rstrictatime", "rsuid",       "rsymfollow",     "runbindable",
        "rw",           "shared",      "silent",         "slave",
        "strictatime",  "suid",        "symfollow",      "sync",
        "tmpcopyup",    "unbindable",
    };
    return options;
}

std::vector<std::string> const& known_seccomp_actions()
{
    static std::vector<std::string> const actions {
        "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO",  "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
        "SCMP_ACT_LOG",   "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP",
    };
    return actions;
}

std::vector<std::string> const& known_seccomp_operators()
{
    static std::vector<std::string> const operators {
        "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE",
    };
    return operators;
}

std::vector<std::string> const& known_seccomp_archs()
{
    // Every SCMP_ARCH_* the runtime spec names (1.2), so that profiles written for other
    // machines (docker's default lists riscv64, s390x, ...) still parse.
    static std::vector<std::string> const archs {
        "SCMP_ARCH_AARCH64",  "SCMP_ARCH_ARM",         "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K",
        "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",   "SCMP_ARCH_MIPSEL",
        "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PARISC",      "SCMP_ARCH_PARISC64",
        "SCMP_ARCH_PPC",      "SCMP_ARCH_PPC64",       "SCMP_ARCH_PPC64LE",     "SCMP_ARCH_RISCV64",
        "SCMP_ARCH_S390",     "SCMP_ARCH_S390X",       "SCMP_ARCH_SH",          "SCMP_ARCH_SHEB",
        "SCMP_ARCH_X32",      "SCMP_ARCH_X86",         "SCMP_ARCH_X86_64",
    };
    return archs;
}

// What features advertises by default: the architectures libseccomp 2.5 (Debian 12) can
// build filters for. Newer ones (loongarch64, m68k, sh) need libseccomp 2.6, so they are
// accepted in configs but not promised here.
static std::vector<std::string> const& supported_seccomp_archs()
{
    static std::vector<std::string> const archs {
        "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM",      "SCMP_ARCH_MIPS",        "SCMP_ARCH_MIPS64",  "SCMP_ARCH_MIPS64N32",
        "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64",
        "SCMP_ARCH_PPC",     "SCMP_ARCH_PPC64",    "SCMP_ARCH_PPC64LE",     "SCMP_ARCH_RISCV64", "SCMP_ARCH_S390",
        "SCMP_ARCH_S390X",   "SCMP_ARCH_X32",      "SCMP_ARCH_X86",         "SCMP_ARCH_X86_64",
    };
    return archs;
}

std::string features_json(FeaturesInput const& input)
{
    using detail::OrderedJson;
    auto or_default = [](std::vector<std::string> const& given, std::vector<std::string> const& fallback) {
        return given.empty() ? fallback : given;
    };

    std::vector<std::string> namespaces = input.namespaces;
    if (namespaces.empty()) {
        for (auto type : all_namespace_types())
            namespaces.emplace_back(namespace_type_name(type));
        std::sort(namespaces.begin(), namespaces.end()); // runc lists them sorted
    }

    OrderedJson out;
    out["ociVersionMin"] = input.oci_version_min;
    out["ociVersionMax"] = input.oci_version_max.empty() ? std::string(k_oci_version) : input.oci_version_max;
    out["hooks"] = { "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop" };
    out["mountOptions"] = or_default(input.mount_options, known_mount_options());

    OrderedJson linux_json;
    linux_json["namespaces"] = namespaces;
    auto caps = OrderedJson::array();
    for (auto name : capability_names())
        caps.push_back(std::string(name));
    linux_json["capabilities"] = std::move(caps);
    linux_json["cgroup"] = OrderedJson {
        { "v1", input.cgroup_v1 },
        { "v2", input.cgroup_v2 },
        { "systemd", input.cgroup_systemd },
        { "systemdUser", input.cgroup_systemd_user },
    };
    OrderedJson seccomp;
    seccomp["enabled"] = input.seccomp_enabled;
    if (input.seccomp_enabled) {
        seccomp["actions"] = or_default(input.seccomp_actions, known_seccomp_actions());
        seccomp["operators"] = or_default(input.seccomp_operators, known_seccomp_operators());
        seccomp["archs"] = or_default(input.seccomp_archs, supported_seccomp_archs());
    }
    linux_json["seccomp"] = std::move(seccomp);
    linux_json["apparmor"] = OrderedJson { { "enabled", input.apparmor_enabled } };
    linux_json["selinux"] = OrderedJson { { "enabled", input.selinux_enabled } };
    out["linux"] = std::move(linux_json);
    if (!input.annotations.empty())
        out["annotations"] = input.annotations;
    return detail::dump(out, 4);
}

} // namespace cryo::oci
