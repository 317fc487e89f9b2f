// Pure OCI/Linux naming knowledge: capability, rlimit, namespace and signal names to numbers
// and back, and runc's container id rule. Tables only; no system calls.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/error.h"
#include "oci/spec.h"

namespace cryo::oci {

// Capabilities: "CAP_CHOWN" = 0 ... "CAP_CHECKPOINT_RESTORE" = 40.
inline constexpr int k_last_capability = 40;
std::optional<int> capability_number(std::string_view name); // exact, upper case, with CAP_
std::optional<std::string_view> capability_name(int number);
// All names, index = number.
std::span<std::string_view const> capability_names();

// Rlimits: "RLIMIT_CPU" = 0 ... "RLIMIT_RTTIME" = 15 (the RLIMIT_* values of <sys/resource.h>).
std::optional<int> rlimit_resource(std::string_view name);
std::optional<std::string_view> rlimit_name(int resource);

// Namespaces: spec type names ("network"), /proc/PID/ns names ("net"), CLONE_NEW* flags.
std::optional<NamespaceType> namespace_type(std::string_view spec_name);
std::string_view namespace_type_name(NamespaceType type); // "network"
std::string_view namespace_proc_name(NamespaceType type); // "net", as in /proc/self/ns/net
int namespace_clone_flag(NamespaceType type); // CLONE_NEWNET
std::span<NamespaceType const> all_namespace_types();

// Signals as runc's kill takes them: "SIGKILL", "KILL", "kill", "9"; "SIGRTMIN+3" too.
// Error: "unknown signal \"FOO\"".
Result<int> parse_signal(std::string_view text);
// "SIGKILL" for 9; "SIGRTMIN+n" for real-time signals; "" when out of range.
std::string signal_name(int number);

// runc's rule: ^[\w+-\.]+$ (letters, digits, '_', '+', ',', '-', '.'), not "." nor "..".
// Error: "invalid container id \"a/b\"".
Result<void> validate_container_id(std::string_view id);

} // namespace cryo::oci
