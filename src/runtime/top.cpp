// runtime::top: the container's processes as its own pid namespace numbers them. The host
// pids come from the container's cgroup (as for ps), so processes that left the init's tree
// (orphans adopted by cryo-init, daemons) are all there; each one's NSpid line gives its pid
// inside, and user names come from the container's own /etc/passwd.
#include "runtime/top.h"

#include <algorithm>
#include <unordered_map>

#include "runtime/api.h"
#include "runtime/state_store.h"
#include "sys/file.h"
#include "sys/procfs.h"

namespace cryo::runtime {

std::map<uint32_t, std::string> parse_passwd(std::string_view text)
{
    std::map<uint32_t, std::string> users;
    while (!text.empty()) {
        auto end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view {} : text.substr(end + 1);
        // name:password:uid:gid:gecos:home:shell
        auto first = line.find(':');
        if (first == 0 || first == std::string_view::npos)
            continue;
        auto second = line.find(':', first + 1);
        if (second == std::string_view::npos)
            continue;
        auto third = line.find(':', second + 1);
        std::string_view uid_text
            = line.substr(second + 1, third == std::string_view::npos ? std::string_view::npos : third - second - 1);
        if (uid_text.empty() || uid_text.size() > 10)
            continue;
        uint64_t uid = 0;
        bool digits = std::all_of(uid_text.begin(), uid_text.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (!digits)
            continue;
        for (char c : uid_text)
            uid = uid * 10 + static_cast<uint64_t>(c - '0');
        if (uid > UINT32_MAX)
            continue;
        users.emplace(static_cast<uint32_t>(uid), std::string(line.substr(0, first)));
    }
    return users;
}

std::string command_line(std::string_view cmdline, std::string_view comm)
{
    while (!cmdline.empty() && cmdline.back() == '\0')
        cmdline.remove_suffix(1);
    if (cmdline.empty())
        return "[" + std::string(comm) + "]";
    std::string out;
    out.reserve(cmdline.size());
    for (char c : cmdline) {
        if (c == '\0')
            out += ' ';
        else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
            out += '?';
        else
            out += c;
    }
    return out;
}

Result<std::vector<ProcessEntry>> top(Context const& ctx, std::string const& id)
{
    auto host_pids = TRY(pids(ctx, id));
    int init_pid = 0;
    {
        StateStore store(ctx.root);
        auto container = TRY(store.open(id, LockMode::Shared));
        init_pid = container.state().init_pid;
    }
    std::map<uint32_t, std::string> users;
    if (init_pid > 0) {
        // Through the init's root: the container's own view of /etc/passwd. Best effort: a
        // root file system without one shows numbers.
        auto passwd = sys::read_file(fmt::format("/proc/{}/root/etc/passwd", init_pid));
        if (passwd)
            users = parse_passwd(*passwd);
    }

    std::vector<ProcessEntry> entries;
    std::unordered_map<int, int> inside_of; // host pid -> pid inside
    std::vector<int> host_parents;
    for (int host_pid : host_pids) {
        // A process may end between the cgroup listing and here: it is simply not shown.
        auto status = sys::read_status(host_pid);
        auto stat = sys::read_stat(host_pid);
        if (!status || !stat || status->ns_pid.empty())
            continue;
        auto cmdline = sys::read_file(fmt::format("/proc/{}/cmdline", host_pid));
        ProcessEntry entry {
            .pid = status->ns_pid.back(),
            .ppid = 0,
            .host_pid = host_pid,
            .uid = status->uid[1],
            .user = {},
            .state = stat->state,
            .command = command_line(cmdline ? std::string_view(*cmdline) : std::string_view {}, stat->comm),
        };
        auto user = users.find(entry.uid);
        entry.user = user != users.end() ? user->second : std::to_string(entry.uid);
        inside_of[host_pid] = entry.pid;
        host_parents.push_back(stat->ppid);
        entries.push_back(std::move(entry));
    }
    for (size_t i = 0; i < entries.size(); ++i) {
        auto parent = inside_of.find(host_parents[i]);
        entries[i].ppid = parent != inside_of.end() ? parent->second : 0;
    }
    std::sort(entries.begin(), entries.end(), [](auto const& a, auto const& b) { return a.pid < b.pid; });
    return entries;
}

} // namespace cryo::runtime
