// Thin wrappers of file syscalls. Every fd created here is O_CLOEXEC.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <sys/types.h>
#include <vector>

#include "base/error.h"
#include "base/fd.h"

namespace cryo::sys {

Result<Fd> open(std::string const& path, int flags, mode_t mode = 0);
Result<Fd> openat(FdRef dir, std::string const& path, int flags, mode_t mode = 0);
Result<size_t> read(FdRef fd, void* buffer, size_t size);
Result<size_t> write(FdRef fd, void const* buffer, size_t size);
Result<void> write_all(FdRef fd, std::string_view data);
Result<std::string> read_all(FdRef fd);
Result<std::string> read_file(std::string const& path);
Result<std::string> read_file_at(FdRef dir, std::string const& path);
// Writes (O_WRONLY|O_TRUNC, no O_CREAT) a whole value: what cgroup and /proc files want.
Result<void> write_file(std::string const& path, std::string_view data);
Result<void> write_file_at(FdRef dir, std::string const& path, std::string_view data);
// Writes via a temp file + fsync + rename so readers never see half a file.
Result<void> write_file_atomic(std::string const& path, std::string_view data, mode_t mode = 0644);
Result<void> mkdir(std::string const& path, mode_t mode);
// mkdir -p; existing directories are fine.
Result<void> mkdir_all(std::string const& path, mode_t mode);
Result<void> rmdir(std::string const& path);
Result<void> unlink(std::string const& path);
// rm -rf that does not cross mount points.
Result<void> remove_all(std::string const& path);
Result<struct stat> stat(std::string const& path);
Result<struct stat> lstat(std::string const& path);
Result<struct stat> fstat(FdRef fd);
// Which file an fd or a path is: st_dev and st_ino. {0, 0} names none.
struct FileIdentity {
    uint64_t device { 0 };
    uint64_t inode { 0 };

    bool operator==(FileIdentity const&) const = default;
};
FileIdentity identity_of(struct stat const& st);
bool exists(std::string const& path);
Result<std::vector<std::string>> list_dir(std::string const& path);
Result<std::string> readlink(std::string const& path);
Result<std::pair<Fd, Fd>> pipe(int flags = 0);
Result<Fd> dup(FdRef fd); // CLOEXEC
Result<void> dup2(FdRef from, int to, int flags = 0);
Result<void> close_range(unsigned first, unsigned last, unsigned flags);

} // namespace cryo::sys
