// `features` output (OCI runtime features document, as `runc features` prints it). The
// caller states what the host and the lower layers support; the static parts (hooks, mount
// options, namespaces, capabilities) come from this layer's tables.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace cryo::oci {

struct FeaturesInput {
    std::string oci_version_min { "1.0.0" };
    std::string oci_version_max {}; // empty: k_oci_version
    // Empty: runc's list of recognised mount options (see known_mount_options()).
    std::vector<std::string> mount_options {};
    // Empty: every namespace type cryo knows (spec names, "time" included).
    std::vector<std::string> namespaces {};
    bool cgroup_v1 { true };
    bool cgroup_v2 { true };
    bool cgroup_systemd { false };
    bool cgroup_systemd_user { false };
    bool seccomp_enabled { true };
    // Empty: every action and operator the spec names; the archs libseccomp 2.5 supports.
    std::vector<std::string> seccomp_actions {};
    std::vector<std::string> seccomp_operators {};
    std::vector<std::string> seccomp_archs {};
    bool apparmor_enabled { false };
    bool selinux_enabled { false };
    std::map<std::string, std::string> annotations {};
};

// Pretty JSON (4-space indent like runc), keys in runc's order.
std::string features_json(FeaturesInput const& input);

std::vector<std::string> const& known_mount_options();
std::vector<std::string> const& known_seccomp_actions();
std::vector<std::string> const& known_seccomp_operators();
// Every SCMP_ARCH_* the spec names: what a config may list (validation), not what features
// promises.
std::vector<std::string> const& known_seccomp_archs();

} // namespace cryo::oci
