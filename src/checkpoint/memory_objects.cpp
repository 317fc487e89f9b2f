#include "checkpoint/memory_objects.h"

#include <algorithm>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "base/scope_guard.h"
#include "sys/file.h"
#include "sys/file_extents.h"
#include "sys/file_kinds.h"

namespace cryo::checkpoint {

namespace {

constexpr std::string_view kDeleted = " (deleted)";
constexpr std::string_view kMemfdPrefix = "/memfd:";
constexpr size_t kChunk = 1 << 20;

std::string map_files_path(int pid, uint64_t start, uint64_t end)
{
    return fmt::format("/proc/{}/map_files/{:x}-{:x}", pid, start, end);
}

std::string strip_deleted(std::string const& path)
{
    if (path.ends_with(kDeleted))
        return path.substr(0, path.size() - kDeleted.size());
    return path;
}

bool is_shared_anonymous(sys::MapsEntry const& m)
{
    return m.shared && (m.path.empty() || m.path.starts_with("/dev/zero"));
}

std::string parent_dir(std::string const& path)
{
    auto slash = path.rfind('/');
    return slash == std::string::npos || slash == 0 ? "/" : path.substr(0, slash);
}

// The object re-created empty (with its size, owner and mode), before its data goes in.
Result<Fd> create_object(MemoryObject const& o)
{
    switch (o.kind) {
    case MemoryObjectKind::SharedAnonymous: {
        // A shared anonymous mapping of our own, reopened as a file: the same kind of object
        // the process had (maps shows "/dev/zero (deleted)"), which every process then maps.
        void* at = ::mmap(nullptr, o.size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (at == MAP_FAILED)
            return Error::from_errno(fmt::format("mmap {} bytes of shared memory", o.size));
        ScopeGuard unmap([&] { ::munmap(at, o.size); });
        // SAFETY: the address is only printed into a path.
        auto start = reinterpret_cast<uint64_t>(at);
        return sys::open(fmt::format("/proc/self/map_files/{:x}-{:x}", start, start + o.size), O_RDWR | O_CLOEXEC);
    }
    case MemoryObjectKind::Memfd: {
        auto fd = TRY(sys::memfd_create(o.path, MFD_ALLOW_SEALING));
        TRY(sys::ftruncate(fd, o.size));
        return fd;
    }
    case MemoryObjectKind::DeletedFile: {
        // At its old name, unlinked at once, so maps shows "PATH (deleted)" as before; if the
        // name is taken since, an unnamed file in the same directory.
        auto tmp = sys::open(o.path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC | O_NOFOLLOW, o.mode & 07777);
        if (tmp)
            TRY(sys::unlink(o.path).context("unlink re-created deleted file"));
        else if (tmp.error().is_errno(EEXIST))
            tmp = sys::open(parent_dir(o.path), O_TMPFILE | O_RDWR | O_CLOEXEC, o.mode & 07777);
        auto fd = TRY(std::move(tmp).context("re-create deleted file {}", o.path));
        TRY(sys::fchown(fd, o.uid, o.gid));
        TRY(sys::fchmod(fd, o.mode & 07777));
        TRY(sys::ftruncate(fd, o.size));
        return fd;
    }
    }
    return Error::make("unknown memory object kind");
}

} // namespace

bool needs_memory_object(sys::MapsEntry const& m)
{
    if (is_shared_anonymous(m))
        return true;
    return m.inode != 0 && m.path.starts_with("/") && m.deleted() && !m.path.starts_with("/SYSV");
}

Result<void> attach_memory_object(int pid, sys::MapsEntry const& m, MemoryArea& area, Process& p)
{
    auto fd = TRY(sys::open(map_files_path(pid, m.start, m.end), O_RDONLY | O_CLOEXEC)
                      .context("memory area {:#x}-{:#x} {}", m.start, m.end, m.path));
    auto st = TRY(sys::fstat(fd));
    MemoryObject* object = nullptr;
    for (auto& o : p.memory_objects)
        if (o.dev == st.st_dev && o.inode == st.st_ino)
            object = &o;
    if (!object) {
        MemoryObject o;
        o.id = static_cast<uint32_t>(p.memory_objects.size() + 1);
        o.dev = st.st_dev;
        o.inode = st.st_ino;
        o.size = static_cast<uint64_t>(st.st_size);
        o.mode = st.st_mode & 07777;
        o.uid = st.st_uid;
        o.gid = st.st_gid;
        if (is_shared_anonymous(m)) {
            o.kind = MemoryObjectKind::SharedAnonymous;
        } else if (m.path.starts_with(kMemfdPrefix)) {
            o.kind = MemoryObjectKind::Memfd;
            o.path = strip_deleted(m.path).substr(kMemfdPrefix.size());
            o.seals = TRY(sys::file_seals(fd).context("seals of {}", m.path));
        } else {
            if (!S_ISREG(st.st_mode))
                return Error::format("memory area {:#x}-{:#x}: {} is not a regular file", m.start, m.end, m.path);
            o.kind = MemoryObjectKind::DeletedFile;
            o.path = strip_deleted(m.path);
        }
        p.memory_objects.push_back(std::move(o));
        object = &p.memory_objects.back();
    }
    area.object = object->id;
    if (object->kind == MemoryObjectKind::SharedAnonymous)
        area.kind = AreaKind::SharedAnonymous;
    else
        area.kind = m.shared ? AreaKind::FileShared : AreaKind::FilePrivate;
    return {};
}

Result<void> finish_memory_objects(ProcessTree& tree, ImageWriter& image)
{
    std::map<std::pair<uint64_t, uint64_t>, uint32_t> ids; // (dev, inode) -> tree-wide id
    std::map<uint32_t, MemoryObject> objects; // by tree-wide id, with extents once saved
    // Allocated at the first object: zeroing 1 MiB (256 page faults) was a fixed cost of every
    // dump, most of which have no memory object.
    std::vector<char> buffer;
    for (auto& p : tree.processes) {
        std::map<uint32_t, uint32_t> local_to_tree;
        for (auto& o : p.memory_objects) {
            auto key = std::make_pair(o.dev, o.inode);
            auto it = ids.find(key);
            if (it != ids.end()) {
                local_to_tree[o.id] = it->second;
                continue;
            }
            uint32_t id = static_cast<uint32_t>(ids.size() + 1);
            ids[key] = id;
            local_to_tree[o.id] = id;
            // Save it now, through an area of this process that maps it.
            MemoryArea const* area = nullptr;
            for (auto const& a : p.areas)
                if (a.object == o.id)
                    area = &a;
            if (!area)
                return Error::format("process {}: memory object {} is mapped by no area", p.pid, o.id);
            auto fd = TRY(sys::open(map_files_path(p.pid, area->start, area->end), O_RDONLY | O_CLOEXEC)
                              .context("process {}: memory area {:#x}", p.pid, area->start));
            MemoryObject saved = o;
            saved.id = id;
            saved.extents.clear();
            auto sink = TRY(image.create_file(memory_object_data_name(id)));
            buffer.resize(kChunk);
            for (auto [offset, length] : TRY(sys::data_extents(fd, o.size).context("{}", area->name))) {
                saved.extents.push_back({ offset, length });
                for (uint64_t done = 0; done < length;) {
                    size_t n = std::min<uint64_t>(length - done, buffer.size());
                    size_t got = TRY(sys::pread(fd, buffer.data(), n, offset + done).context("read {}", area->name));
                    if (got != n)
                        return Error::format("read {}: {} bytes at {}, expected {}", area->name, got, offset + done, n);
                    TRY(sink.write(buffer.data(), n));
                    done += n;
                }
            }
            TRY(image.close_file(std::move(sink)));
            objects[id] = std::move(saved);
        }
        for (auto& a : p.areas)
            if (a.object)
                a.object = local_to_tree.at(a.object);
        for (auto& o : p.memory_objects)
            o = objects.at(local_to_tree.at(o.id));
    }
    return {};
}

Result<MemoryObjects> MemoryObjects::open(std::vector<Process> const& processes, ImageReader const& image)
{
    MemoryObjects out;
    std::vector<char> buffer; // allocated at the first object, as in finish_memory_objects
    for (auto const& p : processes)
        for (auto const& o : p.memory_objects) {
            if (out.m_fds.contains(o.id))
                continue;
            auto what = [&] { return fmt::format("memory object {} ({} {})", o.id, to_string(o.kind), o.path); };
            auto fd = TRY(create_object(o).context("{}", what()));
            auto source = TRY(image.open_file(memory_object_data_name(o.id)));
            if (source.expected_size() != o.saved_bytes())
                return Error::format("{}: {} holds {} bytes, the extents say {}", what(), source.name(),
                                     source.expected_size(), o.saved_bytes());
            buffer.resize(kChunk);
            for (auto const& e : o.extents)
                for (uint64_t done = 0; done < e.length;) {
                    size_t n = std::min<uint64_t>(e.length - done, buffer.size());
                    TRY(source.read(buffer.data(), n));
                    TRY(sys::pwrite_all(fd, buffer.data(), n, e.offset + done).context("{}", what()));
                    done += n;
                }
            TRY(source.finish());
            // Seals last: F_SEAL_WRITE and friends would refuse the writes above.
            if (o.kind == MemoryObjectKind::Memfd && o.seals)
                TRY(sys::add_file_seals(fd, o.seals).context("{}", what()));
            out.m_fds.emplace(o.id, std::move(fd));
        }
    return out;
}

Result<Fd> MemoryObjects::reopen(uint32_t id) const
{
    auto it = m_fds.find(id);
    if (it == m_fds.end())
        return Error::format("memory object {} is not in the image", id);
    return sys::open(fmt::format("/proc/self/fd/{}", it->second.get()), O_RDWR | O_CLOEXEC);
}

} // namespace cryo::checkpoint
