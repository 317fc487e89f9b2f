// sys::Rtnl against the kernel, without root: a forked child unshares a user and a network
// namespace (it is root there, with CAP_NET_ADMIN over that namespace only), builds a bridge,
// a veth pair whose peer goes into a second namespace, addresses and a route, and reads them
// back. Nothing is visible outside the child's namespaces, and they die with it.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sys/file.h"
#include "sys/ns.h"
#include "sys/rtnl.h"

using namespace cryo;

namespace {

in_addr_t address(char const* text)
{
    in_addr value {};
    inet_pton(AF_INET, text, &value);
    return value.s_addr;
}

// Runs `body` in a child inside new user + network namespaces; its failures are printed by
// the child and turn into a non-zero exit. Returns -1 when namespaces are not available.
template<typename F>
int in_private_netns(F body)
{
    pid_t pid = ::fork();
    if (pid == 0) {
        if (::unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0)
            ::_exit(77);
        std::string failure = body();
        if (!failure.empty()) {
            fprintf(stderr, "child: %s\n", failure.c_str());
            ::_exit(1);
        }
        ::_exit(0);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status))
        return 128;
    return WEXITSTATUS(status);
}

#define CHILD_TRY(expr, what)                                                                                          \
    ({                                                                                                                 \
        auto&& _child_result = (expr);                                                                                 \
        if (_child_result.is_error())                                                                                  \
            return std::string(what) + ": " + _child_result.error().message();                                         \
        _child_result.release_value();                                                                                 \
    })

} // namespace

TEST(Rtnl, ListsLoopbackOfAFreshNamespace)
{
    int code = in_private_netns([]() -> std::string {
        auto rtnl = CHILD_TRY(sys::Rtnl::open(), "open");
        auto links = CHILD_TRY(rtnl.links(), "links");
        if (links.size() != 1 || links[0].name != "lo" || links[0].index != 1 || links[0].up)
            return "expected only lo (index 1, down)";
        auto lo = CHILD_TRY(rtnl.link("lo"), "link lo");
        if (!lo)
            return "link(\"lo\") found nothing";
        CHILD_TRY(rtnl.set_up(lo->index), "set lo up");
        if (!CHILD_TRY(rtnl.link("lo"), "link lo")->up)
            return "lo is not up after set_up";
        auto addresses = CHILD_TRY(rtnl.ipv4_addresses(), "addresses");
        if (addresses.size() != 1 || addresses[0].address != address("127.0.0.1") || addresses[0].prefix != 8)
            return "expected 127.0.0.1/8 once lo is up";
        if (CHILD_TRY(rtnl.link("nosuchlink0"), "link nosuchlink0"))
            return "found a link that does not exist";
        return "";
    });
    if (code == 77)
        GTEST_SKIP() << "no unprivileged user namespaces";
    EXPECT_EQ(code, 0);
}

TEST(Rtnl, BridgeVethAddressRoute)
{
    int code = in_private_netns([]() -> std::string {
        auto host = CHILD_TRY(sys::Rtnl::open(), "open");
        CHILD_TRY(host.add_bridge("tbr0"), "add bridge");
        auto bridge = CHILD_TRY(host.link("tbr0"), "link tbr0");
        if (!bridge || bridge->kind != "bridge")
            return "tbr0 missing or not a bridge";
        if (auto again = host.add_bridge("tbr0"); again.has_value() || !again.error().is_errno(EEXIST))
            return "adding tbr0 twice did not fail with EEXIST";
        CHILD_TRY(host.add_ipv4_address(bridge->index, address("10.77.0.1"), 24), "bridge address");
        CHILD_TRY(host.set_up(bridge->index), "bridge up");

        // The peer's namespace: the original one of a second child would do, but a file
        // from /proc/self/ns/net of this process, taken before a second unshare, is simpler.
        auto outer = CHILD_TRY(sys::open("/proc/self/ns/net", O_RDONLY), "open outer netns");
        if (::unshare(CLONE_NEWNET) < 0)
            return std::string("unshare inner netns: ") + strerror(errno);
        auto inner = CHILD_TRY(sys::open("/proc/self/ns/net", O_RDONLY), "open inner netns");
        CHILD_TRY(sys::setns(outer, CLONE_NEWNET), "back to outer");

        sys::MacAddress mac { 0x0a, 0x58, 10, 77, 0, 2 };
        CHILD_TRY(host.add_veth("tveth0", "eth0", inner, mac), "add veth");
        auto veth = CHILD_TRY(host.link("tveth0"), "link tveth0");
        if (!veth || veth->kind != "veth")
            return "tveth0 missing or not a veth";
        CHILD_TRY(host.set_master(veth->index, bridge->index), "set master");
        CHILD_TRY(host.set_up(veth->index), "veth up");
        if (CHILD_TRY(host.link("tveth0"), "link tveth0")->master != bridge->index)
            return "tveth0 is not a port of tbr0";
        if (CHILD_TRY(host.link("eth0"), "link eth0"))
            return "the peer stayed on this side";

        auto inside = CHILD_TRY(sys::Rtnl::open_in(inner), "open_in");
        // open_in returned this thread to the outer namespace.
        if (!CHILD_TRY(host.link("tbr0"), "link tbr0 after open_in"))
            return "open_in did not come back";
        auto eth0 = CHILD_TRY(inside.link("eth0"), "inner eth0");
        if (!eth0)
            return "eth0 missing inside";
        CHILD_TRY(inside.add_ipv4_address(eth0->index, address("10.77.0.2"), 24), "eth0 address");
        CHILD_TRY(inside.set_up(eth0->index), "eth0 up");
        CHILD_TRY(inside.add_ipv4_default_route(address("10.77.0.1")), "default route");
        auto addresses = CHILD_TRY(inside.ipv4_addresses(), "inner addresses");
        if (addresses.size() != 1 || addresses[0].address != address("10.77.0.2") || addresses[0].prefix != 24
            || addresses[0].index != eth0->index)
            return "inner addresses are not [10.77.0.2/24 on eth0]";
        if (auto twice = inside.add_ipv4_default_route(address("10.77.0.1"));
            twice.has_value() || !twice.error().is_errno(EEXIST))
            return "a second default route did not fail with EEXIST";

        CHILD_TRY(host.delete_link(veth->index), "delete veth");
        if (CHILD_TRY(host.link("tveth0"), "link tveth0 after delete"))
            return "tveth0 survived delete";
        if (CHILD_TRY(inside.link("eth0"), "inner eth0 after delete"))
            return "deleting one end left the peer";
        if (auto gone = host.delete_link(veth->index); gone.has_value() || !gone.error().is_errno(ENODEV))
            return "deleting a deleted link did not fail with ENODEV";
        return "";
    });
    if (code == 77)
        GTEST_SKIP() << "no unprivileged user namespaces";
    EXPECT_EQ(code, 0);
}
