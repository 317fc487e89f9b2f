#include "sys/fsops.h"

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/xattr.h>
#include <unistd.h>

namespace cryo::sys {

namespace {

// The path of `name` under `dir` through the dir's magic link: the kernel resolves the
// directory by its fd (no path race), and the l*xattr calls do not follow `name` itself.
std::string at_path(FdRef dir, std::string const& name)
{
    if (dir.get() == AT_FDCWD)
        return name;
    return fmt::format("/proc/self/fd/{}/{}", dir.get(), name.empty() ? "." : name);
}

} // namespace

Result<void> setxattr_at(FdRef dir, std::string const& name, std::string const& key, std::string_view value)
{
    if (::lsetxattr(at_path(dir, name).c_str(), key.c_str(), value.data(), value.size(), 0) < 0)
        return Error::from_errno(fmt::format("setxattr {}", key));
    return {};
}

Result<std::optional<std::string>> getxattr_at(FdRef dir, std::string const& name, std::string const& key)
{
    auto path = at_path(dir, name);
    for (;;) {
        ssize_t size = ::lgetxattr(path.c_str(), key.c_str(), nullptr, 0);
        if (size < 0) {
            if (errno == ENODATA)
                return std::optional<std::string> {};
            return Error::from_errno(fmt::format("getxattr {}", key));
        }
        std::string value(static_cast<size_t>(size), '\0');
        ssize_t got = ::lgetxattr(path.c_str(), key.c_str(), value.data(), value.size());
        if (got < 0 && errno == ERANGE)
            continue; // grew between the two calls
        if (got < 0)
            return Error::from_errno(fmt::format("getxattr {}", key));
        value.resize(static_cast<size_t>(got));
        return std::optional<std::string> { std::move(value) };
    }
}

Result<std::vector<std::string>> listxattr_at(FdRef dir, std::string const& name)
{
    auto path = at_path(dir, name);
    for (;;) {
        ssize_t size = ::llistxattr(path.c_str(), nullptr, 0);
        if (size < 0)
            return Error::from_errno("listxattr");
        std::string buffer(static_cast<size_t>(size), '\0');
        ssize_t got = ::llistxattr(path.c_str(), buffer.data(), buffer.size());
        if (got < 0 && errno == ERANGE)
            continue;
        if (got < 0)
            return Error::from_errno("listxattr");
        std::vector<std::string> keys;
        for (size_t at = 0; at < static_cast<size_t>(got);) {
            size_t end = buffer.find('\0', at);
            if (end == std::string::npos)
                end = static_cast<size_t>(got);
            if (end > at)
                keys.emplace_back(buffer.substr(at, end - at));
            at = end + 1;
        }
        return keys;
    }
}

Result<void> removexattr_at(FdRef dir, std::string const& name, std::string const& key)
{
    if (::lremovexattr(at_path(dir, name).c_str(), key.c_str()) < 0 && errno != ENODATA)
        return Error::from_errno(fmt::format("removexattr {}", key));
    return {};
}

Result<void> flock(FdRef fd, LockKind kind)
{
    while (::flock(fd.get(), kind == LockKind::Shared ? LOCK_SH : LOCK_EX) < 0) {
        if (errno != EINTR)
            return Error::from_errno("flock");
    }
    return {};
}

Result<void> renameat2(FdRef from_dir, std::string const& from, FdRef to_dir, std::string const& to, unsigned flags)
{
    if (::renameat2(from_dir.get(), from.c_str(), to_dir.get(), to.c_str(), flags) < 0)
        return Error::from_errno("rename");
    return {};
}

Result<void> linkat(FdRef from_dir, std::string const& from, FdRef to_dir, std::string const& to)
{
    if (::linkat(from_dir.get(), from.c_str(), to_dir.get(), to.c_str(), 0) < 0)
        return Error::from_errno("link");
    return {};
}

Result<void> unlinkat(FdRef dir, std::string const& name, int flags)
{
    if (::unlinkat(dir.get(), name.c_str(), flags) < 0)
        return Error::from_errno("unlink");
    return {};
}

Result<void> utimensat(FdRef dir, std::string const& name, struct timespec const times[2], int flags)
{
    if (::utimensat(dir.get(), name.c_str(), times, flags) < 0)
        return Error::from_errno("utimensat");
    return {};
}

Result<struct stat> fstatat(FdRef dir, std::string const& name, int flags)
{
    struct stat st { };
    if (::fstatat(dir.get(), name.c_str(), &st, flags) < 0)
        return Error::from_errno("stat");
    return st;
}

Result<std::string> readlinkat(FdRef dir, std::string const& name)
{
    char buffer[PATH_MAX + 1];
    ssize_t size = ::readlinkat(dir.get(), name.c_str(), buffer, PATH_MAX);
    if (size < 0)
        return Error::from_errno("readlink");
    return std::string(buffer, static_cast<size_t>(size));
}

Result<void> fsync(FdRef fd)
{
    if (::fsync(fd.get()) < 0)
        return Error::from_errno("fsync");
    return {};
}

Result<void> pwrite_all(FdRef fd, void const* data, size_t size, off_t offset)
{
    auto const* bytes = static_cast<char const*>(data);
    while (size > 0) {
        ssize_t done = ::pwrite(fd.get(), bytes, size, offset);
        if (done < 0 && errno == EINTR)
            continue;
        if (done < 0)
            return Error::from_errno("write");
        bytes += done;
        size -= static_cast<size_t>(done);
        offset += done;
    }
    return {};
}

Result<void> ftruncate(FdRef fd, off_t size)
{
    if (::ftruncate(fd.get(), size) < 0)
        return Error::from_errno("truncate");
    return {};
}

Result<bool> preallocate(FdRef fd, off_t size)
{
    if (size == 0)
        return true;
    while (::fallocate(fd.get(), 0, 0, size) < 0) {
        if (errno == EINTR)
            continue;
        if (errno == EOPNOTSUPP)
            return false;
        return Error::from_errno(fmt::format("preallocate {} bytes", size));
    }
    return true;
}

Result<void> syncfs(FdRef fd)
{
    if (::syncfs(fd.get()) < 0)
        return Error::from_errno("syncfs");
    return {};
}

Result<bool> is_mount_root(std::string const& path)
{
    struct statx st { };
    if (::statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &st) < 0)
        return Error::from_errno("statx");
    if (!(st.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
        return Error::from_errno(ENOTSUP, "statx: no STATX_ATTR_MOUNT_ROOT");
    return (st.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
}

Result<std::string> mkdtemp(std::string const& prefix)
{
    std::string path = prefix + "XXXXXX";
    if (!::mkdtemp(path.data()))
        return Error::from_errno("mkdtemp");
    return path;
}

} // namespace cryo::sys
