#include "sys/unix_connect.h"

#include "sys/file_kinds.h"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <optional>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

namespace cryo::sys {

Result<void> connect_unix_name(FdRef socket, std::string const& name)
{
    auto [address, length] = TRY(unix_address(name));
    for (;;) {
        // SAFETY: sockaddr_un is a sockaddr for the sockets API.
        if (::connect(socket.get(), reinterpret_cast<struct sockaddr*>(&address), length) == 0)
            return {};
        if (errno != EINTR)
            return Error::from_errno(fmt::format("connect to {}", name));
    }
}

namespace {

Identity own_identity()
{
    Identity me;
    ::getresuid(&me.uid[0], &me.uid[1], &me.uid[2]);
    ::getresgid(&me.gid[0], &me.gid[1], &me.gid[2]);
    int n = ::getgroups(0, nullptr);
    if (n > 0) {
        std::vector<gid_t> groups(static_cast<size_t>(n));
        n = ::getgroups(n, groups.data());
        if (n > 0)
            me.groups.assign(groups.begin(), groups.begin() + n);
    }
    return me;
}

bool same_identity(Identity const& a, Identity const& b)
{
    auto sorted = [](std::vector<uint32_t> v) {
        std::sort(v.begin(), v.end());
        return v;
    };
    return std::equal(a.uid, a.uid + 3, b.uid) && std::equal(a.gid, a.gid + 3, b.gid)
        && sorted(a.groups) == sorted(b.groups);
}

// On the worker thread: groups and gids while it may still (CAP_SETGID), then uids.
Result<void> become(Identity const& who)
{
    std::vector<gid_t> groups(who.groups.begin(), who.groups.end());
    if (::syscall(SYS_setgroups, groups.size(), groups.data()) < 0)
        return Error::from_errno(fmt::format("setgroups ({} groups)", groups.size()));
    if (::syscall(SYS_setresgid, who.gid[0], who.gid[1], who.gid[2]) < 0)
        return Error::from_errno(fmt::format("setresgid {} {} {}", who.gid[0], who.gid[1], who.gid[2]));
    if (::syscall(SYS_setresuid, who.uid[0], who.uid[1], who.uid[2]) < 0)
        return Error::from_errno(fmt::format("setresuid {} {} {}", who.uid[0], who.uid[1], who.uid[2]));
    return {};
}

} // namespace

Result<void> as_identity(Identity const& who, std::function<Result<void>()> const& work)
{
    if (same_identity(who, own_identity()))
        return work();
    std::optional<Result<void>> result;
    std::thread worker([&] {
        auto became = become(who);
        result.emplace(became ? work() : std::move(became));
    });
    worker.join();
    return std::move(*result);
}

} // namespace cryo::sys
