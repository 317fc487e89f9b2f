// Helpers for running syscalls inside a stopped tracee: finding a `syscall` instruction in
// its vDSO, and a scratch page mapped in it for syscall arguments that is always unmapped
// again (RemoteScratch is RAII: nothing of cryo stays mapped in a process it let go).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "checkpoint/model.h"
#include "sys/procfs.h"
#include "sys/tracee.h"

namespace cryo::checkpoint {

// Address of the two bytes 0f 05 inside the [vdso] of `maps`, read from the process itself.
Result<uint64_t> find_vdso_syscall(int pid, std::vector<sys::MapsEntry> const& maps);

class RemoteScratch {
public:
    // mmaps `size` bytes (read/write) in the tracee, at `hint` exactly if non-zero.
    static Result<RemoteScratch> map(sys::Tracee& tracee, uint64_t size, uint64_t hint = 0, bool exec = false);
    RemoteScratch(RemoteScratch&& other) noexcept;
    RemoteScratch& operator=(RemoteScratch&&) = delete;
    ~RemoteScratch();

    uint64_t address() const { return m_address; }
    uint64_t size() const { return m_size; }
    // Copies bytes into the scratch area at `offset`.
    Result<void> write(uint64_t offset, void const* data, size_t size);
    Result<void> read(uint64_t offset, void* data, size_t size);
    // munmap now (an error is returned rather than logged); later drops do nothing.
    Result<void> unmap();
    // Leaves it mapped (the process is about to die anyway).
    void release() { m_tracee = nullptr; }

private:
    RemoteScratch() = default;
    sys::Tracee* m_tracee { nullptr };
    uint64_t m_address { 0 };
    uint64_t m_size { 0 };
};

sys::Registers to_kernel(X86Registers const& regs);
X86Registers from_kernel(sys::Registers const& regs);

} // namespace cryo::checkpoint
