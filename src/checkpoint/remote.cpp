#include "checkpoint/remote.h"

#include <cstring>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "base/log.h"
#include "checkpoint/kill_point.h"
#include "sys/remote_memory.h"

namespace cryo::checkpoint {

static_assert(sizeof(X86Registers) == sizeof(sys::Registers));

sys::Registers to_kernel(X86Registers const& regs)
{
    sys::Registers out;
    std::memcpy(&out, &regs, sizeof out); // same layout, asserted above
    return out;
}

X86Registers from_kernel(sys::Registers const& regs)
{
    X86Registers out;
    std::memcpy(&out, &regs, sizeof out);
    return out;
}

Result<uint64_t> find_vdso_syscall(int pid, std::vector<sys::MapsEntry> const& maps)
{
    for (auto const& m : maps) {
        if (m.path != "[vdso]")
            continue;
        std::vector<uint8_t> bytes(m.size());
        sys::RemoteCopy copy { bytes.data(), m.start, bytes.size() };
        TRY(sys::process_vm_read(pid, { &copy, 1 }).context("read vDSO of {}", pid));
        // Any 0f 05 pair works, even one inside another instruction: we jump straight to it
        // and stop at the syscall exit before anything after it runs.
        for (size_t i = 0; i + 1 < bytes.size(); ++i)
            if (bytes[i] == 0x0f && bytes[i + 1] == 0x05)
                return m.start + i;
        return Error::format("process {}: no syscall instruction in the vDSO", pid);
    }
    return Error::format("process {} has no vDSO", pid);
}

Result<RemoteScratch> RemoteScratch::map(sys::Tracee& tracee, uint64_t size, uint64_t hint, bool exec)
{
    uint64_t prot = PROT_READ | PROT_WRITE | (exec ? PROT_EXEC : 0);
    uint64_t flags = MAP_PRIVATE | MAP_ANONYMOUS | (hint ? MAP_FIXED_NOREPLACE : 0);
    uint64_t address = TRY(tracee.syscall_checked("mmap scratch", SYS_mmap, { hint, size, prot, flags, ~0ULL, 0 }));
    RemoteScratch s;
    s.m_tracee = &tracee;
    s.m_address = address;
    s.m_size = size;
    if (hint && address != hint)
        return Error::format("mmap scratch in {}: got {:#x} instead of {:#x}", tracee.tid(), address, hint);
    kill_point("scratch");
    return s;
}

RemoteScratch::RemoteScratch(RemoteScratch&& other) noexcept
    : m_tracee(std::exchange(other.m_tracee, nullptr))
    , m_address(other.m_address)
    , m_size(other.m_size)
{
}

RemoteScratch::~RemoteScratch()
{
    if (!m_tracee)
        return;
    auto r = unmap();
    if (!r)
        log::warn("{}", r.error().message());
}

Result<void> RemoteScratch::unmap()
{
    if (!m_tracee)
        return {};
    auto* tracee = std::exchange(m_tracee, nullptr);
    if (tracee->dead())
        return {}; // the process died under us (its error is reported): nothing left to unmap
    TRY(tracee->syscall_checked("munmap scratch", SYS_munmap, { m_address, m_size }));
    return {};
}

Result<void> RemoteScratch::write(uint64_t offset, void const* data, size_t size)
{
    if (offset + size > m_size)
        return Error::make("scratch write out of bounds");
    // SAFETY: the scratch area is ours, mapped read/write in a tracee we hold stopped.
    sys::RemoteCopy copy { const_cast<void*>(data), m_address + offset, size };
    return sys::process_vm_write(m_tracee->tgid(), { &copy, 1 });
}

Result<void> RemoteScratch::read(uint64_t offset, void* data, size_t size)
{
    if (offset + size > m_size)
        return Error::make("scratch read out of bounds");
    sys::RemoteCopy copy { data, m_address + offset, size };
    return sys::process_vm_read(m_tracee->tgid(), { &copy, 1 });
}

} // namespace cryo::checkpoint
