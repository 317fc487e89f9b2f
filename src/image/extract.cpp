#include "image/extract.h"

#include <algorithm>
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <memory>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/scope_guard.h"
#include "image/sha256.h"
#include "sys/file.h"
#include "sys/fsops.h"
#include "sys/mounts.h"

namespace cryo::image {

namespace {

constexpr size_t k_block = 128 * 1024;

struct ArchiveDeleter {
    void operator()(struct archive* a) const { archive_read_free(a); }
};
using ReadArchive = std::unique_ptr<struct archive, ArchiveDeleter>;

std::string archive_message(struct archive* a)
{
    char const* text = archive_error_string(a);
    return text ? text : "unknown archive error";
}

// Two libarchive readers chained: the outer one reads the source file with the
// decompression filters and hands out the raw stream ("raw" format); the inner one parses
// tar from that stream. The chain lets one pass hash both the compressed bytes (the OCI blob
// digest) and the uncompressed tar (the layer's diff id).
class LayerStream {
public:
    static Result<std::unique_ptr<LayerStream>> open(FdRef source, ExtractOptions const* options)
    {
        auto stream = std::unique_ptr<LayerStream>(new LayerStream(source, options));
        auto st = TRY(sys::fstat(source));
        stream->m_total = S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size) : 0;
        if (S_ISREG(st.st_mode) && st.st_size == 0)
            return Error::make("read archive: empty file");
        stream->m_outer.reset(archive_read_new());
        stream->m_inner.reset(archive_read_new());
        if (!stream->m_outer || !stream->m_inner)
            return Error::make("archive_read_new failed");
        auto* outer = stream->m_outer.get();
        archive_read_support_filter_gzip(outer);
        archive_read_support_filter_bzip2(outer);
        archive_read_support_filter_xz(outer);
        archive_read_support_filter_lzma(outer);
        archive_read_support_filter_zstd(outer);
        archive_read_support_filter_lz4(outer);
        archive_read_support_format_raw(outer);
        if (archive_read_open(outer, stream.get(), nullptr, &LayerStream::read_source, nullptr) != ARCHIVE_OK)
            return Error::format("read archive: {}", archive_message(outer));
        struct archive_entry* raw = nullptr;
        int status = archive_read_next_header(outer, &raw);
        if (status == ARCHIVE_EOF)
            return Error::make("read archive: empty file");
        if (status < ARCHIVE_WARN)
            return Error::format("read archive: {}", archive_message(outer));
        auto* inner = stream->m_inner.get();
        archive_read_support_format_tar(inner);
        if (archive_read_open(inner, stream.get(), nullptr, &LayerStream::read_tar, nullptr) != ARCHIVE_OK)
            return Error::format("read archive: {}", stream->error_text());
        return stream;
    }

    struct archive* tar() const { return m_inner.get(); }

    // The error of the inner reader, or of the decompressor under it when that failed.
    std::string error_text() const
    {
        if (!m_stream_error.empty())
            return m_stream_error;
        return archive_message(m_inner.get());
    }

    // Reads whatever follows the tar end marker so the digests cover the whole source.
    Result<void> drain()
    {
        for (;;) {
            la_ssize_t got = archive_read_data(m_outer.get(), m_tar_buffer.data(), m_tar_buffer.size());
            if (got < 0)
                return Error::format("read archive: {}", archive_message(m_outer.get()));
            if (got == 0)
                return {};
            m_diff.update(m_tar_buffer.data(), static_cast<size_t>(got));
        }
    }
    std::string blob_digest() { return m_blob.hex_digest(); }
    std::string diff_digest() { return m_diff.hex_digest(); }

private:
    LayerStream(FdRef source, ExtractOptions const* options)
        : m_source(source)
        , m_options(options)
    {
    }

    static la_ssize_t read_source(struct archive* a, void* self_ptr, void const** buffer)
    {
        auto* self = static_cast<LayerStream*>(self_ptr);
        auto got = sys::read(self->m_source, self->m_source_buffer.data(), self->m_source_buffer.size());
        if (got.is_error()) {
            archive_set_error(a, got.error().code(), "%s", got.error().message().c_str());
            return -1;
        }
        self->m_blob.update(self->m_source_buffer.data(), *got);
        self->m_done += *got;
        if (self->m_options && self->m_options->progress)
            self->m_options->progress(self->m_done, self->m_total);
        *buffer = self->m_source_buffer.data();
        return static_cast<la_ssize_t>(*got);
    }

    static la_ssize_t read_tar(struct archive* a, void* self_ptr, void const** buffer)
    {
        auto* self = static_cast<LayerStream*>(self_ptr);
        la_ssize_t got = archive_read_data(self->m_outer.get(), self->m_tar_buffer.data(), self->m_tar_buffer.size());
        if (got < 0) {
            self->m_stream_error = archive_message(self->m_outer.get());
            archive_set_error(a, EIO, "%s", self->m_stream_error.c_str());
            return -1;
        }
        self->m_diff.update(self->m_tar_buffer.data(), static_cast<size_t>(got));
        *buffer = self->m_tar_buffer.data();
        return got;
    }

    FdRef m_source;
    ExtractOptions const* m_options;
    ReadArchive m_outer;
    ReadArchive m_inner;
    Sha256 m_blob;
    Sha256 m_diff;
    uint64_t m_done { 0 };
    uint64_t m_total { 0 };
    std::string m_stream_error;
    std::vector<char> m_source_buffer = std::vector<char>(k_block);
    std::vector<char> m_tar_buffer = std::vector<char>(k_block);
};

std::pair<std::string, std::string> split_parent(std::string const& path)
{
    auto slash = path.rfind('/');
    if (slash == std::string::npos)
        return { "", path };
    return { path.substr(0, slash), path.substr(slash + 1) };
}

bool may_skip(int code)
{
    return code == EPERM || code == EACCES || code == ENOTSUP || code == EOPNOTSUPP || code == EINVAL;
}

// Writes entries under one root directory; see the header for the containment rules.
class Extractor {
public:
    Extractor(FdRef root, Whiteouts whiteouts)
        : m_root(root)
        , m_whiteouts(whiteouts)
        , m_privileged(geteuid() == 0)
    {
    }

    Result<void> write(struct archive* a, struct archive_entry* entry, ExtractResult& result)
    {
        char const* raw_path = archive_entry_pathname(entry);
        if (!raw_path)
            return Error::make("entry without a path name");
        auto path = TRY(normalize_entry_path(raw_path).context("entry \"{}\"", raw_path));
        ++result.entries;
        auto [parent_path, name] = split_parent(path);

        if (m_whiteouts == Whiteouts::Overlay && name.starts_with(".wh."))
            return write_whiteout(parent_path, name).context("whiteout \"{}\"", path);

        mode_t type = archive_entry_filetype(entry);
        if (path.empty()) {
            if (type != AE_IFDIR)
                return Error::format("entry \"{}\": the root must be a directory", raw_path);
            m_dirs.push_back({ "", archive_entry_perm(entry), entry_times(entry) });
            TRY(apply_owner(m_root, ".", entry, result));
            TRY(apply_xattrs(m_root, ".", entry, result));
            return {};
        }
        auto parent = TRY(open_dir(parent_path, true).context("entry \"{}\": parent", path));

        if (char const* link = archive_entry_hardlink(entry)) {
            auto target = TRY(normalize_entry_path(link).context("entry \"{}\": hard link target \"{}\"", path, link));
            auto [target_parent_path, target_name] = split_parent(target);
            if (target_name.empty())
                return Error::format("entry \"{}\": hard link to the root", path);
            auto target_parent
                = TRY(open_dir(target_parent_path, false).context("entry \"{}\": hard link target", path));
            TRY(clear(parent, name, false));
            TRY(sys::linkat(target_parent, target_name, parent, name)
                    .context("entry \"{}\": link to \"{}\"", path, target));
            return {};
        }

        switch (type) {
        case AE_IFDIR: {
            TRY(clear(parent, name, true));
            auto st = sys::fstatat(parent, name, AT_SYMLINK_NOFOLLOW);
            if (st.is_error())
                TRY(sys::mkdirat(parent, name.c_str(), 0700).context("entry \"{}\"", path));
            m_dirs.push_back({ path, archive_entry_perm(entry), entry_times(entry) });
            TRY(apply_owner(parent, name, entry, result).context("entry \"{}\"", path));
            TRY(apply_xattrs(parent, name, entry, result).context("entry \"{}\"", path));
            return {};
        }
        case AE_IFREG: {
            TRY(clear(parent, name, false));
            auto file = TRY(sys::openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600)
                                .context("entry \"{}\": create", path));
            TRY(write_data(a, file, archive_entry_size(entry), result).context("entry \"{}\"", path));
            break;
        }
        case AE_IFLNK: {
            TRY(clear(parent, name, false));
            char const* target = archive_entry_symlink(entry);
            // The target is stored as it is: it is never followed while extracting, and at
            // run time it resolves inside the container's root.
            TRY(sys::symlinkat(target ? target : "", parent, name.c_str()).context("entry \"{}\": symlink", path));
            TRY(apply_owner(parent, name, entry, result).context("entry \"{}\"", path));
            TRY(apply_xattrs(parent, name, entry, result).context("entry \"{}\"", path));
            return apply_times(parent, name, entry_times(entry)).context("entry \"{}\"", path);
        }
        case AE_IFCHR:
        case AE_IFBLK:
        case AE_IFIFO: {
            TRY(clear(parent, name, false));
            dev_t dev = type == AE_IFIFO ? 0 : makedev(archive_entry_rdevmajor(entry), archive_entry_rdevminor(entry));
            auto made = sys::mknodat(parent, name.c_str(), type | 0600, dev);
            if (made.is_error()) {
                if (!m_privileged && may_skip(made.error().code())) {
                    ++result.skipped; // device nodes need CAP_MKNOD
                    return {};
                }
                return made.release_error().add_context(fmt::format("entry \"{}\"", path));
            }
            break;
        }
        case AE_IFSOCK:
            return {}; // sockets are not carried in layers
        default:
            return Error::format("entry \"{}\": unknown file type {:o}", path, type);
        }
        TRY(apply_owner(parent, name, entry, result).context("entry \"{}\"", path));
        TRY(sys::fchmodat(parent, name.c_str(), archive_entry_perm(entry)).context("entry \"{}\": chmod", path));
        TRY(apply_xattrs(parent, name, entry, result).context("entry \"{}\"", path));
        return apply_times(parent, name, entry_times(entry)).context("entry \"{}\"", path);
    }

    // Directory modes and times are applied last, deepest first: a read-only directory
    // must not stop its own entries from being written, and writing them changes its mtime.
    Result<void> finish()
    {
        std::stable_sort(m_dirs.begin(), m_dirs.end(), [](auto const& a, auto const& b) {
            return std::count(a.path.begin(), a.path.end(), '/') + !a.path.empty()
                > std::count(b.path.begin(), b.path.end(), '/') + !b.path.empty();
        });
        for (auto const& dir : m_dirs) {
            auto [parent_path, name] = split_parent(dir.path);
            auto parent = TRY(open_dir(parent_path, false).context("directory \"{}\"", dir.path));
            auto const& leaf = dir.path.empty() ? std::string(".") : name;
            auto st = TRY(sys::fstatat(parent, leaf, AT_SYMLINK_NOFOLLOW).context("directory \"{}\"", dir.path));
            if (!S_ISDIR(st.st_mode))
                continue; // replaced by a later entry
            TRY(sys::fchmodat(parent, leaf.c_str(), dir.mode).context("directory \"{}\": chmod", dir.path));
            TRY(apply_times(parent, leaf, dir.times).context("directory \"{}\"", dir.path));
        }
        return {};
    }

private:
    struct Times {
        struct timespec value[2];
    };
    struct DirFixup {
        std::string path;
        mode_t mode;
        Times times;
    };

    static Times entry_times(struct archive_entry* entry)
    {
        Times times {};
        times.value[0].tv_sec = archive_entry_mtime(entry);
        times.value[0].tv_nsec = archive_entry_mtime_nsec(entry);
        times.value[1] = times.value[0];
        return times;
    }

    Result<void> apply_times(FdRef parent, std::string const& name, Times const& times)
    {
        return sys::utimensat(parent, name, times.value, AT_SYMLINK_NOFOLLOW);
    }

    // The directory `path` (relative to the root; "" is the root), resolved inside the root.
    // With `create`, missing directories on the way are made (mode 0755, as tar does).
    Result<Fd> open_dir(std::string const& path, bool create)
    {
        auto opened = sys::openat2(m_root, path.empty() ? "." : path.c_str(), O_PATH | O_DIRECTORY, 0,
                                   RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV);
        if (opened.is_error() && create && opened.error().is_errno(ENOENT) && !path.empty()) {
            auto [parent_path, name] = split_parent(path);
            auto parent = TRY(open_dir(parent_path, true));
            auto made = sys::mkdirat(parent, name.c_str(), 0755);
            if (made.is_error() && !made.error().is_errno(EEXIST))
                return made.release_error().add_context(fmt::format("create directory {}", path));
            opened = sys::openat2(m_root, path.c_str(), O_PATH | O_DIRECTORY, 0,
                                  RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV);
            auto st = sys::fstatat(parent, name, AT_SYMLINK_NOFOLLOW);
            if (opened.is_error() && !st.is_error() && S_ISLNK(st->st_mode))
                return Error::format("\"{}\" is a symlink to a directory the layer does not have", path);
        }
        if (opened.is_error())
            return opened.release_error().add_context(fmt::format("open directory \"{}\"", path));
        return opened.release_value();
    }

    // Makes room for a new entry `name`: removes what is there unless both are directories.
    Result<void> clear(FdRef parent, std::string const& name, bool keep_directory)
    {
        auto st = sys::fstatat(parent, name, AT_SYMLINK_NOFOLLOW);
        if (st.is_error())
            return {};
        if (keep_directory && S_ISDIR(st->st_mode))
            return {};
        return sys::remove_all(fmt::format("/proc/self/fd/{}/{}", parent.get(), name)).context("replace {}", name);
    }

    Result<void> write_data(struct archive* a, FdRef file, la_int64_t size, ExtractResult& result)
    {
        for (;;) {
            void const* block = nullptr;
            size_t length = 0;
            la_int64_t offset = 0;
            int status = archive_read_data_block(a, &block, &length, &offset);
            if (status == ARCHIVE_EOF)
                break;
            if (status < ARCHIVE_WARN)
                return Error::format("read data: {}", archive_message(a));
            TRY(sys::pwrite_all(file, block, length, static_cast<off_t>(offset)));
            result.size += length;
        }
        // Sparse files: the last hole has no data block.
        return sys::ftruncate(file, static_cast<off_t>(size));
    }

    Result<void> apply_owner(FdRef parent, std::string const& name, struct archive_entry* entry, ExtractResult& result)
    {
        auto uid = static_cast<uid_t>(archive_entry_uid(entry));
        auto gid = static_cast<gid_t>(archive_entry_gid(entry));
        auto done = sys::fchownat(parent, name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW);
        if (done.is_error()) {
            if (!m_privileged && may_skip(done.error().code())) {
                if (uid != geteuid() || gid != getegid())
                    ++result.skipped;
                return {};
            }
            return done.release_error().add_context(fmt::format("chown"));
        }
        return {};
    }

    Result<void> apply_xattrs(FdRef parent, std::string const& name, struct archive_entry* entry, ExtractResult& result)
    {
        archive_entry_xattr_reset(entry);
        char const* key = nullptr;
        void const* value = nullptr;
        size_t size = 0;
        while (archive_entry_xattr_next(entry, &key, &value, &size) == ARCHIVE_OK) {
            // overlayfs reads its own xattrs (opaque, redirect, origin...) from lower
            // layers; only the whiteout files of the OCI format may produce them.
            std::string_view name_view(key);
            if (name_view.starts_with("trusted.overlay.") || name_view.starts_with("user.overlay.")) {
                ++result.skipped;
                continue;
            }
            auto set = sys::setxattr_at(parent, name, key, std::string_view(static_cast<char const*>(value), size));
            if (set.is_error()) {
                // Unprivileged imports cannot set trusted.* / security.*; a file system
                // may not support a namespace at all.
                if (may_skip(set.error().code())) {
                    ++result.skipped;
                    continue;
                }
                return set.release_error();
            }
        }
        return {};
    }

    Result<void> write_whiteout(std::string const& parent_path, std::string const& name)
    {
        auto parent = TRY(open_dir(parent_path, true));
        if (name == ".wh..wh..opq") {
            // Opaque: the directory hides everything lower layers have in it.
            auto [grand_path, leaf] = split_parent(parent_path);
            auto grand = TRY(open_dir(grand_path, false));
            std::string const& target = parent_path.empty() ? std::string(".") : leaf;
            auto set = sys::setxattr_at(grand, target, "trusted.overlay.opaque", "y");
            if (set.is_error() && may_skip(set.error().code()))
                set = sys::setxattr_at(grand, target, "user.overlay.opaque", "y"); // unprivileged overlay (userxattr)
            return set;
        }
        if (name.starts_with(".wh..wh."))
            return {}; // AUFS bookkeeping (hard link dirs): not part of the file system
        auto hidden = name.substr(4);
        if (hidden.empty() || hidden == "." || hidden == "..")
            return Error::make("invalid whiteout name");
        TRY(clear(parent, hidden, false));
        // overlayfs marks a deleted lower entry with a 0/0 character device (unprivileged
        // since Linux 5.8).
        return sys::mknodat(parent, hidden.c_str(), S_IFCHR | 0, makedev(0, 0));
    }

    FdRef m_root;
    Whiteouts m_whiteouts;
    bool m_privileged;
    std::vector<DirFixup> m_dirs;
};

} // namespace

Result<std::string> normalize_entry_path(std::string_view path)
{
    if (path.starts_with('/'))
        return Error::make("absolute path refused");
    std::string out;
    size_t at = 0;
    while (at <= path.size()) {
        size_t end = path.find('/', at);
        if (end == std::string_view::npos)
            end = path.size();
        auto part = path.substr(at, end - at);
        at = end + 1;
        if (part.empty() || part == ".")
            continue;
        if (part == "..")
            return Error::make("path with \"..\" refused");
        if (!out.empty())
            out += '/';
        out += part;
    }
    return out;
}

Result<ExtractResult> extract_archive(FdRef source, FdRef target, ExtractOptions const& options)
{
    auto stream = TRY(LayerStream::open(source, &options));
    Extractor extractor(target, options.whiteouts);
    ExtractResult result;
    for (;;) {
        struct archive_entry* entry = nullptr;
        int status = archive_read_next_header(stream->tar(), &entry);
        if (status == ARCHIVE_EOF)
            break;
        if (status < ARCHIVE_WARN)
            return Error::format("read archive: {}", stream->error_text());
        TRY(extractor.write(stream->tar(), entry, result));
    }
    TRY(stream->drain());
    TRY(extractor.finish());
    result.blob_digest = stream->blob_digest();
    result.diff_digest = stream->diff_digest();
    return result;
}

Result<std::string> sha256_of(FdRef source)
{
    Sha256 hash;
    std::vector<char> buffer(k_block);
    for (;;) {
        auto got = TRY(sys::read(source, buffer.data(), buffer.size()));
        if (got == 0)
            return hash.hex_digest();
        hash.update(buffer.data(), got);
    }
}

Result<ArchiveDigests> hash_archive(FdRef source)
{
    auto stream = TRY(LayerStream::open(source, nullptr));
    for (;;) {
        struct archive_entry* entry = nullptr;
        int status = archive_read_next_header(stream->tar(), &entry);
        if (status == ARCHIVE_EOF)
            break;
        if (status < ARCHIVE_WARN || archive_read_data_skip(stream->tar()) < ARCHIVE_WARN)
            return Error::format("read archive: {}", stream->error_text());
    }
    TRY(stream->drain());
    return ArchiveDigests { .blob_digest = stream->blob_digest(), .diff_digest = stream->diff_digest() };
}

Result<std::vector<std::string>> list_archive(FdRef source, size_t limit)
{
    auto stream = TRY(LayerStream::open(source, nullptr));
    std::vector<std::string> names;
    while (names.size() < limit) {
        struct archive_entry* entry = nullptr;
        int status = archive_read_next_header(stream->tar(), &entry);
        if (status == ARCHIVE_EOF)
            break;
        if (status < ARCHIVE_WARN)
            return Error::format("read archive: {}", stream->error_text());
        char const* path = archive_entry_pathname(entry);
        names.push_back(TRY(normalize_entry_path(path ? path : "").context("entry \"{}\"", path ? path : "")));
    }
    return names;
}

} // namespace cryo::image
