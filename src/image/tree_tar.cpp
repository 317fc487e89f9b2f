// write_tree_tar (extract.h): a directory tree to a pax tar with libarchive's disk reader.
#include <archive.h>
#include <archive_entry.h>
#include <memory>
#include <string_view>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <vector>

#include "base/scope_guard.h"
#include "image/extract.h"
#include "sys/file.h"

namespace cryo::image {

namespace {

std::string archive_message(struct archive* a)
{
    char const* text = archive_error_string(a);
    return text ? text : "unknown archive error";
}

bool is_overlay_xattr(std::string_view key)
{
    return key.starts_with("trusted.overlay.") || key.starts_with("user.overlay.");
}

// Drops overlayfs bookkeeping (origin, impure, opaque, redirect...) from an entry; returns
// whether the directory was opaque.
bool strip_overlay_xattrs(struct archive_entry* entry)
{
    struct Xattr {
        std::string key;
        std::string value;
    };
    std::vector<Xattr> kept;
    bool opaque = false;
    bool dropped = false;
    archive_entry_xattr_reset(entry);
    char const* key = nullptr;
    void const* value = nullptr;
    size_t size = 0;
    while (archive_entry_xattr_next(entry, &key, &value, &size) == ARCHIVE_OK) {
        std::string_view text(static_cast<char const*>(value), size);
        if (is_overlay_xattr(key)) {
            dropped = true;
            if (std::string_view(key).ends_with(".overlay.opaque") && text == "y")
                opaque = true;
            continue;
        }
        kept.push_back({ key, std::string(text) });
    }
    if (dropped) {
        archive_entry_xattr_clear(entry);
        for (auto const& x : kept)
            archive_entry_xattr_add_entry(entry, x.key.c_str(), x.value.data(), x.value.size());
    }
    return opaque;
}

} // namespace

Result<uint64_t> write_tree_tar(std::string const& dir, FdRef out, TreeKind kind)
{
    std::unique_ptr<struct archive, decltype(&archive_read_free)> disk(archive_read_disk_new(), archive_read_free);
    std::unique_ptr<struct archive, decltype(&archive_write_free)> writer(archive_write_new(), archive_write_free);
    std::unique_ptr<struct archive_entry_linkresolver, decltype(&archive_entry_linkresolver_free)> links(
        archive_entry_linkresolver_new(), archive_entry_linkresolver_free);
    if (!disk || !writer || !links)
        return Error::make("libarchive: out of memory");
    archive_entry_linkresolver_set_strategy(links.get(), ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
    archive_read_disk_set_symlink_physical(disk.get());
    archive_read_disk_set_behavior(disk.get(), ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS);
    archive_write_set_format_pax_restricted(writer.get());
    archive_write_add_filter_none(writer.get());
    archive_write_set_bytes_in_last_block(writer.get(), 1);
    // libarchive's C API takes the descriptor number; `out` stays owned by the caller.
    if (archive_write_open_fd(writer.get(), out.get()) != ARCHIVE_OK)
        return Error::format("write tar: {}", archive_message(writer.get()));
    if (archive_read_disk_open(disk.get(), dir.c_str()) != ARCHIVE_OK)
        return Error::format("read {}: {}", dir, archive_message(disk.get()));

    uint64_t entries = 0;
    std::vector<char> buffer(128 * 1024);
    auto write_one = [&](struct archive_entry* entry) -> Result<void> {
        if (archive_write_header(writer.get(), entry) < ARCHIVE_WARN)
            return Error::format("write tar entry {}: {}", archive_entry_pathname(entry),
                                 archive_message(writer.get()));
        ++entries;
        return {};
    };
    for (;;) {
        std::unique_ptr<struct archive_entry, decltype(&archive_entry_free)> holder(archive_entry_new(),
                                                                                    archive_entry_free);
        auto* entry = holder.get();
        int status = archive_read_next_header2(disk.get(), entry);
        if (status == ARCHIVE_EOF)
            break;
        if (status < ARCHIVE_WARN)
            return Error::format("read {}: {}", dir, archive_message(disk.get()));
        mode_t type = archive_entry_filetype(entry);
        if (type == AE_IFDIR)
            archive_read_disk_descend(disk.get());
        std::string_view full = archive_entry_pathname(entry);
        if (!full.starts_with(dir))
            return Error::format("read {}: unexpected entry {}", dir, full);
        std::string relative(full.substr(dir.size()));
        while (!relative.empty() && relative.front() == '/')
            relative.erase(0, 1);
        if (type == AE_IFSOCK)
            continue;
        bool whiteout = false;
        bool opaque = false;
        if (kind == TreeKind::OverlayUpper) {
            whiteout = type == AE_IFCHR && archive_entry_rdev(entry) == makedev(0, 0);
            opaque = strip_overlay_xattrs(entry) && type == AE_IFDIR;
        }
        if (relative.empty()) {
            archive_entry_set_pathname(entry, "./");
        } else if (whiteout) {
            // An overlay whiteout becomes the OCI ".wh.<name>" marker file.
            auto slash = relative.rfind('/');
            auto marker = slash == std::string::npos
                ? ".wh." + relative
                : relative.substr(0, slash + 1) + ".wh." + relative.substr(slash + 1);
            archive_entry_set_pathname(entry, marker.c_str());
            archive_entry_set_filetype(entry, AE_IFREG);
            archive_entry_set_perm(entry, 0);
            archive_entry_set_rdev(entry, 0);
            archive_entry_set_size(entry, 0);
            archive_entry_xattr_clear(entry);
            TRY(write_one(entry));
            continue;
        } else {
            archive_entry_set_pathname(entry, relative.c_str());
        }
        if (type != AE_IFREG)
            archive_entry_set_size(entry, 0);
        struct archive_entry* spare = nullptr;
        struct archive_entry* linked = entry;
        archive_entry_linkify(links.get(), &linked, &spare);
        if (linked) {
            TRY(write_one(linked));
            bool has_data = linked == entry && type == AE_IFREG && !archive_entry_hardlink(linked)
                && archive_entry_size(linked) > 0;
            while (has_data) {
                la_ssize_t got = archive_read_data(disk.get(), buffer.data(), buffer.size());
                if (got < 0)
                    return Error::format("read {}: {}", full, archive_message(disk.get()));
                if (got == 0)
                    break;
                if (archive_write_data(writer.get(), buffer.data(), static_cast<size_t>(got)) < 0)
                    return Error::format("write tar: {}", archive_message(writer.get()));
            }
        }
        if (spare)
            return Error::format("read {}: unexpected deferred hard link", dir);
        if (opaque) {
            std::unique_ptr<struct archive_entry, decltype(&archive_entry_free)> marker(archive_entry_new(),
                                                                                        archive_entry_free);
            auto path = relative.empty() ? std::string(".wh..wh..opq") : relative + "/.wh..wh..opq";
            archive_entry_set_pathname(marker.get(), path.c_str());
            archive_entry_set_filetype(marker.get(), AE_IFREG);
            archive_entry_set_perm(marker.get(), 0);
            archive_entry_set_size(marker.get(), 0);
            TRY(write_one(marker.get()));
        }
    }
    if (archive_write_close(writer.get()) != ARCHIVE_OK)
        return Error::format("write tar: {}", archive_message(writer.get()));
    return entries;
}

} // namespace cryo::image
