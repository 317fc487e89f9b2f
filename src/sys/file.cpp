#include "sys/file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/scope_guard.h"
#include "sys/raw.h"

namespace cryo::sys {

Result<Fd> open(std::string const& path, int flags, mode_t mode)
{
    return openat(FdRef::cwd(), path, flags, mode);
}

Result<Fd> openat(FdRef dir, std::string const& path, int flags, mode_t mode)
{
    for (;;) {
        int fd = ::openat(dir.get(), path.c_str(), flags | O_CLOEXEC, mode);
        if (fd >= 0)
            return Fd(fd);
        if (errno != EINTR)
            return Error::from_errno(fmt::format("open {}", path));
    }
}

Result<size_t> read(FdRef fd, void* buffer, size_t size)
{
    for (;;) {
        ssize_t n = ::read(fd.get(), buffer, size);
        if (n >= 0)
            return static_cast<size_t>(n);
        if (errno != EINTR)
            return Error::from_errno("read");
    }
}

Result<size_t> write(FdRef fd, void const* buffer, size_t size)
{
    for (;;) {
        ssize_t n = ::write(fd.get(), buffer, size);
        if (n >= 0)
            return static_cast<size_t>(n);
        if (errno != EINTR)
            return Error::from_errno("write");
    }
}

Result<void> write_all(FdRef fd, std::string_view data)
{
    while (!data.empty()) {
        auto n = TRY(write(fd, data.data(), data.size()));
        data.remove_prefix(n);
    }
    return {};
}

Result<std::string> read_all(FdRef fd)
{
    std::string out;
    char buffer[8192];
    for (;;) {
        auto n = TRY(read(fd, buffer, sizeof buffer));
        if (n == 0)
            return out;
        out.append(buffer, n);
    }
}

Result<std::string> read_file(std::string const& path)
{
    return read_file_at(FdRef::cwd(), path);
}

Result<std::string> read_file_at(FdRef dir, std::string const& path)
{
    auto fd = TRY(openat(dir, path, O_RDONLY));
    return TRY(read_all(fd).context("read {}", path));
}

Result<void> write_file(std::string const& path, std::string_view data)
{
    return write_file_at(FdRef::cwd(), path, data);
}

Result<void> write_file_at(FdRef dir, std::string const& path, std::string_view data)
{
    auto fd = TRY(openat(dir, path, O_WRONLY | O_TRUNC));
    // One write(2): cgroup and /proc files take a value per write.
    auto n = TRY(write(fd, data.data(), data.size()).context("write {}", path));
    if (n != data.size())
        return Error::format("write {}: short write ({} of {} bytes)", path, n, data.size());
    return {};
}

Result<void> write_file_atomic(std::string const& path, std::string_view data, mode_t mode)
{
    auto tmp = path + ".tmp";
    {
        auto fd = TRY(open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode));
        ArmedScopeGuard remove_tmp([&] { ::unlink(tmp.c_str()); });
        TRY(write_all(fd, data).context("write {}", tmp));
        if (::fsync(fd.get()) < 0)
            return Error::from_errno(fmt::format("fsync {}", tmp));
        if (::rename(tmp.c_str(), path.c_str()) < 0)
            return Error::from_errno(fmt::format("rename {} to {}", tmp, path));
        remove_tmp.disarm();
    }
    return {};
}

Result<void> mkdir(std::string const& path, mode_t mode)
{
    if (::mkdir(path.c_str(), mode) < 0)
        return Error::from_errno(fmt::format("mkdir {}", path));
    return {};
}

Result<void> mkdir_all(std::string const& path, mode_t mode)
{
    if (path.empty())
        return {};
    if (::mkdir(path.c_str(), mode) == 0 || errno == EEXIST)
        return {};
    if (errno != ENOENT)
        return Error::from_errno(fmt::format("mkdir {}", path));
    auto slash = path.find_last_of('/');
    if (slash != std::string::npos && slash > 0)
        TRY(mkdir_all(path.substr(0, slash), mode));
    if (::mkdir(path.c_str(), mode) < 0 && errno != EEXIST)
        return Error::from_errno(fmt::format("mkdir {}", path));
    return {};
}

Result<void> rmdir(std::string const& path)
{
    if (::rmdir(path.c_str()) < 0)
        return Error::from_errno(fmt::format("rmdir {}", path));
    return {};
}

Result<void> unlink(std::string const& path)
{
    if (::unlink(path.c_str()) < 0)
        return Error::from_errno(fmt::format("unlink {}", path));
    return {};
}

namespace {

Result<void> remove_all_at(int parent, char const* name, dev_t device)
{
    struct stat st { };
    if (::fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT)
            return {};
        return Error::from_errno(fmt::format("stat {}", name));
    }
    if (!S_ISDIR(st.st_mode)) {
        if (::unlinkat(parent, name, 0) < 0 && errno != ENOENT)
            return Error::from_errno(fmt::format("unlink {}", name));
        return {};
    }
    if (st.st_dev != device)
        return Error::format("remove {}: is a mount point", name);
    int fd = ::openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return Error::from_errno(fmt::format("open {}", name));
    DIR* dir = ::fdopendir(fd);
    if (!dir) {
        ::close(fd);
        return Error::from_errno("fdopendir");
    }
    ScopeGuard close_dir([&] { ::closedir(dir); });
    while (auto* entry = ::readdir(dir)) {
        std::string_view entry_name = entry->d_name;
        if (entry_name == "." || entry_name == "..")
            continue;
        TRY(remove_all_at(fd, entry->d_name, device).context("in {}", name));
    }
    if (::unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        return Error::from_errno(fmt::format("rmdir {}", name));
    return {};
}

} // namespace

Result<void> remove_all(std::string const& path)
{
    struct stat st { };
    if (::lstat(path.c_str(), &st) < 0) {
        if (errno == ENOENT)
            return {};
        return Error::from_errno(fmt::format("stat {}", path));
    }
    return remove_all_at(AT_FDCWD, path.c_str(), st.st_dev);
}

Result<struct stat> stat(std::string const& path)
{
    struct stat st { };
    if (::stat(path.c_str(), &st) < 0)
        return Error::from_errno(fmt::format("stat {}", path));
    return st;
}

Result<struct stat> lstat(std::string const& path)
{
    struct stat st { };
    if (::lstat(path.c_str(), &st) < 0)
        return Error::from_errno(fmt::format("lstat {}", path));
    return st;
}

FileIdentity identity_of(struct stat const& st)
{
    return { static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino) };
}

Result<struct stat> fstat(FdRef fd)
{
    struct stat st { };
    if (::fstat(fd.get(), &st) < 0)
        return Error::from_errno("fstat");
    return st;
}

bool exists(std::string const& path)
{
    return ::access(path.c_str(), F_OK) == 0;
}

Result<std::vector<std::string>> list_dir(std::string const& path)
{
    DIR* dir = ::opendir(path.c_str());
    if (!dir)
        return Error::from_errno(fmt::format("opendir {}", path));
    ScopeGuard close_dir([&] { ::closedir(dir); });
    std::vector<std::string> names;
    while (auto* entry = ::readdir(dir)) {
        std::string_view name = entry->d_name;
        if (name != "." && name != "..")
            names.emplace_back(name);
    }
    return names;
}

Result<std::string> readlink(std::string const& path)
{
    char buffer[4096];
    ssize_t n = ::readlink(path.c_str(), buffer, sizeof buffer);
    if (n < 0)
        return Error::from_errno(fmt::format("readlink {}", path));
    return std::string(buffer, static_cast<size_t>(n));
}

Result<std::pair<Fd, Fd>> pipe(int flags)
{
    int fds[2];
    if (::pipe2(fds, flags | O_CLOEXEC) < 0)
        return Error::from_errno("pipe2");
    return std::pair<Fd, Fd>(Fd(fds[0]), Fd(fds[1]));
}

Result<Fd> dup(FdRef fd)
{
    int copy = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, 0);
    if (copy < 0)
        return Error::from_errno("dup");
    return Fd(copy);
}

Result<void> dup2(FdRef from, int to, int flags)
{
    if (::dup3(from.get(), to, flags) < 0)
        return Error::from_errno(fmt::format("dup3 to {}", to));
    return {};
}

Result<void> close_range(unsigned first, unsigned last, unsigned flags)
{
    if (::syscall(__NR_close_range, first, last, flags) < 0)
        return Error::from_errno("close_range");
    return {};
}

} // namespace cryo::sys
