// libarchive, loaded on first use: every archive_* function cryo calls is defined here and
// forwards to libarchive.so.13 opened with dlopen. Linked normally, libarchive pulls libxml2,
// ICU, nettle and seven more libraries into every cryo process (measured: `cryo --version`
// 2.0 ms and `cryo run` peak RSS 7.2 MiB instead of ~3); only `cryo image` needs it.
// Generated from archive.h/archive_entry.h for the functions src/image uses: a function
// used anew must be added to the list below (the link fails until it is).
#include <archive.h>
#include <archive_entry.h>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <dlfcn.h>

namespace {

void* archive_symbol(char const* name)
{
    // RTLD_LOCAL: libarchive's own calls stay inside it; cryo's definitions below are not
    // exported (no -rdynamic), so they cannot interpose on them.
    static void* library = [] {
        void* handle = ::dlopen("libarchive.so.13", RTLD_NOW | RTLD_LOCAL);
        if (!handle) {
            fprintf(stderr, "cryo: load libarchive.so.13 (Debian package libarchive13): %s\n", ::dlerror());
            exit(1);
        }
        return handle;
    }();
    void* symbol = ::dlsym(library, name);
    if (!symbol) {
        fprintf(stderr, "cryo: libarchive.so.13 has no %s\n", name);
        exit(1);
    }
    return symbol;
}

} // namespace

// SAFETY: the pointer dlsym returns for NAME is libarchive's definition of NAME, whose type
// is the one archive.h declares and that this macro is given (copied from that declaration).
#define CRYO_ARCHIVE_SHIM(ret, name, params, args)                             \
    ret name params                                                            \
    {                                                                          \
        using Fn = ret(*) params;                                              \
        static Fn const real = reinterpret_cast<Fn>(archive_symbol(#name));    \
        return real args;                                                      \
    }

CRYO_ARCHIVE_SHIM(__LA_MODE_T, archive_entry_filetype, (struct archive_entry * a0), (a0))
CRYO_ARCHIVE_SHIM(void, archive_entry_free, (struct archive_entry * a0), (a0))
CRYO_ARCHIVE_SHIM(la_int64_t, archive_entry_gid, (struct archive_entry * a0), (a0))
CRYO_ARCHIVE_SHIM(const char *, archive_entry_hardlink, (struct archive_entry * a0), (a0))
CRYO_ARCHIVE_SHIM(void, archive_entry_linkify, (struct archive_entry_linkresolver * a0, struct archive_entry ** a1, struct archive_entry ** a2), (a0, a1, a2))
CRYO_ARCHIVE_SHIM(void, archive_entry_linkresolver_free, (struct archive_entry_linkresolver * a0), (a0))
CRYO_ARCHIVE_SHIM(struct archive_entry_linkresolver *, archive_entry_linkresolver_new, (), ())
CRYO_ARCHIVE_SHIM(void, archive_entry_linkresolver_set_strategy, (struct archive_entry_linkresolver * a0, int /* format_code */ a1), (a0, a1))
CRYO_ARCHIVE_SHIM(time_t, archive_entry_mtime, (struct archive_entry * a0), (a0))
CRYO_ARCHIVE_SHIM(long, archive_entry_mtime_nsec, (struct archive_entry * a0), (a0))
CRYO_ARCHIVE_SHIM(struct archive_entry *, archive_entry_new, (), ())
CRYO_ARCHIVE_SHIM(const char *, archive_entry_pathname, (struct archive_entry * a0), (a0))
CRYO_ARCHIVE_SHIM(__LA_MODE_T, archive_entry_perm, (struct archive_entry * a0), (a0))
CRYO_ARCHIVE_SHIM(dev_t, archive_entry_rdev, (struct archive_entry * a0), (a0))
CRYO_ARCHIVE_SHIM(dev_t, archive_entry_rdevmajor, (struct archive_entry * a0), (a0))
CRYO_ARCHIVE_SHIM(dev_t, archive_entry_rdevminor, (struct archive_entry * a0), (a0))
CRYO_ARCHIVE_SHIM(void, archive_entry_set_filetype, (struct archive_entry * a0, unsigned int a1), (a0, a1))
CRYO_ARCHIVE_SHIM(void, archive_entry_set_pathname, (struct archive_entry * a0, const char * a1), (a0, a1))
CRYO_ARCHIVE_SHIM(void, archive_entry_set_perm, (struct archive_entry * a0, __LA_MODE_T a1), (a0, a1))
CRYO_ARCHIVE_SHIM(void, archive_entry_set_rdev, (struct archive_entry * a0, dev_t a1), (a0, a1))
CRYO_ARCHIVE_SHIM(void, archive_entry_set_size, (struct archive_entry * a0, la_int64_t a1), (a0, a1))
CRYO_ARCHIVE_SHIM(la_int64_t, archive_entry_size, (struct archive_entry * a0), (a0))
CRYO_ARCHIVE_SHIM(const char *, archive_entry_symlink, (struct archive_entry * a0), (a0))
CRYO_ARCHIVE_SHIM(la_int64_t, archive_entry_uid, (struct archive_entry * a0), (a0))
CRYO_ARCHIVE_SHIM(void, archive_entry_xattr_add_entry, (struct archive_entry * a0, const char * /* name */ a1, const void * /* value */ a2, size_t /* size */ a3), (a0, a1, a2, a3))
CRYO_ARCHIVE_SHIM(void, archive_entry_xattr_clear, (struct archive_entry * a0), (a0))
CRYO_ARCHIVE_SHIM(int, archive_entry_xattr_next, (struct archive_entry * a0, const char ** /* name */ a1, const void ** /* value */ a2, size_t * a3), (a0, a1, a2, a3))
CRYO_ARCHIVE_SHIM(int, archive_entry_xattr_reset, (struct archive_entry * a0), (a0))
CRYO_ARCHIVE_SHIM(const char *, archive_error_string, (struct archive * a0), (a0))
CRYO_ARCHIVE_SHIM(la_ssize_t, archive_read_data, (struct archive * a0, void * a1, size_t a2), (a0, a1, a2))
CRYO_ARCHIVE_SHIM(int, archive_read_data_block, (struct archive * a0, const void ** a1, size_t * a2, la_int64_t * a3), (a0, a1, a2, a3))
CRYO_ARCHIVE_SHIM(int, archive_read_data_skip, (struct archive * a0), (a0))
CRYO_ARCHIVE_SHIM(int, archive_read_disk_descend, (struct archive * a0), (a0))
CRYO_ARCHIVE_SHIM(struct archive *, archive_read_disk_new, (), ())
CRYO_ARCHIVE_SHIM(int, archive_read_disk_open, (struct archive * a0, const char * a1), (a0, a1))
CRYO_ARCHIVE_SHIM(int, archive_read_disk_set_behavior, (struct archive * a0, int  a1), (a0, a1))
CRYO_ARCHIVE_SHIM(int, archive_read_disk_set_symlink_physical, (struct archive * a0), (a0))
CRYO_ARCHIVE_SHIM(int, archive_read_free, (struct archive * a0), (a0))
CRYO_ARCHIVE_SHIM(struct archive *, archive_read_new, (), ())
CRYO_ARCHIVE_SHIM(int, archive_read_next_header, (struct archive * a0, struct archive_entry ** a1), (a0, a1))
CRYO_ARCHIVE_SHIM(int, archive_read_next_header2, (struct archive * a0, struct archive_entry * a1), (a0, a1))
CRYO_ARCHIVE_SHIM(int, archive_read_open, (struct archive * a0, void * a1, archive_open_callback * a2, archive_read_callback * a3, archive_close_callback * a4), (a0, a1, a2, a3, a4))
CRYO_ARCHIVE_SHIM(int, archive_read_support_filter_bzip2, (struct archive * a0), (a0))
CRYO_ARCHIVE_SHIM(int, archive_read_support_filter_gzip, (struct archive * a0), (a0))
CRYO_ARCHIVE_SHIM(int, archive_read_support_filter_lz4, (struct archive * a0), (a0))
CRYO_ARCHIVE_SHIM(int, archive_read_support_filter_lzma, (struct archive * a0), (a0))
CRYO_ARCHIVE_SHIM(int, archive_read_support_filter_xz, (struct archive * a0), (a0))
CRYO_ARCHIVE_SHIM(int, archive_read_support_filter_zstd, (struct archive * a0), (a0))
CRYO_ARCHIVE_SHIM(int, archive_read_support_format_raw, (struct archive * a0), (a0))
CRYO_ARCHIVE_SHIM(int, archive_read_support_format_tar, (struct archive * a0), (a0))
CRYO_ARCHIVE_SHIM(int, archive_write_add_filter_none, (struct archive * a0), (a0))
CRYO_ARCHIVE_SHIM(int, archive_write_close, (struct archive * a0), (a0))
CRYO_ARCHIVE_SHIM(la_ssize_t, archive_write_data, (struct archive * a0, const void * a1, size_t a2), (a0, a1, a2))
CRYO_ARCHIVE_SHIM(int, archive_write_free, (struct archive * a0), (a0))
CRYO_ARCHIVE_SHIM(int, archive_write_header, (struct archive * a0, struct archive_entry * a1), (a0, a1))
CRYO_ARCHIVE_SHIM(struct archive *, archive_write_new, (), ())
CRYO_ARCHIVE_SHIM(int, archive_write_open_fd, (struct archive * a0, int  a1), (a0, a1))
CRYO_ARCHIVE_SHIM(int, archive_write_set_bytes_in_last_block, (struct archive * a0, int  a1), (a0, a1))
CRYO_ARCHIVE_SHIM(int, archive_write_set_format_pax_restricted, (struct archive * a0), (a0))

// Variadic: formatted here, then passed on as one "%s" argument.
void archive_set_error(struct archive* a, int error, char const* format, ...)
{
    using Fn = void (*)(struct archive*, int, char const*, ...);
    // SAFETY: as for CRYO_ARCHIVE_SHIM; archive.h declares archive_set_error with this type.
    static Fn const real = reinterpret_cast<Fn>(archive_symbol("archive_set_error"));
    char message[1024];
    va_list list;
    va_start(list, format);
    vsnprintf(message, sizeof message, format, list);
    va_end(list);
    real(a, error, "%s", message);
}
