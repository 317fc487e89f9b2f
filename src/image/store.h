// The content-addressed layer store (docs/image-store.md). Layout under the root:
//   lock                     flock: shared for readers, exclusive for writers
//   layers/<hex>/rootfs/     an unpacked layer, read-only by convention, shared by images
//   layers/<hex>/layer.json  its size and entry count (published together with rootfs/)
//   images/<name>.json       name -> ordered layer digests (bottom first) + run config
//   containers/<hex>.json    a container dir using an image's layers (kept from GC)
//   tmp/                     work in progress; anything here is a leftover once the lock is held
// Invariants: a layer directory appears only complete (built in tmp/, renamed into place);
// image files are replaced atomically; every layer an image names exists.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/fd.h"
#include "sys/fsops.h"

namespace cryo::image {

inline constexpr char k_default_store_root[] = "/var/lib/cryo";
// The store every command uses unless told otherwise (`cryo image --store` wins): $CRYO_STORE
// when set and not empty, else k_default_store_root. `run --image` and `image` agree on it.
std::string default_store_root();

// What a container made from the image runs by default (from an OCI/docker config).
struct ImageConfig {
    std::vector<std::string> env;
    std::vector<std::string> entrypoint;
    std::vector<std::string> cmd;
    std::string workdir;
    std::string user;
    bool operator==(ImageConfig const&) const = default;
};

struct ImageRecord {
    std::string name;
    std::vector<std::string> layers; // hex sha256 of each uncompressed layer tar, bottom first
    ImageConfig config;
    std::string source; // what it was imported from (a path) or "commit"
    std::string kind; // "rootfs-tar", "directory", "oci", "docker", "commit"
    std::string created; // RFC 3339, UTC
};

struct LayerInfo {
    std::string digest;
    uint64_t size { 0 }; // bytes of file data
    uint64_t entries { 0 }; // archive entries written
};

// Held for the duration of a store operation; released when dropped.
class StoreLock {
public:
    explicit StoreLock(Fd fd)
        : m_fd(std::move(fd))
    {
    }

private:
    Fd m_fd;
};

// "busybox", "library/alpine:3.19", "my-app@v2": letters, digits, . _ - : @ /, no "..",
// at most 128 characters, not starting with a separator.
Result<void> validate_image_name(std::string const& name);
// "sha256:<64 hex>" or "<64 hex>" -> "<64 hex>".
Result<std::string> parse_digest(std::string const& text);

class Store {
public:
    // Creates the directories if needed. Does not lock.
    static Result<Store> open(std::string root);

    std::string const& root() const { return m_root; }
    std::string layer_path(std::string const& digest) const { return m_root + "/layers/" + digest; }
    std::string layer_rootfs(std::string const& digest) const { return layer_path(digest) + "/rootfs"; }
    std::string tmp_dir() const { return m_root + "/tmp"; }

    Result<StoreLock> lock(sys::LockKind kind) const;
    // Removes what killed imports left in tmp/. Call with the exclusive lock held.
    Result<size_t> sweep_leftovers() const;
    // A fresh directory in tmp/ (removed by the caller, or by the next sweep).
    Result<std::string> make_temp_dir(std::string const& what) const;

    bool has_layer(std::string const& digest) const;
    Result<LayerInfo> layer_info(std::string const& digest) const;
    // Moves `temp_dir` (holding rootfs/) to layers/<digest> with its layer.json; if the
    // layer already exists, the temp dir is removed instead (stored once).
    Result<void> publish_layer(std::string const& temp_dir, LayerInfo const& info) const;

    bool has_image(std::string const& name) const;
    Result<ImageRecord> read_image(std::string const& name) const;
    Result<std::vector<ImageRecord>> list_images() const;
    // Atomic replace. Every layer must already be published.
    Result<void> write_image(ImageRecord const& record) const;
    // Removes the image file (not the layers: see collect_garbage).
    Result<void> remove_image(std::string const& name) const;
    // Deletes layers no image and no live container registration names; returns them.
    Result<std::vector<std::string>> collect_garbage() const;

    // Container registrations keep an image's layers alive while a container uses them.
    Result<void> register_container(std::string const& container_dir, ImageRecord const& image) const;
    Result<void> unregister_container(std::string const& container_dir) const;
    // The image a registered container dir was prepared from.
    Result<std::string> container_image(std::string const& container_dir) const;

private:
    explicit Store(std::string root)
        : m_root(std::move(root))
    {
    }
    std::string image_file(std::string const& name) const;

    std::string m_root;
};

// The current time as RFC 3339 UTC ("2026-11-27T21:00:00Z").
std::string now_rfc3339();

} // namespace cryo::image
