#include "sys/remote_memory.h"

#include <climits>
#include <sys/uio.h>
#include <unistd.h>

namespace cryo::sys {

namespace {

using VmFunction = ssize_t (*)(pid_t, iovec const*, unsigned long, iovec const*, unsigned long, unsigned long);

Result<void> vm_copy(pid_t pid, std::span<RemoteCopy const> copies, VmFunction fn, char const* name)
{
    // Walk the ranges in batches; a short transfer ends at a range boundary or inside one,
    // so restart from where it stopped.
    size_t index = 0;
    size_t done_in_current = 0;
    std::vector<iovec> local;
    std::vector<iovec> remote;
    while (index < copies.size()) {
        local.clear();
        remote.clear();
        size_t total = 0;
        for (size_t i = index; i < copies.size() && local.size() < IOV_MAX; ++i) {
            size_t skip = i == index ? done_in_current : 0;
            // SAFETY: local buffers are owned by the caller and sized by RemoteCopy::size.
            local.push_back({ static_cast<char*>(copies[i].local) + skip, copies[i].size - skip });
            remote.push_back({ reinterpret_cast<void*>(copies[i].remote + skip), copies[i].size - skip });
            total += copies[i].size - skip;
        }
        ssize_t n = fn(pid, local.data(), local.size(), remote.data(), remote.size(), 0);
        if (n < 0)
            return Error::from_errno(fmt::format("{} {} at {:#x}", name, pid, copies[index].remote + done_in_current));
        if (n == 0 && total > 0)
            return Error::format("{} {} at {:#x}: no progress", name, pid, copies[index].remote + done_in_current);
        auto left = static_cast<size_t>(n);
        while (left > 0) {
            size_t rest = copies[index].size - done_in_current;
            if (left >= rest) {
                left -= rest;
                ++index;
                done_in_current = 0;
            } else {
                done_in_current += left;
                left = 0;
            }
        }
        while (index < copies.size() && copies[index].size == 0)
            ++index;
    }
    return {};
}

} // namespace

Result<void> process_vm_read(pid_t pid, std::span<RemoteCopy const> copies)
{
    return vm_copy(pid, copies, ::process_vm_readv, "process_vm_readv");
}

Result<void> process_vm_write(pid_t pid, std::span<RemoteCopy const> copies)
{
    // process_vm_writev takes the local iovec as const; same signature otherwise.
    return vm_copy(pid, copies, ::process_vm_writev, "process_vm_writev");
}

Result<void> proc_mem_read(FdRef mem, uint64_t remote, void* local, size_t size)
{
    auto* out = static_cast<char*>(local);
    while (size > 0) {
        ssize_t n = ::pread(mem.get(), out, size, static_cast<off_t>(remote));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return Error::from_errno(fmt::format("read process memory at {:#x}", remote));
        if (n == 0)
            return Error::format("read process memory at {:#x}: end of file", remote);
        out += n;
        remote += static_cast<uint64_t>(n);
        size -= static_cast<size_t>(n);
    }
    return {};
}

Result<void> proc_mem_write(FdRef mem, uint64_t remote, void const* local, size_t size)
{
    auto const* in = static_cast<char const*>(local);
    while (size > 0) {
        // SAFETY: the caller holds the target stopped and writes only into areas it mapped.
        ssize_t n = ::pwrite(mem.get(), in, size, static_cast<off_t>(remote));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return Error::from_errno(fmt::format("write process memory at {:#x}", remote));
        in += n;
        remote += static_cast<uint64_t>(n);
        size -= static_cast<size_t>(n);
    }
    return {};
}

Result<std::vector<uint64_t>> read_pagemap(FdRef pagemap, uint64_t start, size_t pages)
{
    std::vector<uint64_t> entries(pages);
    size_t bytes = pages * sizeof(uint64_t);
    size_t done = 0;
    auto* out = reinterpret_cast<char*>(entries.data());
    while (done < bytes) {
        ssize_t n = ::pread(pagemap.get(), out + done, bytes - done,
                            static_cast<off_t>((start / kPageSize) * sizeof(uint64_t) + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return Error::from_errno(fmt::format("read pagemap at {:#x}", start));
        if (n == 0)
            return Error::format("read pagemap at {:#x}: end of file", start);
        done += static_cast<size_t>(n);
    }
    return entries;
}

} // namespace cryo::sys
