// --image and --disk-limit: containers whose root is an overlay of image-store layers, with
// the writable layer in the state dir or on a size-limited loop-mounted ext4 image.
#include "runtime/extras_image.h"
#include "runtime/api.h"
#include "runtime/extras.h"

#include <cerrno>
#include <charconv>
#include <filesystem>
#include <linux/openat2.h>
#include <nlohmann/json.hpp>
#include <set>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "base/log.h"
#include "base/scope_guard.h"
#include "image/overlay.h"
#include "image/sha256.h"
#include "runtime/quantity.h"
#include "runtime/state_store.h"
#include "sys/file.h"
#include "sys/fsops.h"
#include "sys/loop.h"
#include "sys/mounts.h"
#include "sys/spawn.h"

namespace cryo::runtime {

namespace {

using json = nlohmann::json;

constexpr char k_image_use_file[] = "/image.json";
// Below this mke2fs leaves too little room after its metadata to be of use.
constexpr uint64_t k_min_disk_limit = 8ull << 20;
constexpr uint64_t k_max_disk_limit = 1ull << 44; // 16 TiB

std::string image_use_path(std::string const& state_dir)
{
    return state_dir + k_image_use_file;
}

Result<void> write_image_use(std::string const& state_dir, ImageUse const& use)
{
    json doc = {
        { "image", use.image },           { "store", use.store },           { "upper", use.upper },
        { "disk_image", use.disk_image }, { "disk_mount", use.disk_mount }, { "disk_limit", use.disk_limit },
    };
    return sys::write_file_atomic(image_use_path(state_dir), doc.dump() + "\n", 0600)
        .context("write {}", image_use_path(state_dir));
}

// umount2, falling back to a lazy unmount when something in this mount namespace still
// uses the mount (the container's own namespace holds a copy, never this one).
Result<void> unmount_or_detach(std::string const& target)
{
    if (!sys::exists(target))
        return {};
    if (!TRY(sys::is_mount_root(target).context("unmount {}", target)))
        return {};
    auto result = sys::umount2(target.c_str(), 0);
    if (result.is_error() && result.error().is_errno(EBUSY))
        result = sys::umount2(target.c_str(), MNT_DETACH);
    return std::move(result).context("unmount {}", target);
}

std::string mkfs_program()
{
    for (char const* path : { "/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4" })
        if (sys::exists(path))
            return path;
    return "mkfs.ext4";
}

// The ext4 image of a disk-limited container: a sparse file of `use.disk_limit` bytes,
// formatted, bound to a loop device with autoclear and mounted on use.disk_mount. The loop
// device goes away by itself when that mount (and every copy of it) is gone.
Result<void> set_up_disk(ImageUse const& use)
{
    auto disks = std::filesystem::path(use.disk_image).parent_path().string();
    TRY(sys::mkdir_all(disks, 0700).context("create {}", disks));
    {
        auto file
            = TRY(sys::open(use.disk_image, O_RDWR | O_CREAT | O_EXCL, 0600).context("create {}", use.disk_image));
        TRY(sys::ftruncate(file, static_cast<off_t>(use.disk_limit)).context("size {}", use.disk_image));
    }
    // -m 0: no blocks reserved for root (the container runs as root and would get them);
    // nodiscard: the file is sparse already.
    TRY(sys::run_capture(
            { mkfs_program(), "-q", "-F", "-m", "0", "-E", "nodiscard", "-L", "cryo-disk", use.disk_image })
            .context("format {}", use.disk_image));
    auto backing = TRY(sys::open(use.disk_image, O_RDWR).context("open {}", use.disk_image));
    auto loop = TRY(sys::loop_attach(backing).context("attach {}", use.disk_image));
    TRY(sys::mkdir(use.disk_mount, 0700).context("create {}", use.disk_mount));
    // discard: blocks the container frees are punched out of the sparse file, so the host
    // gets its space back.
    TRY(sys::mount(loop.path.c_str(), use.disk_mount.c_str(), "ext4", MS_NOATIME, "discard")
            .context("mount {} ({}) on {}", loop.path, use.disk_image, use.disk_mount));
    return {};
}

// /etc/passwd or /etc/group of a mounted image root, resolved inside it (a symlink in the
// image cannot point us at the host's files). A missing file reads as empty.
Result<std::string> read_in_root(std::string const& rootfs, char const* path)
{
    auto root = TRY(sys::open(rootfs, O_PATH | O_DIRECTORY).context("open {}", rootfs));
    auto file = sys::openat2(root, path, O_RDONLY, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
    if (file.is_error()) {
        if (file.error().is_errno(ENOENT))
            return std::string();
        return file.release_error().add_context(fmt::format("open {} of the image", path));
    }
    return sys::read_all(*file).context("read {} of the image", path);
}

// mkdir -p of `path` inside the image root (the image's WorkingDir, which docker creates when
// the image lacks it). Every step resolves inside the root, so a symlink in the image cannot
// make us create directories on the host.
Result<void> make_dir_in_root(std::string const& rootfs, std::string const& path)
{
    auto root = TRY(sys::open(rootfs, O_PATH | O_DIRECTORY).context("open {}", rootfs));
    std::string prefix;
    size_t start = 0;
    while (start < path.size()) {
        auto end = path.find('/', start);
        if (end == std::string::npos)
            end = path.size();
        auto name = path.substr(start, end - start);
        start = end + 1;
        if (name.empty() || name == ".")
            continue;
        auto parent = TRY(sys::openat2(root, prefix.empty() ? "." : prefix.c_str(), O_PATH | O_DIRECTORY, 0,
                                       RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
                              .context("working dir {} of the image", path));
        prefix += (prefix.empty() ? "" : "/") + name;
        auto existing
            = sys::openat2(root, prefix.c_str(), O_PATH | O_DIRECTORY, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
        if (existing)
            continue;
        if (!existing.error().is_errno(ENOENT))
            return existing.release_error().add_context(fmt::format("working dir {} of the image", path));
        if (name == "..")
            continue;
        auto made = sys::mkdirat(parent, name.c_str(), 0755);
        if (made.is_error() && !made.error().is_errno(EEXIST))
            return made.release_error().add_context(fmt::format("create working dir {} in the image", path));
    }
    return {};
}

std::vector<std::string_view> split(std::string_view text, char separator)
{
    std::vector<std::string_view> parts;
    size_t start = 0;
    for (;;) {
        auto end = text.find(separator, start);
        parts.push_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
        if (end == std::string_view::npos)
            return parts;
        start = end + 1;
    }
}

std::optional<uint32_t> parse_id(std::string_view text)
{
    uint32_t value = 0;
    if (text.empty())
        return std::nullopt;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size())
        return std::nullopt;
    return value;
}

// Lines of a passwd/group file split into fields, comments and short lines skipped.
std::vector<std::vector<std::string_view>> database(std::string_view text, size_t min_fields)
{
    std::vector<std::vector<std::string_view>> entries;
    for (auto line : split(text, '\n')) {
        if (line.empty() || line.front() == '#')
            continue;
        auto fields = split(line, ':');
        if (fields.size() >= min_fields)
            entries.push_back(std::move(fields));
    }
    return entries;
}

} // namespace

Result<std::optional<ImageUse>> read_image_use(std::string const& state_dir)
{
    auto path = image_use_path(state_dir);
    auto text = sys::read_file(path);
    if (text.is_error()) {
        if (text.error().is_errno(ENOENT))
            return std::optional<ImageUse>();
        return text.release_error().add_context(fmt::format("read {}", path));
    }
    json doc = json::parse(*text, nullptr, false);
    if (!doc.is_object() || !doc.contains("image") || !doc["image"].is_string() || !doc.contains("store")
        || !doc["store"].is_string())
        return Error::format("{}: not an image record", path);
    ImageUse use;
    use.image = doc["image"].get<std::string>();
    use.store = doc["store"].get<std::string>();
    auto text_of = [&](char const* key) {
        return doc.contains(key) && doc[key].is_string() ? doc[key].get<std::string>() : std::string();
    };
    use.upper = text_of("upper");
    use.disk_image = text_of("disk_image");
    use.disk_mount = text_of("disk_mount");
    if (doc.contains("disk_limit") && doc["disk_limit"].is_number_unsigned())
        use.disk_limit = doc["disk_limit"].get<uint64_t>();
    return std::optional<ImageUse>(std::move(use));
}

Result<uint64_t> parse_size(std::string_view text)
{
    auto invalid
        = [&] { return Error::format("invalid size \"{}\" (a number with an optional unit b, k, m, g or t)", text); };
    size_t digits = 0;
    while (digits < text.size() && ((text[digits] >= '0' && text[digits] <= '9') || text[digits] == '.'))
        ++digits;
    if (digits == 0)
        return invalid();
    // Not std::from_chars of a double: libstdc++'s needs libm (fegetround), which cryo does
    // not link (see extras_limits.cpp's cpus_to_quota).
    auto decimal = quantity::detail::take_decimal(text.substr(0, digits));
    if (!decimal || decimal->length != digits)
        return invalid();
    long double number = decimal->value;
    std::string unit;
    for (char c : text.substr(digits))
        unit += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    // "m", "mb", "mib" all mean MiB, as in docker's RAMInBytes.
    if (unit.size() == 3 && unit.substr(1) == "ib")
        unit.resize(1);
    else if (unit.size() == 2 && unit[1] == 'b' && unit[0] != 'b')
        unit.resize(1);
    long double scale = 0;
    if (unit.empty() || unit == "b")
        scale = 1;
    else if (unit == "k")
        scale = 1024.0;
    else if (unit == "m")
        scale = 1024.0 * 1024;
    else if (unit == "g")
        scale = 1024.0 * 1024 * 1024;
    else if (unit == "t")
        scale = 1024.0 * 1024 * 1024 * 1024;
    else
        return invalid();
    long double bytes = number * scale; // truncated by the cast below: floor, as it is >= 0
    if (bytes > 1.8e19)
        return Error::format("size \"{}\" is too large", text);
    return static_cast<uint64_t>(bytes);
}

Result<oci::User> resolve_image_user(std::string const& user, std::string_view passwd, std::string_view group)
{
    oci::User result;
    if (user.empty())
        return result;
    auto colon = user.find(':');
    std::string_view user_part = std::string_view(user).substr(0, colon);
    std::optional<std::string_view> group_part;
    if (colon != std::string::npos)
        group_part = std::string_view(user).substr(colon + 1);
    if (user_part.empty())
        return Error::format("image user \"{}\": no user", user);

    auto users = database(passwd, 4);
    auto groups = database(group, 3);
    std::string_view user_name;
    std::optional<uint32_t> passwd_gid;
    if (auto uid = parse_id(user_part)) {
        result.uid = *uid;
        for (auto const& entry : users)
            if (parse_id(entry[2]) == uid) {
                user_name = entry[0];
                passwd_gid = parse_id(entry[3]);
                break;
            }
    } else {
        bool found = false;
        for (auto const& entry : users) {
            if (entry[0] != user_part)
                continue;
            auto uid_of = parse_id(entry[2]);
            if (!uid_of)
                continue;
            result.uid = *uid_of;
            passwd_gid = parse_id(entry[3]);
            user_name = entry[0];
            found = true;
            break;
        }
        if (!found)
            return Error::format("image user \"{}\": no user {} in the image's /etc/passwd", user, user_part);
    }

    if (group_part) {
        if (auto gid = parse_id(*group_part)) {
            result.gid = *gid;
        } else {
            bool found = false;
            for (auto const& entry : groups) {
                if (entry[0] != *group_part)
                    continue;
                if (auto gid_of = parse_id(entry[2])) {
                    result.gid = *gid_of;
                    found = true;
                    break;
                }
            }
            if (!found)
                return Error::format("image user \"{}\": no group {} in the image's /etc/group", user, *group_part);
        }
    } else {
        result.gid = passwd_gid.value_or(0);
        // Supplementary groups from /etc/group, as docker and podman add them (only when no
        // group was named explicitly).
        if (!user_name.empty()) {
            for (auto const& entry : groups) {
                if (entry.size() < 4)
                    continue;
                auto gid_of = parse_id(entry[2]);
                if (!gid_of || *gid_of == result.gid)
                    continue;
                for (auto member : split(entry[3], ','))
                    if (member == user_name) {
                        result.additional_gids.push_back(*gid_of);
                        break;
                    }
            }
        }
    }
    return result;
}

oci::Spec image_spec(image::ImageConfig const& config, oci::User const& user, std::string const& hostname)
{
    auto spec = oci::default_spec(false);
    spec.hostname = hostname;
    spec.root.path = "rootfs";
    spec.root.readonly = false; // the overlay's upper dir takes the writes
    auto& process = *spec.process;
    process.terminal = false;
    process.args.clear();
    process.args.insert(process.args.end(), config.entrypoint.begin(), config.entrypoint.end());
    process.args.insert(process.args.end(), config.cmd.begin(), config.cmd.end());
    if (process.args.empty())
        process.args = { "sh" };
    for (auto const& entry : config.env) {
        auto name = entry.substr(0, entry.find('='));
        auto same = [&](std::string const& existing) { return existing.substr(0, existing.find('=')) == name; };
        std::erase_if(process.env, same);
        process.env.push_back(entry);
    }
    process.cwd = config.workdir.empty() ? "/" : config.workdir;
    process.user = user;
    return spec;
}

Result<void> image_prepare_bundle(Context const&, Extras const& extras, ExtrasRun& run)
{
    if (extras.image.empty()) {
        if (!extras.disk_limit.empty())
            return Error::make("--disk-limit: only with --image (the limit is on the image's writable layer)");
        return {};
    }
    uint64_t limit = 0;
    if (!extras.disk_limit.empty()) {
        limit = TRY(parse_size(extras.disk_limit).context("--disk-limit"));
        if (limit < k_min_disk_limit || limit > k_max_disk_limit)
            return Error::format("--disk-limit: {} is out of range (8m to 16t)", extras.disk_limit);
    }
    auto store_root = image::default_store_root();
    if (!sys::exists(store_root))
        return Error::format("image {}: no such image (no image store at {})", extras.image, store_root);
    auto store = TRY(image::Store::open(store_root));
    {
        auto lock = TRY(store.lock(sys::LockKind::Shared));
        TRY(store.read_image(extras.image));
    }

    // Recorded before anything is made, so that image_release finds whatever exists.
    ImageUse use;
    use.image = extras.image;
    use.store = store.root();
    std::string writable_dir;
    if (limit) {
        use.disk_image = store.root() + "/disks/" + image::sha256_hex(run.state_dir) + ".ext4";
        use.disk_mount = run.state_dir + "/disk";
        use.disk_limit = limit;
        writable_dir = use.disk_mount;
    }
    use.upper = (writable_dir.empty() ? run.state_dir : writable_dir) + "/upper";
    TRY(write_image_use(run.state_dir, use));
    if (limit)
        TRY(set_up_disk(use).context("--disk-limit"));
    auto mounts = TRY(image::prepare_container_rootfs(store, extras.image, run.state_dir, writable_dir));
    TRY(image::mount_rootfs(mounts));

    // A bundle with a config.json keeps its process and settings (only root changes, in
    // image_amend_spec); without one, the container runs what the image says.
    if (sys::exists(run.bundle + "/config.json"))
        return {};
    auto passwd = TRY(read_in_root(mounts.target, "etc/passwd"));
    auto group = TRY(read_in_root(mounts.target, "etc/group"));
    auto user = TRY(resolve_image_user(mounts.config.user, passwd, group).context("image {}", extras.image));
    auto spec = image_spec(mounts.config, user, run.id.substr(0, 63));
    TRY(make_dir_in_root(mounts.target, spec.process->cwd));
    TRY(sys::write_file_atomic(run.state_dir + "/config.json", oci::to_json(spec) + "\n", 0600)
            .context("write the bundle of image {}", extras.image));
    run.bundle = run.state_dir;
    return {};
}

Result<void> image_amend_spec(Context const&, Extras const& extras, ExtrasRun const& run, oci::Spec& spec)
{
    if (extras.image.empty())
        return {};
    spec.root.path = run.state_dir + "/rootfs";
    return {};
}

void image_release(std::string const& state_dir)
{
    auto read = read_image_use(state_dir);
    if (read.is_error()) {
        log::warn("release image of {}: {}", state_dir, read.error().message());
        return;
    }
    if (!*read)
        return;
    auto const& use = **read;
    auto warn = [&](Result<void> result) {
        if (result.is_error())
            log::warn("release image {} of {}: {}", use.image, state_dir, result.error().message());
        return result.has_value();
    };
    bool rootfs_gone = warn(unmount_or_detach(state_dir + "/rootfs"));
    // The store may have been removed by hand; opening it would make an empty one.
    if (rootfs_gone && sys::exists(use.store)) {
        auto store = image::Store::open(use.store);
        if (store.is_error())
            warn(store.release_error());
        else
            warn(image::release_container_rootfs(*store, state_dir));
    }
    if (!use.disk_mount.empty()) {
        // Upper and work go with the file system; the loop device (autoclear) with its mount.
        if (warn(unmount_or_detach(use.disk_mount)) && sys::exists(use.disk_mount))
            warn(sys::rmdir(use.disk_mount));
        if (!use.disk_image.empty()) {
            auto removed = sys::unlink(use.disk_image);
            if (removed.is_error() && !removed.error().is_errno(ENOENT))
                warn(std::move(removed));
        }
    }
    if (rootfs_gone)
        warn(sys::unlink(image_use_path(state_dir)));
}

Result<DiskUsage> container_disk_usage(std::string const& state_dir)
{
    auto use = TRY(read_image_use(state_dir));
    if (!use)
        return Error::format("{}: the container was not created from an image", state_dir);
    DiskUsage usage;
    if (!use->disk_mount.empty()) {
        struct statfs fs { };
        if (::statfs(use->disk_mount.c_str(), &fs) < 0)
            return Error::from_errno(fmt::format("statfs {}", use->disk_mount));
        auto block = static_cast<uint64_t>(fs.f_bsize);
        usage.used_bytes = (static_cast<uint64_t>(fs.f_blocks) - static_cast<uint64_t>(fs.f_bfree)) * block;
        usage.available_bytes = static_cast<uint64_t>(fs.f_bavail) * block;
        usage.limit_bytes = use->disk_limit;
        return usage;
    }
    // du: allocated blocks of everything in the upper dir, each inode once.
    std::set<std::pair<dev_t, ino_t>> seen;
    auto add = [&](std::string const& path) {
        auto st = sys::lstat(path);
        if (!st)
            return;
        if (st->st_nlink > 1 && !S_ISDIR(st->st_mode) && !seen.emplace(st->st_dev, st->st_ino).second)
            return;
        usage.used_bytes += static_cast<uint64_t>(st->st_blocks) * 512;
    };
    if (!sys::exists(use->upper))
        return usage;
    add(use->upper);
    std::error_code error;
    std::filesystem::recursive_directory_iterator it(use->upper, std::filesystem::directory_options::none, error);
    if (error)
        return Error::from_errno(error.value(), fmt::format("read {}", use->upper));
    for (; it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
        if (error)
            return Error::from_errno(error.value(), fmt::format("read {}", use->upper));
        add(it->path().string());
    }
    return usage;
}

Result<void> write_image_bundle(image::Store const& store, std::string const& name, std::string const& dir)
{
    TRY(sys::mkdir_all(dir, 0755).context("create {}", dir));
    auto config_path = dir + "/config.json";
    if (sys::exists(config_path))
        return Error::format("bundle {}: config.json exists already", dir);
    auto mounts = TRY(image::prepare_container_rootfs(store, name, dir));
    ArmedScopeGuard release([&] { (void)image::release_container_rootfs(store, dir); });
    TRY(image::mount_rootfs(mounts));
    auto passwd = TRY(read_in_root(mounts.target, "etc/passwd"));
    auto group = TRY(read_in_root(mounts.target, "etc/group"));
    auto user = TRY(resolve_image_user(mounts.config.user, passwd, group).context("image {}", name));
    auto spec = image_spec(mounts.config, user, "cryo");
    TRY(make_dir_in_root(mounts.target, spec.process->cwd));
    TRY(sys::write_file_atomic(config_path, oci::to_json(spec) + "\n", 0644).context("write {}", config_path));
    release.disarm();
    return {};
}

Result<image::ImageRecord> commit_container(Context const& ctx, std::string const& id, std::string const& name,
                                            bool replace)
{
    StateStore states(ctx.root);
    auto container = TRY(states.open(id, LockMode::Shared));
    auto use = TRY(read_image_use(container.dir()));
    if (!use)
        return Error::format("container {} was not created from an image (--image)", id);
    auto store = TRY(image::Store::open(use->store));
    return image::commit(store, use->upper, use->image, name, image::CommitOptions { .replace = replace });
}

} // namespace cryo::runtime
