// Plan of restore_areas.h.
#include "checkpoint/restore_areas.h"

#include <algorithm>
#include <fcntl.h>
#include <sys/mman.h>

namespace cryo::checkpoint {

namespace {

constexpr uint64_t kPage = 4096;

bool mapped_by_restore(AreaKind k)
{
    return k != AreaKind::Vdso && k != AreaKind::Vvar && k != AreaKind::VvarVclock && k != AreaKind::Vsyscall;
}

bool shared_kind(AreaKind k)
{
    return k == AreaKind::FileShared || k == AreaKind::SharedAnonymous;
}

} // namespace

uint64_t area_prot(MemoryArea const& a)
{
    return (a.read ? PROT_READ : 0) | (a.write ? PROT_WRITE : 0) | (a.exec ? PROT_EXEC : 0);
}

bool area_has_pages(MemoryArea const& a, std::vector<PageRun> const& runs)
{
    // Runs are sorted by address and do not overlap (the dump writes them in address order),
    // so their ends are sorted too: the first run ending after a.start decides. A decoded
    // image out of order is still answered right, by looking at every run.
    auto ends_after_start = [&](PageRun const& r) { return r.address + r.pages * kPage > a.start; };
    auto overlaps = [&](PageRun const& r) { return ends_after_start(r) && r.address < a.end && r.pages > 0; };
    bool const sorted = std::is_sorted(runs.begin(), runs.end(),
                                       [](PageRun const& x, PageRun const& y) { return x.address < y.address; });
    if (!sorted)
        return std::any_of(runs.begin(), runs.end(), overlaps);
    auto it = std::partition_point(runs.begin(), runs.end(), [&](PageRun const& r) { return !ends_after_start(r); });
    for (; it != runs.end() && it->address < a.end; ++it)
        if (it->pages > 0)
            return true;
    return false;
}

std::vector<AreaMapping> plan_area_mappings(Process const& p)
{
    std::vector<AreaMapping> out;
    for (size_t i = 0; i < p.areas.size(); ++i) {
        auto const& a = p.areas[i];
        if (!mapped_by_restore(a.kind))
            continue;
        AreaMapping m;
        m.area = i;
        m.flags = MAP_FIXED | (a.growsdown ? MAP_GROWSDOWN : 0);
        bool const shared = shared_kind(a.kind);
        if (a.kind == AreaKind::Anonymous) {
            m.flags |= MAP_PRIVATE | MAP_ANONYMOUS;
        } else {
            m.flags |= shared ? MAP_SHARED : MAP_PRIVATE;
            m.file = AreaFileKey { .object = a.object,
                                   .path = a.object ? std::string {} : a.name,
                                   .open_flags = shared && a.write ? O_RDWR : O_RDONLY };
        }
        // A shared mapping's contents live in its file or memory object: never written
        // through the mapping, so it is mapped as it was. A private one the fill writes into
        // is mapped writable first.
        bool const filled = !shared && area_has_pages(a, p.pages);
        uint64_t const fill_prot = PROT_READ | PROT_WRITE;
        m.prot = filled ? fill_prot : area_prot(a);
        m.protect_after_fill = filled && area_prot(a) != fill_prot;
        out.push_back(std::move(m));
    }
    return out;
}

std::vector<SpecialMove> plan_special_moves(std::vector<SpecialMove> const& moves, uint64_t parking)
{
    std::vector<SpecialMove> pending;
    for (auto const& m : moves)
        if (m.from != m.to)
            pending.push_back(m);
    auto overlap
        = [](uint64_t a, uint64_t a_size, uint64_t b, uint64_t b_size) { return a < b + b_size && b < a + a_size; };
    bool direct = true;
    for (auto const& m : pending)
        for (auto const& other : moves) // every mapping, moved or not, and m itself
            direct &= !overlap(m.to, m.size, other.from, other.size);
    if (direct)
        return pending;
    std::vector<SpecialMove> out;
    uint64_t cursor = parking;
    for (auto const& m : pending) {
        out.push_back({ m.from, m.size, cursor });
        cursor += m.size;
    }
    for (size_t i = 0; i < pending.size(); ++i)
        out.push_back({ out[i].to, pending[i].size, pending[i].to });
    return out;
}

} // namespace cryo::checkpoint
