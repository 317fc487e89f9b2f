#include "image/overlay.h"

#include <sys/stat.h>

#include "base/scope_guard.h"
#include "image/extract.h"
#include "image/import.h"
#include "sys/file.h"
#include "sys/fsops.h"
#include "sys/mounts.h"

namespace cryo::image {

namespace {

// overlayfs splits its options on ',' and lower dirs on ':' (a '\' escapes); our paths
// never need either, so they are refused rather than escaped.
Result<void> check_overlay_path(std::string const& path)
{
    if (path.empty() || path.front() != '/')
        return Error::format("overlay path \"{}\" is not absolute", path);
    if (path.find_first_of(",:\\") != std::string::npos)
        return Error::format("overlay path \"{}\" contains ',', ':' or '\\'", path);
    return {};
}

// The classic mount(2) data is limited to one page.
constexpr size_t k_max_mount_data = 4095;

} // namespace

std::string RootfsMounts::options() const
{
    std::string lower;
    for (auto const& dir : lower_dirs) {
        if (!lower.empty())
            lower += ':';
        lower += dir;
    }
    // index/redirect_dir/metacopy off: the upper dir then holds plain files, whiteouts and
    // opaque markers only, which is what export_changes turns into a portable layer.
    return fmt::format("lowerdir={},upperdir={},workdir={},index=off,redirect_dir=off,metacopy=off", lower, upper_dir,
                       work_dir);
}

namespace {

std::string without_trailing_slash(std::string dir)
{
    while (dir.size() > 1 && dir.back() == '/')
        dir.pop_back();
    return dir;
}

} // namespace

Result<RootfsMounts> plan_container_rootfs(Store const& store, ImageRecord const& image,
                                           std::string const& container_dir, std::string const& writable_dir)
{
    RootfsMounts mounts;
    mounts.image = image.name;
    mounts.layers = image.layers;
    mounts.config = image.config;
    std::string dir = without_trailing_slash(container_dir);
    std::string writable = writable_dir.empty() ? dir : without_trailing_slash(writable_dir);
    mounts.upper_dir = writable + "/upper";
    mounts.work_dir = writable + "/work";
    mounts.target = dir + "/rootfs";
    for (auto it = image.layers.rbegin(); it != image.layers.rend(); ++it)
        mounts.lower_dirs.push_back(store.layer_rootfs(*it));
    for (auto const& path : mounts.lower_dirs)
        TRY(check_overlay_path(path).context("image {}", image.name));
    for (auto const* path : { &mounts.upper_dir, &mounts.work_dir, &mounts.target })
        TRY(check_overlay_path(*path).context("container dir"));
    if (mounts.options().size() > k_max_mount_data)
        return Error::format("image {}: {} layers make overlay options longer than a page ({} bytes)", image.name,
                             image.layers.size(), mounts.options().size());
    return mounts;
}

Result<RootfsMounts> prepare_container_rootfs(Store const& store, std::string const& image_name,
                                              std::string const& container_dir, std::string const& writable_dir)
{
    auto lock = TRY(store.lock(sys::LockKind::Shared));
    auto image = TRY(store.read_image(image_name));
    auto mounts = TRY(plan_container_rootfs(store, image, container_dir, writable_dir));
    for (auto const& layer : image.layers) {
        if (!store.has_layer(layer))
            return Error::format("image {}: layer {} is missing from the store", image_name, layer);
    }
    auto st = TRY(sys::stat(container_dir).context("container dir {}", container_dir));
    if (!S_ISDIR(st.st_mode))
        return Error::format("container dir {}: not a directory", container_dir);
    ArmedScopeGuard undo([&] {
        for (auto const* path : { &mounts.upper_dir, &mounts.work_dir, &mounts.target })
            (void)sys::remove_all(*path);
    });
    for (auto const* path : { &mounts.upper_dir, &mounts.work_dir, &mounts.target }) {
        if (sys::exists(*path))
            return Error::format("container dir {}: {} already exists", container_dir, *path);
    }
    // The upper dir's root becomes the container's "/": give it the mode of the image's.
    auto top_root = TRY(sys::stat(mounts.lower_dirs.front()).context("image {}", image_name));
    TRY(sys::mkdir(mounts.upper_dir, top_root.st_mode & 07777).context("create {}", mounts.upper_dir));
    TRY(sys::mkdir(mounts.work_dir, 0700).context("create {}", mounts.work_dir));
    TRY(sys::mkdir(mounts.target, 0755).context("create {}", mounts.target));
    TRY(store.register_container(container_dir, image));
    undo.disarm();
    return mounts;
}

Result<void> mount_rootfs(RootfsMounts const& mounts)
{
    auto options = mounts.options();
    TRY(sys::mount("overlay", mounts.target.c_str(), "overlay", 0, options.c_str())
            .context("mount overlay of image {} on {}", mounts.image, mounts.target));
    return {};
}

Result<void> unmount_rootfs(std::string const& target)
{
    if (!sys::exists(target))
        return {};
    if (!TRY(sys::is_mount_root(target).context("unmount {}", target)))
        return {};
    return sys::umount2(target.c_str(), 0).context("unmount {}", target);
}

Result<void> release_container_rootfs(Store const& store, std::string const& container_dir,
                                      std::string const& writable_dir)
{
    TRY(unmount_rootfs(container_dir + "/rootfs"));
    for (auto const* sub : { "/upper", "/work", "/rootfs" })
        TRY(sys::remove_all(container_dir + sub).context("remove {}{}", container_dir, sub));
    if (!writable_dir.empty()) {
        for (auto const* sub : { "/upper", "/work" })
            TRY(sys::remove_all(writable_dir + sub).context("remove {}{}", writable_dir, sub));
    }
    return store.unregister_container(container_dir);
}

Result<void> export_changes(std::string const& upper_dir, FdRef out)
{
    TRY(write_tree_tar(upper_dir, out, TreeKind::OverlayUpper).context("export changes of {}", upper_dir));
    return {};
}

Result<void> apply_changes(FdRef tar, std::string const& upper_dir)
{
    auto dir = TRY(sys::open(upper_dir, O_PATH | O_DIRECTORY).context("apply changes to {}", upper_dir));
    TRY(extract_archive(tar, dir, ExtractOptions { .whiteouts = Whiteouts::Overlay })
            .context("apply changes to {}", upper_dir));
    return {};
}

Result<ImageRecord> commit(Store const& store, std::string const& upper_dir, std::string const& base_image,
                           std::string const& new_name, CommitOptions const& options)
{
    TRY(validate_image_name(new_name));
    auto lock = TRY(store.lock(sys::LockKind::Exclusive));
    TRY(store.sweep_leftovers());
    if (store.has_image(new_name) && !options.replace)
        return Error::format("commit {}: image {} already exists (rm it first, or use --replace)", new_name, new_name);
    auto base = TRY(store.read_image(base_image).context("commit {}", new_name));
    auto temp = TRY(store.make_temp_dir("commit"));
    ScopeGuard remove_temp([&] { (void)sys::remove_all(temp); });
    {
        auto out = TRY(sys::open(temp + "/changes.tar", O_WRONLY | O_CREAT | O_EXCL, 0600));
        TRY(export_changes(upper_dir, out).context("commit {}", new_name));
    }
    auto tar = TRY(sys::open(temp + "/changes.tar", O_RDONLY));
    auto layer
        = import_layer(store, tar, LayerCheck { .blob_digest = {}, .diff_id = {}, .whiteouts = Whiteouts::Overlay });
    if (layer.is_error())
        return layer.release_error().add_context(fmt::format("commit {}", new_name));
    ImageRecord record = base;
    record.name = new_name;
    record.layers.push_back(*layer);
    record.source = base_image;
    record.kind = "commit";
    record.created = now_rfc3339();
    auto written = store.write_image(record);
    if (written.is_error()) {
        (void)store.collect_garbage();
        return written.release_error().add_context(fmt::format("commit {}", new_name));
    }
    if (options.replace)
        TRY(store.collect_garbage().context("commit {}: remove layers of the replaced image", new_name));
    return record;
}

} // namespace cryo::image
