#include <algorithm>

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

} // namespace cryo::checkpoint
