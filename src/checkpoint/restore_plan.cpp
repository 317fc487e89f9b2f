#include <algorithm>
#include <map>
#include <set>

#include "checkpoint/restore.h"

namespace cryo::checkpoint {

Result<uint64_t> find_gap(std::vector<Range> occupied, uint64_t size, uint64_t floor)
{
    constexpr uint64_t kLimit = (1ULL << 47) - 4096;
    std::sort(occupied.begin(), occupied.end(), [](Range a, Range b) { return a.start < b.start; });
    uint64_t candidate = (floor + 4095) & ~4095ULL;
    for (auto const& r : occupied) {
        if (r.end <= candidate)
            continue;
        if (r.start >= candidate + size)
            break;
        candidate = (r.end + 4095) & ~4095ULL;
    }
    if (candidate + size > kLimit)
        return Error::format("no free address range of {} bytes", size);
    return candidate;
}

std::vector<Range> unmap_plan(std::vector<Range> keep, uint64_t limit)
{
    std::sort(keep.begin(), keep.end(), [](Range a, Range b) { return a.start < b.start; });
    std::vector<Range> out;
    uint64_t cursor = 0;
    for (auto const& k : keep) {
        if (k.start >= limit)
            break;
        if (k.start > cursor)
            out.push_back({ cursor, k.start });
        cursor = std::max(cursor, k.end);
    }
    if (cursor < limit)
        out.push_back({ cursor, limit });
    return out;
}

// A container's files are named by paths inside its mount namespace: reach them through
// the parked init's root (/proc/PID/root). The root's fds 0-2 (the old runtime's pipes or
// terminal, outside the container) become what the parked init holds as its 0-2, reopened
// through /proc like runc's inherited fds: each number its own, since a description the old
// init shared between 0, 1 and 2 (`2>&1`, a terminal) need not be shared by the new stdio.
// Another process holding such a description at fd k < 3 gets the new k when the root's k
// had it, else (and at other numbers) the new fd of the root's lowest number that had it.
void prepare_container_paths(std::vector<Process>& processes, int into_pid)
{
    auto root = fmt::format("/proc/{}/root", into_pid);
    std::map<uint32_t, std::vector<int>> stdio; // old description id -> the root's fds 0-2 with it
    for (auto const& f : processes.at(0).files)
        if (f.fd >= 0 && f.fd <= 2)
            stdio[f.description].push_back(f.fd);
    for (auto& [id, fds] : stdio)
        std::sort(fds.begin(), fds.end());
    uint32_t next_id = 1;
    for (auto const& p : processes)
        for (auto const& d : p.file_descriptions)
            next_id = std::max(next_id, d.id + 1);
    uint32_t const first_new_id = next_id;
    std::map<int, FileDescription> replacement; // root fd 0-2 -> its new description
    for (auto const& [id, fds] : stdio) {
        auto const* old = find_description(processes.at(0), id);
        for (int fd : fds) {
            FileDescription d;
            d.id = next_id++;
            d.kind = FileKind::CharDevice; // reopened by path, no offset, no saved data
            d.path = fmt::format("/proc/{}/fd/{}", into_pid, fd);
            d.flags = old ? old->flags : 0;
            replacement[fd] = d;
        }
    }
    auto in_root = [&](std::string& path) {
        if (path.starts_with('/'))
            path = root + path;
    };
    for (auto& p : processes) {
        std::set<int> taken; // numbers of the root whose new description p now uses
        for (auto& f : p.files) {
            auto it = stdio.find(f.description);
            if (it == stdio.end())
                continue;
            auto const& fds = it->second;
            int number = f.fd <= 2 && std::find(fds.begin(), fds.end(), f.fd) != fds.end() ? f.fd : fds.front();
            f.description = replacement.at(number).id;
            taken.insert(number);
        }
        std::erase_if(p.file_descriptions, [&](FileDescription const& d) { return stdio.contains(d.id); });
        for (int number : taken)
            p.file_descriptions.push_back(replacement.at(number));
        for (auto& a : p.areas)
            if (a.kind == AreaKind::FilePrivate || a.kind == AreaKind::FileShared)
                in_root(a.name);
        in_root(p.mm.exe_path);
        for (auto& d : p.file_descriptions) {
            if (d.id >= first_new_id)
                continue; // a new stdio description: already the path cryo opens
            switch (d.kind) {
            case FileKind::Regular:
            case FileKind::Directory:
            case FileKind::CharDevice:
            case FileKind::Fifo:
            case FileKind::Deleted:
                in_root(d.path);
                break;
            case FileKind::UnixSocket:
                in_root(d.bound_name);
                break;
            case FileKind::Inotify:
                for (auto& w : d.inotify_watches)
                    in_root(w.path);
                break;
            default:
                break;
            }
        }
    }
}

} // namespace cryo::checkpoint
