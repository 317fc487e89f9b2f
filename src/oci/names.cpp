#include "oci/names.h"

#include <array>
#include <cctype>
#include <charconv>
#include <csignal>
#include <sched.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080 // linux/sched.h; older libc headers lack it
#endif

namespace cryo::oci {

namespace {

// Index = capability number (linux/capability.h).
constexpr std::array<std::string_view, k_last_capability + 1> k_capabilities {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

// Index = resource number (asm-generic/resource.h, the same on every Linux arch we build for).
constexpr std::array<std::string_view, 16> k_rlimits {
    "RLIMIT_CPU",      "RLIMIT_FSIZE",  "RLIMIT_DATA",    "RLIMIT_STACK",  "RLIMIT_CORE",  "RLIMIT_RSS",
    "RLIMIT_NPROC",    "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS",     "RLIMIT_LOCKS", "RLIMIT_SIGPENDING",
    "RLIMIT_MSGQUEUE", "RLIMIT_NICE",   "RLIMIT_RTPRIO",  "RLIMIT_RTTIME",
};

struct NamespaceInfo {
    NamespaceType type;
    std::string_view spec_name;
    std::string_view proc_name;
    int clone_flag;
};

constexpr std::array<NamespaceInfo, 8> k_namespaces { {
    { NamespaceType::Pid, "pid", "pid", CLONE_NEWPID },
    { NamespaceType::Network, "network", "net", CLONE_NEWNET },
    { NamespaceType::Mount, "mount", "mnt", CLONE_NEWNS },
    { NamespaceType::Ipc, "ipc", "ipc", CLONE_NEWIPC },
    { NamespaceType::Uts, "uts", "uts", CLONE_NEWUTS },
    { NamespaceType::User, "user", "user", CLONE_NEWUSER },
    { NamespaceType::Cgroup, "cgroup", "cgroup", CLONE_NEWCGROUP },
    { NamespaceType::Time, "time", "time", CLONE_NEWTIME },
} };

constexpr std::array<NamespaceType, 8> k_namespace_types {
    NamespaceType::Pid, NamespaceType::Network, NamespaceType::Mount,  NamespaceType::Ipc,
    NamespaceType::Uts, NamespaceType::User,    NamespaceType::Cgroup, NamespaceType::Time,
};

struct SignalName {
    std::string_view name; // without "SIG"
    int number;
};

// The names Go's unix.SignalNum knows on Linux (what runc's kill accepts), aliases included;
// the first entry for a number is its canonical name.
constexpr std::array<SignalName, 35> k_signals { {
    { "HUP", SIGHUP },       { "INT", SIGINT },   { "QUIT", SIGQUIT },   { "ILL", SIGILL },   { "TRAP", SIGTRAP },
    { "ABRT", SIGABRT },     { "BUS", SIGBUS },   { "FPE", SIGFPE },     { "KILL", SIGKILL }, { "USR1", SIGUSR1 },
    { "SEGV", SIGSEGV },     { "USR2", SIGUSR2 }, { "PIPE", SIGPIPE },   { "ALRM", SIGALRM }, { "TERM", SIGTERM },
    { "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD }, { "CONT", SIGCONT },   { "STOP", SIGSTOP }, { "TSTP", SIGTSTP },
    { "TTIN", SIGTTIN },     { "TTOU", SIGTTOU }, { "URG", SIGURG },     { "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },
    { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH }, { "IO", SIGIO },     { "PWR", SIGPWR },
    { "SYS", SIGSYS },       { "IOT", SIGIOT },   { "POLL", SIGPOLL },   { "CLD", SIGCHLD },  { "UNUSED", SIGSYS },
} };

constexpr int k_max_signal = 64; // _NSIG - 1 on Linux

std::optional<int> parse_int(std::string_view text)
{
    int value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size())
        return std::nullopt;
    return value;
}

} // namespace

std::optional<int> capability_number(std::string_view name)
{
    for (size_t i = 0; i < k_capabilities.size(); ++i)
        if (k_capabilities[i] == name)
            return static_cast<int>(i);
    return std::nullopt;
}

std::optional<std::string_view> capability_name(int number)
{
    if (number < 0 || number > k_last_capability)
        return std::nullopt;
    return k_capabilities[static_cast<size_t>(number)];
}

std::span<std::string_view const> capability_names()
{
    return k_capabilities;
}

std::optional<int> rlimit_resource(std::string_view name)
{
    for (size_t i = 0; i < k_rlimits.size(); ++i)
        if (k_rlimits[i] == name)
            return static_cast<int>(i);
    return std::nullopt;
}

std::optional<std::string_view> rlimit_name(int resource)
{
    if (resource < 0 || static_cast<size_t>(resource) >= k_rlimits.size())
        return std::nullopt;
    return k_rlimits[static_cast<size_t>(resource)];
}

std::optional<NamespaceType> namespace_type(std::string_view spec_name)
{
    for (auto const& info : k_namespaces)
        if (info.spec_name == spec_name)
            return info.type;
    return std::nullopt;
}

static NamespaceInfo const& info_of(NamespaceType type)
{
    for (auto const& info : k_namespaces)
        if (info.type == type)
            return info;
    return k_namespaces[0]; // unreachable: the table covers the enum
}

std::string_view namespace_type_name(NamespaceType type)
{
    return info_of(type).spec_name;
}

std::string_view namespace_proc_name(NamespaceType type)
{
    return info_of(type).proc_name;
}

int namespace_clone_flag(NamespaceType type)
{
    return info_of(type).clone_flag;
}

std::span<NamespaceType const> all_namespace_types()
{
    return k_namespace_types;
}

Result<int> parse_signal(std::string_view text)
{
    auto unknown = [&] { return Error::format("unknown signal \"{}\"", text); };
    if (auto number = parse_int(text)) {
        if (*number < 1 || *number > k_max_signal)
            return unknown();
        return *number;
    }
    std::string upper;
    for (char c : text)
        upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    std::string_view name = upper;
    if (name.starts_with("SIG"))
        name.remove_prefix(3);
    for (auto const& s : k_signals)
        if (s.name == name)
            return s.number;
    // Real-time signals by glibc's numbering (SIGRTMIN skips the two glibc keeps for itself).
    auto rt_offset = [&](std::string_view prefix, int base, int sign) -> std::optional<int> {
        if (!name.starts_with(prefix))
            return std::nullopt;
        auto rest = name.substr(prefix.size());
        if (rest.empty())
            return base;
        if (rest[0] != (sign > 0 ? '+' : '-'))
            return std::nullopt;
        auto n = parse_int(rest.substr(1));
        if (!n || *n < 0)
            return std::nullopt;
        int signal = base + sign * *n;
        if (signal < SIGRTMIN || signal > SIGRTMAX)
            return std::nullopt;
        return signal;
    };
    if (auto s = rt_offset("RTMIN", SIGRTMIN, 1))
        return *s;
    if (auto s = rt_offset("RTMAX", SIGRTMAX, -1))
        return *s;
    return unknown();
}

std::string signal_name(int number)
{
    for (auto const& s : k_signals)
        if (s.number == number)
            return fmt::format("SIG{}", s.name);
    if (number >= SIGRTMIN && number <= SIGRTMAX)
        return number == SIGRTMIN ? "SIGRTMIN" : fmt::format("SIGRTMIN+{}", number - SIGRTMIN);
    return {};
}

Result<void> validate_container_id(std::string_view id)
{
    auto allowed = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '+'
            || c == ',' || c == '-' || c == '.';
    };
    bool ok = !id.empty() && id != "." && id != "..";
    for (char c : id)
        ok = ok && allowed(c);
    if (!ok)
        // {:?} quotes and escapes, so an id with a newline still makes one error line.
        return Error::format("invalid container id {:?}", id);
    return {};
}

} // namespace cryo::oci
