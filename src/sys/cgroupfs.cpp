#include "sys/cgroupfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "base/scope_guard.h"

namespace cryo::sys {

Result<std::vector<std::string>> list_subdirs(std::string const& path)
{
    DIR* dir = ::opendir(path.c_str());
    if (!dir)
        return Error::from_errno(fmt::format("opendir {}", path));
    ScopeGuard close_dir([&] { ::closedir(dir); });
    std::vector<std::string> names;
    while (auto* entry = ::readdir(dir)) {
        std::string_view name = entry->d_name;
        if (name == "." || name == "..")
            continue;
        bool is_dir = entry->d_type == DT_DIR;
        if (entry->d_type == DT_UNKNOWN) {
            struct stat st {};
            is_dir = ::fstatat(::dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0
                && S_ISDIR(st.st_mode);
        }
        if (is_dir)
            names.emplace_back(name);
    }
    return names;
}

} // namespace cryo::sys
