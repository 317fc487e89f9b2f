// The image directory on disk: ImageWriter builds it in a temp directory next to the target
// and renames it into place on commit (a half-written image is never visible under the final
// name); ImageReader opens one, checks the manifest's format and version, and hands out files
// whose size and CRC-32C are verified against the manifest. Format: docs/checkpoint-image.md.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/fd.h"

namespace cryo::checkpoint {

inline constexpr char kImageFormat[] = "cryo-checkpoint";
// Version 2 adds compressed page files, version 3 page files striped over several files; a
// dump writes the lowest version its files need, so older readers keep reading what they can.
inline constexpr int kImageVersion = 3;
inline constexpr char kManifestName[] = "manifest.json";
// The most files one page stream may be striped over (a reader's sanity bound).
inline constexpr uint32_t kMaxPageStripes = 64;

struct FileEntry {
    uint64_t size { 0 }; // bytes on disk (compressed size for a compressed page file)
    uint32_t crc32c { 0 }; // of the bytes on disk
    std::string compression {}; // empty: raw; "zstd"/"lz4": frames (checkpoint/compress.h)
    uint64_t raw_size { 0 }; // size before compression (compressed files only)
    // A raw page stream striped over `stripes` files of this name's family (page_file_name
    // parts 0..stripes-1), `stripe_size` bytes at a time: set on part 0 only (version 3).
    uint32_t stripes { 1 };
    uint64_t stripe_size { 0 };
};

struct Manifest {
    int version { 1 };
    int root_pid { 0 };
    std::vector<int> pids; // parents before children
    std::map<std::string, FileEntry> files;
};

std::string process_file_name(int pid);
// Part 0 is "pages-<pid>.img"; the other parts of a striped page stream "pages-<pid>.<part>.img".
std::string page_file_name(int pid, unsigned part = 0);

// Streams one file into the image, checksumming on the way.
class FileSink {
public:
    Result<void> write(void const* data, size_t size);
    uint64_t size() const { return m_entry.size; }
    std::string const& name() const { return m_name; }
    // For writers that place chunks themselves (several threads, pwrite at offsets): they
    // write through fd() and then declare the file's final size and CRC-32C.
    FdRef fd() const { return m_fd.ref(); }
    void set_content(uint64_t size, uint32_t crc32c) { m_entry.size = size, m_entry.crc32c = crc32c; }
    void set_compression(std::string name, uint64_t raw_size)
    {
        m_entry.compression = std::move(name);
        m_entry.raw_size = raw_size;
    }
    void set_stripes(uint32_t stripes, uint64_t stripe_size)
    {
        m_entry.stripes = stripes;
        m_entry.stripe_size = stripe_size;
    }

private:
    friend class ImageWriter;
    std::string m_name;
    Fd m_fd;
    FileEntry m_entry;
};

// What commit() promises. Atomic: the image appears under its name whole or not at all (built
// in a temp directory, renamed), but its files may still be in the page cache when cryo
// exits; after a power loss it can be missing or fail its checksums (a clear error, never a
// wrong restore). Synced: additionally every file, the directory and its parent are fsynced
// before commit() returns (the disk's bandwidth then bounds the dump). See
// docs/checkpoint-image.md, "Durability".
enum class Durability { Atomic, Synced };

class ImageWriter {
public:
    // dir must not exist, or be an empty directory.
    static Result<ImageWriter> create(std::string const& dir, Durability durability = Durability::Atomic);
    ImageWriter(ImageWriter&&) = default;
    ~ImageWriter(); // removes the temp directory unless committed

    Result<FileSink> create_file(std::string const& name);
    Result<void> close_file(FileSink sink); // records size + checksum (and fsyncs if Synced)
    Result<void> write_file(std::string const& name, std::string_view data);
    // Writes the manifest (with every recorded file), renames into place (fsyncs if Synced).
    Result<void> commit(Manifest manifest);
    std::string const& temp_dir() const { return m_temp; }

private:
    ImageWriter() = default;
    std::string m_final;
    std::string m_temp;
    Fd m_dir;
    Durability m_durability { Durability::Atomic };
    std::map<std::string, FileEntry> m_files;
    bool m_committed { false };
};

// Reads one file of the image in order, verifying size and checksum at the end.
class FileSource {
public:
    // Reads exactly size bytes (fails on a short file, naming it).
    Result<void> read(void* data, size_t size);
    // Counts bytes the caller took from the file another way (an mmap of fd()) into the
    // checksum, as if read() had returned them.
    Result<void> account(void const* data, size_t size);
    // Checks that everything was read and the checksum matches.
    Result<void> finish();
    uint64_t expected_size() const { return m_expected.size; }
    FileEntry const& entry() const { return m_expected; }
    FdRef fd() const { return m_fd.ref(); }
    // Declares the checksum of the whole file computed by the caller (in parallel over an
    // mmap of fd()); finish() then compares it.
    void set_computed(uint64_t size, uint32_t crc32c) { m_done = size, m_crc = crc32c; }
    std::string const& name() const { return m_name; }

private:
    friend class ImageReader;
    std::string m_name;
    Fd m_fd;
    FileEntry m_expected;
    uint64_t m_done { 0 };
    uint32_t m_crc { 0 };
};

class ImageReader {
public:
    static Result<ImageReader> open(std::string const& dir);
    Manifest const& manifest() const { return m_manifest; }
    std::string const& dir() const { return m_dir; }
    // The whole file, verified.
    Result<std::string> read_file(std::string const& name) const;
    Result<FileSource> open_file(std::string const& name) const;

private:
    std::string m_dir;
    Manifest m_manifest;
};

// Pure codec of the manifest (unit-tested): encode adds a checksum of its own content,
// decode verifies it and rejects other formats and newer major versions.
std::string encode_manifest(Manifest const& manifest);
Result<Manifest> decode_manifest(std::string_view text);

} // namespace cryo::checkpoint
