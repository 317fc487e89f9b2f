// Private anonymous memory for one unit test (the "process" whose pages the page tests dump
// and fill), unmapped when the test is done. Aborts if it cannot be mapped.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <sys/mman.h>

namespace cryo::test {

struct Mapping {
    explicit Mapping(size_t n)
        : size(n)
    {
        void* p = ::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            std::abort();
        data = static_cast<uint8_t*>(p);
    }
    ~Mapping() { ::munmap(data, size); }
    Mapping(Mapping const&) = delete;
    Mapping& operator=(Mapping const&) = delete;
    // SAFETY: the address is only handed to process_vm_* / UFFDIO_COPY of this process.
    uint64_t address(size_t offset = 0) const { return reinterpret_cast<uint64_t>(data) + offset; }
    uint8_t* data;
    size_t size;
};

} // namespace cryo::test
