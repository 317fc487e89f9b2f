#include "rootfs/process.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <climits>
#include <sched.h>
#include <sys/capability.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "sys/caps.h"
#include "sys/file.h"
#include "sys/task.h"

namespace cryo::rootfs {

namespace {

template<typename T>
struct Named {
    std::string_view name;
    T value;
};

template<typename T, size_t N>
Result<T> lookup(std::array<Named<T>, N> const& table, std::string_view name, std::string_view what)
{
    for (auto const& entry : table) {
        if (entry.name == name)
            return entry.value;
    }
    return Error::format("unknown {} \"{}\"", what, name);
}

constexpr std::array<Named<int>, 16> rlimit_names { {
    { "RLIMIT_CPU", RLIMIT_CPU },
    { "RLIMIT_FSIZE", RLIMIT_FSIZE },
    { "RLIMIT_DATA", RLIMIT_DATA },
    { "RLIMIT_STACK", RLIMIT_STACK },
    { "RLIMIT_CORE", RLIMIT_CORE },
    { "RLIMIT_RSS", RLIMIT_RSS },
    { "RLIMIT_NPROC", RLIMIT_NPROC },
    { "RLIMIT_NOFILE", RLIMIT_NOFILE },
    { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },
    { "RLIMIT_AS", RLIMIT_AS },
    { "RLIMIT_LOCKS", RLIMIT_LOCKS },
    { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
    { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
    { "RLIMIT_NICE", RLIMIT_NICE },
    { "RLIMIT_RTPRIO", RLIMIT_RTPRIO },
    { "RLIMIT_RTTIME", RLIMIT_RTTIME },
} };

constexpr std::array<Named<int>, 3> io_class_names { {
    { "IOPRIO_CLASS_RT", 1 },
    { "IOPRIO_CLASS_BE", 2 },
    { "IOPRIO_CLASS_IDLE", 3 },
} };

// sched(7); SCHED_ISO is reserved by the kernel but named by the OCI spec.
constexpr std::array<Named<uint32_t>, 7> sched_policy_names { {
    { "SCHED_OTHER", 0 },
    { "SCHED_FIFO", 1 },
    { "SCHED_RR", 2 },
    { "SCHED_BATCH", 3 },
    { "SCHED_ISO", 4 },
    { "SCHED_IDLE", 5 },
    { "SCHED_DEADLINE", 6 },
} };

constexpr std::array<Named<uint64_t>, 7> sched_flag_names { {
    { "SCHED_FLAG_RESET_ON_FORK", 0x01 },
    { "SCHED_FLAG_RECLAIM", 0x02 },
    { "SCHED_FLAG_DL_OVERRUN", 0x04 },
    { "SCHED_FLAG_KEEP_POLICY", 0x08 },
    { "SCHED_FLAG_KEEP_PARAMS", 0x10 },
    { "SCHED_FLAG_UTIL_CLAMP_MIN", 0x20 },
    { "SCHED_FLAG_UTIL_CLAMP_MAX", 0x40 },
} };

constexpr std::array<Named<unsigned long>, 2> personality_names { {
    { "LINUX", PER_LINUX },
    { "LINUX32", PER_LINUX32 },
} };

constexpr CapSet bit(int cap)
{
    return CapSet(1) << cap;
}

} // namespace

// ---- capabilities -------------------------------------------------------------------

Result<int> capability_from_name(std::string_view name)
{
    std::string lowered(name);
    std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (!lowered.starts_with("cap_"))
        lowered.insert(0, "cap_");
    cap_value_t value = 0;
    if (cap_from_name(lowered.c_str(), &value) < 0 || value < 0 || value > 63)
        return Error::format("unknown capability \"{}\"", name);
    return static_cast<int>(value);
}

std::string capability_name(int cap)
{
    char* text = cap_to_name(static_cast<cap_value_t>(cap));
    if (!text)
        return fmt::format("CAP_{}", cap);
    std::string name(text);
    cap_free(text);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return name;
}

int last_capability()
{
    static int const last = [] {
        auto text = sys::read_file("/proc/sys/kernel/cap_last_cap");
        if (text) {
            int value = std::atoi(text->c_str());
            if (value > 0 && value < 64)
                return value;
        }
        return static_cast<int>(CAP_LAST_CAP);
    }();
    return last;
}

Result<CapSet> capability_set(std::span<std::string const> names, std::vector<std::string>* unknown)
{
    CapSet set = 0;
    int last = last_capability();
    for (auto const& name : names) {
        auto cap = capability_from_name(name);
        if (!cap || *cap > last) {
            if (!unknown)
                return cap ? Error::format("capability {} unknown to this kernel", name) : cap.release_error();
            unknown->push_back(name);
            continue;
        }
        set |= bit(*cap);
    }
    return set;
}

std::vector<std::string> capability_names(CapSet set)
{
    std::vector<std::string> names;
    for (int cap = 0; cap < 64; ++cap) {
        if (set & bit(cap))
            names.push_back(capability_name(cap));
    }
    return names;
}

Result<void> drop_bounding_set(CapSet keep)
{
    int last = last_capability();
    for (int cap = 0; cap <= last; ++cap) {
        if (keep & bit(cap))
            continue;
        TRY(sys::cap_bounding_drop(cap).context("drop {} from the bounding set", capability_name(cap)));
    }
    return {};
}

Result<void> set_capabilities(Capabilities const& caps)
{
    TRY(sys::capset({ .effective = caps.effective, .permitted = caps.permitted, .inheritable = caps.inheritable })
            .context("set capabilities"));
    // An ambient capability must be permitted and inheritable (see capabilities(7)).
    for (int cap = 0; cap < 64; ++cap) {
        if (caps.ambient & bit(cap))
            TRY(sys::cap_ambient_raise(cap).context("raise ambient capability {}", capability_name(cap)));
    }
    return {};
}

Result<void> switch_user(UserPlan const& user)
{
    if (user.set_groups)
        TRY(sys::setgroups(user.additional_gids).context("set additional groups"));
    TRY(sys::setresgid(user.gid).context("set gid {}", user.gid));
    TRY(sys::setresuid(user.uid).context("set uid {}", user.uid));
    return {};
}

Result<void> apply_credentials(UserPlan const& user, std::optional<Capabilities> const& caps)
{
    if (!caps)
        return switch_user(user);
    TRY(drop_bounding_set(caps->bounding));
    // Without keep-caps, leaving uid 0 would clear the permitted set; effective is cleared
    // anyway and comes back with capset below (see capabilities(7), "Effect of user ID
    // changes on capabilities").
    TRY(sys::set_keep_caps(true));
    TRY(switch_user(user));
    TRY(sys::set_keep_caps(false));
    TRY(set_capabilities(*caps));
    return {};
}

Result<Capabilities> current_capabilities()
{
    auto sets = TRY(sys::capget());
    Capabilities caps { .bounding = 0,
                        .effective = sets.effective,
                        .permitted = sets.permitted,
                        .inheritable = sets.inheritable,
                        .ambient = 0 };
    int last = last_capability();
    for (int cap = 0; cap <= last; ++cap) {
        if (TRY(sys::cap_bounding_has(cap)))
            caps.bounding |= bit(cap);
        if (TRY(sys::cap_ambient_has(cap)))
            caps.ambient |= bit(cap);
    }
    return caps;
}

// ---- simple attributes ---------------------------------------------------------------

Result<void> set_no_new_privs()
{
    return sys::set_no_new_privs();
}

Result<int> rlimit_from_name(std::string_view name)
{
    return lookup(rlimit_names, name, "rlimit");
}

Result<void> apply_rlimits(std::span<Rlimit const> limits)
{
    for (auto const& limit : limits) {
        auto name = std::find_if(rlimit_names.begin(), rlimit_names.end(),
                                 [&](auto const& n) { return n.value == limit.resource; });
        TRY(sys::setrlimit(limit.resource, limit.soft, limit.hard)
                .context("{} {}:{}", name == rlimit_names.end() ? "rlimit" : name->name, limit.soft, limit.hard));
    }
    return {};
}

Result<void> apply_umask(mode_t mask)
{
    ::umask(mask);
    return {};
}

Result<void> apply_oom_score_adj(int score)
{
    return sys::write_file("/proc/self/oom_score_adj", std::to_string(score));
}

Result<int> io_class_from_name(std::string_view name)
{
    return lookup(io_class_names, name, "io priority class");
}

Result<void> apply_io_priority(IoPriority const& io)
{
    return sys::ioprio_set_self(io.io_class, io.priority);
}

Result<uint32_t> sched_policy_from_name(std::string_view name)
{
    return lookup(sched_policy_names, name, "scheduler policy");
}

Result<uint64_t> sched_flag_from_name(std::string_view name)
{
    return lookup(sched_flag_names, name, "scheduler flag");
}

Result<void> apply_scheduler(Scheduler const& sched)
{
    sys::SchedAttr attr {};
    attr.sched_policy = sched.policy;
    attr.sched_flags = sched.flags;
    attr.sched_nice = sched.nice;
    attr.sched_priority = sched.priority;
    attr.sched_runtime = sched.runtime;
    attr.sched_deadline = sched.deadline;
    attr.sched_period = sched.period;
    return sys::sched_setattr_self(attr);
}

Result<unsigned long> personality_from_name(std::string_view domain)
{
    return lookup(personality_names, domain, "personality domain");
}

Result<void> apply_personality(unsigned long persona)
{
    return sys::personality(persona);
}

Result<void> apply_hostname(std::string_view hostname)
{
    return sys::sethostname(hostname);
}

Result<void> apply_domainname(std::string_view domainname)
{
    return sys::setdomainname(domainname);
}

Result<std::string> sysctl_path(std::string_view key)
{
    if (key.empty() || key.front() == '/' || key.front() == '.' || key.back() == '/' || key.back() == '.')
        return Error::format("invalid sysctl key \"{}\"", key);
    // Keys are dot-separated unless they contain a '/', which lets a key name an
    // interface with a dot in it ("net/ipv4/conf/eth0.1/forwarding"), as sysctl(8) does.
    bool slashes = key.find('/') != std::string_view::npos;
    std::string path = "/proc/sys/";
    size_t start = path.size();
    for (char c : key)
        path += (!slashes && c == '.') ? '/' : c;
    std::string_view rest = std::string_view(path).substr(start);
    while (!rest.empty()) {
        auto slash = rest.find('/');
        auto component = rest.substr(0, slash);
        if (component.empty() || component == "." || component == "..")
            return Error::format("invalid sysctl key \"{}\"", key);
        if (slash == std::string_view::npos)
            break;
        rest.remove_prefix(slash + 1);
    }
    return path;
}

Result<void> apply_sysctls(std::span<std::pair<std::string, std::string> const> sysctls)
{
    for (auto const& [key, value] : sysctls) {
        auto path = TRY(sysctl_path(key));
        TRY(sys::write_file(path, value).context("{}={}", key, value));
    }
    return {};
}

// ---- fds ------------------------------------------------------------------------------

Result<void> close_fds_except(unsigned first, std::span<int const> keep)
{
    std::vector<unsigned> kept;
    kept.reserve(keep.size());
    for (int fd : keep) {
        if (fd >= 0 && static_cast<unsigned>(fd) >= first)
            kept.push_back(static_cast<unsigned>(fd));
    }
    std::sort(kept.begin(), kept.end());
    unsigned low = first;
    for (unsigned fd : kept) {
        if (fd > low)
            TRY(sys::close_range(low, fd - 1, 0));
        low = fd + 1;
    }
    TRY(sys::close_range(low, UINT_MAX, 0));
    return {};
}

} // namespace cryo::rootfs
