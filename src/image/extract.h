// Unpacking of tar archives (plain, gzip, bzip2, xz, zstd, lz4) into a directory, never
// writing outside it: entry paths with ".." or a leading "/" are refused, every parent is
// resolved with openat2(RESOLVE_IN_ROOT) so symlinks in the archive cannot lead out, and the
// last component is created with *at() calls that do not follow it. Digests of the bytes
// read and of the uncompressed tar stream are computed in the same pass.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/fd.h"

namespace cryo::image {

enum class Whiteouts {
    Literal, // ".wh.x" is an ordinary file (root file system tarballs, outer archives)
    Overlay, // OCI layer: ".wh.x" -> char device 0/0 "x"; ".wh..wh..opq" -> opaque xattr on the dir
};

struct ExtractOptions {
    Whiteouts whiteouts { Whiteouts::Literal };
    // Called now and then with bytes of the source consumed and its total size (0 if unknown).
    std::function<void(uint64_t done, uint64_t total)> progress {};
};

struct ExtractResult {
    std::string blob_digest; // sha256 hex of every byte read from the source
    std::string diff_digest; // sha256 hex of the uncompressed tar stream
    uint64_t size { 0 }; // bytes of regular file data written
    uint64_t entries { 0 };
    uint64_t skipped { 0 }; // ownership, xattrs or device nodes that need privileges we lack
};

// "./a//b/" -> "a/b"; "." and "./" -> "" (the root itself). Refuses absolute paths, ".."
// components and NUL-free but empty names.
Result<std::string> normalize_entry_path(std::string_view path);

// Unpacks the archive read from `source` into the directory `target` (which may hold files
// already: entries replace what is there, as tar does).
Result<ExtractResult> extract_archive(FdRef source, FdRef target, ExtractOptions const& options);

// Only hashes the source: what a small blob is verified with.
Result<std::string> sha256_of(FdRef source);
// Reads a whole archive without writing anything: its blob and diff digests (what a layer
// already in the store is verified with).
struct ArchiveDigests {
    std::string blob_digest;
    std::string diff_digest;
};
Result<ArchiveDigests> hash_archive(FdRef source);

// Names of the first `limit` entries of an archive (headers only), normalized.
Result<std::vector<std::string>> list_archive(FdRef source, size_t limit);

enum class TreeKind {
    Plain, // a directory copied as it is
    OverlayUpper, // an overlayfs upper dir: whiteouts and opaque dirs back to OCI form
};
// Writes the tree under `dir` as a pax tar to `out`: hard links kept, xattrs, devices,
// ownership and modes recorded; overlay bookkeeping xattrs dropped.
Result<uint64_t> write_tree_tar(std::string const& dir, FdRef out, TreeKind kind);

} // namespace cryo::image
