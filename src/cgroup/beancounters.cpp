#include <algorithm>

#include "cgroup/parse.h"
#include "cgroup/stats.h"

namespace cryo::cgroup {

std::vector<Beancounter> beancounters(Stats const& stats)
{
    std::vector<Beancounter> rows;
    if (auto const& memory = stats.memory) {
        rows.push_back({ "memory", memory->usage.usage, memory->usage.max_usage, memory->barrier, memory->usage.limit,
                         memory->usage.failcnt });
        if (memory->swap.limit != 0 || memory->swap.usage != 0)
            rows.push_back({ "memory+swap", memory->swap.usage, memory->swap.max_usage, memory->swap.limit,
                             memory->swap.limit, memory->swap.failcnt });
        if (memory->kernel.limit != 0 || memory->kernel.usage != 0)
            rows.push_back({ "kmem", memory->kernel.usage, memory->kernel.max_usage, memory->kernel.limit,
                             memory->kernel.limit, memory->kernel.failcnt });
        if (memory->kernel_tcp.limit != 0 || memory->kernel_tcp.usage != 0)
            rows.push_back({ "kmem.tcp", memory->kernel_tcp.usage, memory->kernel_tcp.max_usage,
                             memory->kernel_tcp.limit, memory->kernel_tcp.limit, memory->kernel_tcp.failcnt });
    }
    if (auto const& pids = stats.pids) {
        auto limit = pids->limit == 0 ? unlimited : pids->limit;
        rows.push_back({ "pids", pids->current, std::max(pids->peak, pids->current), limit, limit, pids->failcnt });
    }
    for (auto const& [size, hugetlb] : stats.hugetlb)
        rows.push_back({ "hugetlb." + size, hugetlb.usage, std::max(hugetlb.max_usage, hugetlb.usage), hugetlb.limit,
                         hugetlb.limit, hugetlb.failcnt });
    return rows;
}

} // namespace cryo::cgroup
