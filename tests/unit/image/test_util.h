// Helpers of the image unit tests: temp dirs, and tar archives written with libarchive
// (any compression, crafted paths, whiteouts, links, xattrs) so tests need no fixture files.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <cstdlib>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "sys/file.h"
#include "temp_dir.h"

namespace cryo::image::test {

using cryo::test::TempDir;

struct Entry {
    std::string path;
    char type { 'f' }; // f file, d dir, l symlink, h hard link, c char device, p fifo
    std::string data {}; // file content, or the link target
    mode_t mode { 0644 };
    std::vector<std::pair<std::string, std::string>> xattrs {};
    unsigned major { 0 };
    unsigned minor { 0 };
    uid_t uid { 0 };
    gid_t gid { 0 };
};

enum class Compression { None, Gzip, Xz, Zstd, Bzip2 };

inline std::string write_tar(std::string const& path, std::vector<Entry> const& entries,
                             Compression compression = Compression::None)
{
    struct archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    switch (compression) {
    case Compression::None:
        archive_write_add_filter_none(a);
        break;
    case Compression::Gzip:
        archive_write_add_filter_gzip(a);
        break;
    case Compression::Xz:
        archive_write_add_filter_xz(a);
        break;
    case Compression::Zstd:
        archive_write_add_filter_zstd(a);
        break;
    case Compression::Bzip2:
        archive_write_add_filter_bzip2(a);
        break;
    }
    EXPECT_EQ(archive_write_open_filename(a, path.c_str()), ARCHIVE_OK) << archive_error_string(a);
    for (auto const& e : entries) {
        struct archive_entry* entry = archive_entry_new();
        archive_entry_set_pathname(entry, e.path.c_str());
        archive_entry_set_perm(entry, e.mode);
        archive_entry_set_uid(entry, e.uid);
        archive_entry_set_gid(entry, e.gid);
        archive_entry_set_mtime(entry, 1700000000, 0);
        switch (e.type) {
        case 'f':
            archive_entry_set_filetype(entry, AE_IFREG);
            archive_entry_set_size(entry, static_cast<la_int64_t>(e.data.size()));
            break;
        case 'd':
            archive_entry_set_filetype(entry, AE_IFDIR);
            break;
        case 'l':
            archive_entry_set_filetype(entry, AE_IFLNK);
            archive_entry_set_symlink(entry, e.data.c_str());
            break;
        case 'h':
            archive_entry_set_filetype(entry, AE_IFREG);
            archive_entry_set_hardlink(entry, e.data.c_str());
            archive_entry_set_size(entry, 0);
            break;
        case 'c':
            archive_entry_set_filetype(entry, AE_IFCHR);
            archive_entry_set_rdevmajor(entry, e.major);
            archive_entry_set_rdevminor(entry, e.minor);
            break;
        case 'p':
            archive_entry_set_filetype(entry, AE_IFIFO);
            break;
        }
        for (auto const& [key, value] : e.xattrs)
            archive_entry_xattr_add_entry(entry, key.c_str(), value.data(), value.size());
        EXPECT_EQ(archive_write_header(a, entry), ARCHIVE_OK) << archive_error_string(a);
        if (e.type == 'f' && !e.data.empty())
            archive_write_data(a, e.data.data(), e.data.size());
        archive_entry_free(entry);
    }
    archive_write_close(a);
    archive_write_free(a);
    return path;
}

inline std::string read_text(std::string const& path)
{
    auto text = sys::read_file(path);
    return text.is_error() ? std::string("<error: ") + text.error().message() + ">" : *text;
}

inline void write_text(std::string const& path, std::string const& text)
{
    auto fd = sys::open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_FALSE(fd.is_error()) << fd.error().message();
    ASSERT_FALSE(sys::write_all(*fd, text).is_error());
}

inline size_t count_entries(std::string const& dir)
{
    auto list = sys::list_dir(dir);
    return list.is_error() ? 0 : list->size();
}

} // namespace cryo::image::test
