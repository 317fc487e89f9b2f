#include <algorithm>
#include <bit>
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
// the parked init's root (/proc/PID/root). The old runtime's stdio (its pipes or terminal,
// outside the container) becomes what the parked init holds as its 0-2, reopened through
// /proc like runc's inherited fds: each number its own, since a description the old init
// shared between 0, 1 and 2 (`2>&1`, a terminal) need not be shared by the new stdio.
// Which descriptions are stdio: with `stdio_marked`, those marked with the numbers the
// runtime gave them, wherever they sit (a shell that redirects a builtin's output keeps its
// stdout at fd 10 meanwhile, and fd 1 is a file of the container then); without marks
// (older images), the root's fds 0-2. Each such description has the numbers k < 3 it gets:
// the root's fds k that hold it (of its marks, when marked), else its lowest mark. A process
// holding it at fd k < 3 gets the new k when k is one of them, else (and at other numbers)
// the new fd of its lowest number.
void prepare_container_paths(std::vector<Process>& processes, int into_pid, bool stdio_marked)
{
    auto root = fmt::format("/proc/{}/root", into_pid);
    std::map<uint32_t, std::vector<int>> stdio; // old description id -> its new stdio numbers
    if (stdio_marked) {
        for (auto const& p : processes)
            for (auto const& d : p.file_descriptions)
                if (d.stdio_mask != 0 && !stdio.contains(d.id)) {
                    auto& fds = stdio[d.id];
                    for (auto const& f : processes.at(0).files)
                        if (f.description == d.id && f.fd >= 0 && f.fd <= 2 && (d.stdio_mask & (1u << f.fd)))
                            fds.push_back(f.fd);
                    if (fds.empty())
                        fds.push_back(std::countr_zero(d.stdio_mask));
                }
    } else {
        for (auto const& f : processes.at(0).files)
            if (f.fd >= 0 && f.fd <= 2)
                stdio[f.description].push_back(f.fd);
    }
    for (auto& [id, fds] : stdio)
        std::sort(fds.begin(), fds.end());
    uint32_t next_id = 1;
    for (auto const& p : processes)
        for (auto const& d : p.file_descriptions)
            next_id = std::max(next_id, d.id + 1);
    uint32_t const first_new_id = next_id;
    std::map<int, FileDescription> replacement; // root fd 0-2 -> its new description
    for (auto const& [id, fds] : stdio) {
        FileDescription const* old = nullptr;
        for (auto const& p : processes)
            if (!old)
                old = find_description(p, id);
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
