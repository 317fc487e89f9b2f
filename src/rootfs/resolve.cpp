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

Result<Fd> ensure_in_root(FdRef root, std::string_view path, TargetKind kind)
{
    // Fast path: the target exists (most mount points do in a prepared image).
    auto existing = resolve_in_root(root, path);
    if (existing || !existing.error().is_errno(ENOENT))
        return existing;

    // Walk down, creating each missing component relative to its resolved parent. Each
    // prefix is resolved from the root again, so a symlink met on the way is followed
    // inside the root only.
    auto rel = relative(path);
    Fd parent = TRY(sys::openat2(root, ".", O_PATH | O_DIRECTORY, 0, in_root));
    std::string prefix;
    size_t pos = 0;
    while (pos < rel.size()) {
        auto slash = rel.find('/', pos);
        auto end = slash == std::string::npos ? rel.size() : slash;
        std::string component = rel.substr(pos, end - pos);
        pos = end + 1;
        if (component.empty() || component == ".")
            continue;
        if (!prefix.empty())
            prefix += '/';
        prefix += component;
        bool last = pos >= rel.size();

        auto next = sys::openat2(root, prefix.c_str(), O_PATH, 0, in_root);
        if (!next && next.error().is_errno(ENOENT)) {
            Result<void> created = (last && kind == TargetKind::File)
                ? sys::mknodat(parent, component.c_str(), S_IFREG | 0644, 0)
                : sys::mkdirat(parent, component.c_str(), 0755);
            // EEXIST: created meanwhile, or a dangling symlink (then the re-open fails).
            if (!created && !created.error().is_errno(EEXIST))
                return created.release_error();
            next = sys::openat2(root, prefix.c_str(), O_PATH, 0, in_root);
        }
        if (!next)
            return next.release_error();
        parent = next.release_value();
    }
    return parent;
}

} // namespace cryo::rootfs
