#include "rootfs/resolve.h"

#include <fcntl.h>
#include <string>
#include <sys/stat.h>

#include "sys/mounts.h"

namespace cryo::rootfs {

namespace {

constexpr uint64_t in_root = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;

std::string relative(std::string_view path)
{
    while (!path.empty() && path.front() == '/')
        path.remove_prefix(1);
    return path.empty() ? std::string(".") : std::string(path);
}

} // namespace

std::pair<std::string_view, std::string_view> split_last(std::string_view path)
{
    while (path.size() > 1 && path.back() == '/')
        path.remove_suffix(1);
    auto slash = path.rfind('/');
    if (slash == std::string_view::npos)
        return { ".", path };
    if (slash == 0)
        return { "/", path.substr(1) };
    return { path.substr(0, slash), path.substr(slash + 1) };
}

Result<Fd> resolve_in_root(FdRef root, std::string_view path, int flags)
{
    auto rel = relative(path);
    return sys::openat2(root, rel.c_str(), static_cast<uint64_t>(flags), 0, in_root);
}

Result<void> chdir_in_root(FdRef root, std::string_view path)
{
    auto dir = TRY(resolve_in_root(root, path, O_PATH | O_DIRECTORY));
    return sys::fchdir(dir);
}

Result<Fd> ensure_in_root(FdRef root, std::string_view path, TargetKind kind)
{
    // Fast path: the target exists (most mount points do in a prepared image).
    auto existing = resolve_in_root(root, path);
    if (existing || !existing.error().is_errno(ENOENT))
        return existing;

    // Make sure the parent exists (recursively, as directories), then create the last
    // component relative to the parent's fd, never through a path walk of its own.
    auto [parent_path, name] = split_last(path);
    if (name.empty() || name == "." || name == "..")
        return existing; // nothing sensible to create: report the ENOENT
    Fd parent_fd;
    FdRef parent = root;
    if (parent_path != "/" && parent_path != ".") {
        parent_fd = TRY(ensure_in_root(root, parent_path, TargetKind::Directory));
        parent = parent_fd;
    }
    std::string leaf(name);
    Result<void> created = kind == TargetKind::File ? sys::mknodat(parent, leaf.c_str(), S_IFREG | 0644, 0)
                                                    : sys::mkdirat(parent, leaf.c_str(), 0755);
    if (!created) {
        // EEXIST: a dangling symlink is in the way (or a racing creator): resolve it from
        // the root, which reports ENOENT for the dangling link and never leaves the root.
        if (!created.error().is_errno(EEXIST))
            return created.release_error();
        return resolve_in_root(root, path);
    }
    // What we just created is a plain entry of `parent`: open it without following links.
    return sys::openat2(parent, leaf.c_str(), O_PATH, 0, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
}

} // namespace cryo::rootfs
