#include "checkpoint/pages_io.h"

#include <algorithm>
#include <optional>
#include <thread>
#include <unistd.h>
#include <vector>

namespace cryo::checkpoint {

Result<void> pwrite_all(FdRef fd, void const* data, size_t size, uint64_t offset)
{
    auto const* p = static_cast<uint8_t const*>(data);
    while (size > 0) {
        ssize_t n = ::pwrite(fd.get(), p, size, static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return Error::from_errno("write page file");
        p += n;
        size -= static_cast<size_t>(n);
        offset += static_cast<uint64_t>(n);
    }
    return {};
}

Result<void> pread_all(FdRef fd, void* data, size_t size, uint64_t offset, std::string const& name)
{
    auto* p = static_cast<uint8_t*>(data);
    while (size > 0) {
        ssize_t n = ::pread(fd.get(), p, size, static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return Error::from_errno(fmt::format("read {}", name));
        if (n == 0)
            return Error::format("{}: truncated at byte {}", name, offset);
        p += n;
        size -= static_cast<size_t>(n);
        offset += static_cast<uint64_t>(n);
    }
    return {};
}

Result<void> run_workers(size_t items, std::function<Result<void>()> const& work)
{
    unsigned n = static_cast<unsigned>(std::min<size_t>(kWorkers, std::max<size_t>(items, 1)));
    std::vector<std::optional<Error>> errors(n);
    std::vector<std::thread> threads;
    for (unsigned i = 1; i < n; ++i)
        threads.emplace_back([&, i] {
            auto r = work();
            if (!r)
                errors[i] = r.release_error();
        });
    auto r = work();
    if (!r)
        errors[0] = r.release_error();
    for (auto& t : threads)
        t.join();
    for (auto& e : errors)
        if (e)
            return *e;
    return {};
}

} // namespace cryo::checkpoint
