#include "rootfs/idmap.h"

#include <fcntl.h>
#include <sched.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include "base/scope_guard.h"
#include "sys/file.h"
#include "sys/mounts.h"
#include "sys/process.h"

namespace cryo::rootfs {

Result<Fd> make_userns(std::string_view uid_map, std::string_view gid_map)
{
    // The helper unshares, reports through `ready`, and waits for `release` to close.
    auto [ready_read, ready_write] = TRY(sys::pipe());
    auto [release_read, release_write] = TRY(sys::pipe());
    pid_t pid = ::fork();
    if (pid < 0)
        return Error::from_errno("fork");
    if (pid == 0) {
        // Only the parent may hold the write end, or the read below never sees EOF.
        release_write.reset();
        ready_read.reset();
        char status = ::unshare(CLONE_NEWUSER) == 0 ? 'y' : 'n';
        (void)!::write(ready_write.get(), &status, 1);
        char byte;
        (void)!::read(release_read.get(), &byte, 1);
        ::_exit(0);
    }
    ready_write.reset();
    release_read.reset();
    ScopeGuard reap([&] {
        release_write.reset();
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) { }
    });
    char status = 'n';
    auto got = TRY(sys::read(ready_read, &status, 1));
    if (got != 1 || status != 'y')
        return Error::from_errno(EPERM, "unshare user namespace");
    auto proc = fmt::format("/proc/{}", pid);
    TRY(sys::write_file(proc + "/uid_map", uid_map).context("write uid_map"));
    TRY(sys::write_file(proc + "/setgroups", "deny").context("write setgroups"));
    TRY(sys::write_file(proc + "/gid_map", gid_map).context("write gid_map"));
    return TRY(sys::open(proc + "/ns/user", O_RDONLY).context("open user namespace"));
}

Result<Fd> make_idmapped_tree(MountStep const& step, FdRef userns)
{
    unsigned flags = OPEN_TREE_CLONE | (step.bind == BindKind::Rbind ? AT_RECURSIVE : 0);
    auto tree = TRY(sys::open_tree(FdRef::cwd(), step.source.c_str(), flags).context("clone {}", step.source));
    unsigned setattr_flags = AT_EMPTY_PATH | (step.recursive_idmap ? AT_RECURSIVE : 0);
    TRY(sys::mount_setattr_idmap(tree, setattr_flags, userns).context("idmap {}", step.source));
    return tree;
}

} // namespace cryo::rootfs
