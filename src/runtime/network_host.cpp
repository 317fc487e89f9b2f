#include "runtime/network_host.h"

#include <sched.h>
#include <sys/mount.h>

#include "base/log.h"
#include "base/scope_guard.h"
#include "sys/file.h"
#include "sys/mounts.h"
#include "sys/ns.h"
#include "sys/rtnl.h"
#include "sys/run_tool.h"

namespace cryo::runtime::net {

Result<Fd> create_netns_file(std::string const& path)
{
    TRY(sys::open(path, O_WRONLY | O_CREAT | O_EXCL, 0444).context("create {}", path));
    ArmedScopeGuard remove_file([&] { (void)sys::unlink(path); });
    // unshare and setns act on the calling thread only: the new namespace lives on through
    // the bind mount, and the thread goes straight back to the one it came from.
    auto original = TRY(sys::open("/proc/thread-self/ns/net", O_RDONLY).context("open own network namespace"));
    TRY(sys::unshare(CLONE_NEWNET).context("create network namespace"));
    {
        ScopeGuard back([&] {
            // Later host changes would land inside the container's namespace: a bug to stop at.
            MUST(sys::setns(original, CLONE_NEWNET).context("return to own network namespace"));
        });
        TRY(sys::mount("/proc/thread-self/ns/net", path.c_str(), nullptr, MS_BIND, nullptr)
                .context("bind network namespace on {}", path));
    }
    remove_file.disarm();
    return TRY(sys::open_ns_path(path, CLONE_NEWNET));
}

void remove_netns_file(std::string const& path)
{
    if (path.empty())
        return;
    if (auto unmounted = sys::umount2(path.c_str(), MNT_DETACH); !unmounted) {
        // EINVAL: not a mount point (a create failed before the bind); ENOENT: gone.
        if (!unmounted.error().is_errno(EINVAL) && !unmounted.error().is_errno(ENOENT))
            log::warn("network: unmount {}: {}", path, unmounted.error().message());
    }
    if (auto removed = sys::unlink(path); !removed && !removed.error().is_errno(ENOENT))
        log::warn("network: {}", removed.error().message());
}

Result<void> bring_up_loopback(sys::RtNetlink& netlink)
{
    auto lo = TRY(sys::rtnl::link(netlink, "lo"));
    if (!lo)
        return Error::make("no lo in the container's network namespace");
    TRY(sys::rtnl::set_up(netlink, lo->index).context("lo"));
    return {};
}

Result<std::string> read_sysctl(std::string const& name)
{
    return sys::read_file("/proc/sys/" + name).context("read sysctl {}", name);
}

Result<void> write_sysctl(std::string const& name, std::string_view value)
{
    return sys::write_file("/proc/sys/" + name, value).context("write sysctl {}", name);
}

namespace {

Result<sys::ToolResult> iptables(Rule const& rule)
{
    std::vector<std::string> argv { "iptables", "-w" };
    argv.insert(argv.end(), rule.begin(), rule.end());
    return sys::run_tool(argv);
}

std::string first_line(std::string const& text)
{
    auto line = text.substr(0, text.find('\n'));
    return line.empty() ? std::string("no output") : line;
}

std::string describe(Rule const& rule)
{
    std::string text;
    for (auto const& arg : rule)
        text += (text.empty() ? "" : " ") + arg;
    return text;
}

} // namespace

Result<void> ensure_rule(Rule const& rule)
{
    auto check = TRY(iptables(rule_with_action(rule, "-C")));
    if (check.exit_code == 0)
        return {};
    auto add = TRY(iptables(rule));
    if (add.exit_code != 0)
        return Error::format("iptables {}: {}", describe(rule), first_line(add.output));
    return {};
}

void remove_rule(Rule const& rule)
{
    // A rule added twice (by hand, or a crash between -C and -A) goes with all its copies.
    for (int i = 0; i < 16; ++i) {
        auto removed = iptables(rule_with_action(rule, "-D"));
        if (!removed) {
            log::warn("network: iptables: {}", removed.error().message());
            return;
        }
        if (removed->exit_code != 0) {
            if (i == 0)
                log::debug("network: no rule to delete: {}", describe(rule));
            return;
        }
    }
}

void delete_link_named(std::string const& name)
{
    auto netlink = sys::RtNetlink::open();
    if (!netlink) {
        log::warn("network: delete {}: {}", name, netlink.error().message());
        return;
    }
    auto link = sys::rtnl::link(*netlink, name);
    if (!link) {
        log::warn("network: delete {}: {}", name, link.error().message());
        return;
    }
    if (!*link)
        return;
    if (auto deleted = sys::rtnl::delete_link(*netlink, (*link)->index); !deleted && !deleted.error().is_errno(ENODEV))
        log::warn("network: delete {}: {}", name, deleted.error().message());
}

Result<void> write_record(std::string const& state_dir, NetworkRecord const& record)
{
    auto path = state_dir + "/network.json";
    return sys::write_file_atomic(path, record_to_json(record), 0644).context("write {}", path);
}

} // namespace cryo::runtime::net
