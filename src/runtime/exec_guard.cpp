#include "runtime/exec_guard.h"

#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/memfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sys/file.h"
#include "sys/raw.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

namespace cryo::runtime {

namespace {

// A minimal ELF64 x86-64 executable: one PT_LOAD segment (R+X) mapping the whole file at
// 0x400000; code starts right after the headers (offset 120).
//   mov  rdi, [rsp+16]        ; argv[1]: the program to run
//   lea  rsi, [rsp+24]        ; &argv[2]: its argv
//   mov  rax, [rsp]           ; argc
//   lea  rdx, [rsp+rax*8+16]  ; envp follows argv's terminating NULL
//   mov  eax, 59              ; execve
//   syscall
//   mov  edi, 127             ; exec failed: exit_group(127)
//   mov  eax, 231
//   syscall
constexpr unsigned char k_code[] = {
    0x48, 0x8b, 0x7c, 0x24, 0x10, 0x48, 0x8d, 0x74, 0x24, 0x18, 0x48, 0x8b, 0x04, 0x24, 0x48, 0x8d, 0x54, 0xc4, 0x10,
    0xb8, 0x3b, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xbf, 0x7f, 0x00, 0x00, 0x00, 0xb8, 0xe7, 0x00, 0x00, 0x00, 0x0f, 0x05,
};

constexpr size_t k_header_size = 64 + 56;
constexpr size_t k_image_size = k_header_size + sizeof k_code;
constexpr uint64_t k_base = 0x400000;

constexpr std::array<unsigned char, k_image_size> build_image()
{
    std::array<unsigned char, k_image_size> image {};
    auto put = [&image](size_t offset, uint64_t value, int bytes) {
        for (int i = 0; i < bytes; ++i)
            image[offset + static_cast<size_t>(i)] = static_cast<unsigned char>(value >> (8 * i));
    };
    // e_ident: magic, ELFCLASS64, ELFDATA2LSB, EV_CURRENT, ELFOSABI_SYSV
    image[0] = 0x7f;
    image[1] = 'E';
    image[2] = 'L';
    image[3] = 'F';
    image[4] = 2;
    image[5] = 1;
    image[6] = 1;
    put(16, 2, 2); // e_type ET_EXEC
    put(18, 62, 2); // e_machine EM_X86_64
    put(20, 1, 4); // e_version
    put(24, k_base + k_header_size, 8); // e_entry
    put(32, 64, 8); // e_phoff
    put(40, 0, 8); // e_shoff
    put(48, 0, 4); // e_flags
    put(52, 64, 2); // e_ehsize
    put(54, 56, 2); // e_phentsize
    put(56, 1, 2); // e_phnum
    put(58, 64, 2); // e_shentsize
    put(60, 0, 2); // e_shnum
    put(62, 0, 2); // e_shstrndx
    // Program header: PT_LOAD, PF_R | PF_X, whole file at k_base.
    put(64, 1, 4);
    put(68, 5, 4);
    put(72, 0, 8);
    put(80, k_base, 8);
    put(88, k_base, 8);
    put(96, k_image_size, 8);
    put(104, k_image_size, 8);
    put(112, 0x1000, 8);
    for (size_t i = 0; i < sizeof k_code; ++i)
        image[k_header_size + i] = k_code[i];
    return image;
}

constexpr auto k_image = build_image();

} // namespace

std::span<unsigned char const> exec_trampoline_image()
{
    return k_image;
}

Result<Fd> make_exec_trampoline()
{
#if !defined(__x86_64__)
#error "the exec trampoline is x86-64 code"
#endif
    int raw = ::memfd_create("cryo-exec", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
    if (raw < 0 && errno == EINVAL)
        raw = ::memfd_create("cryo-exec", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (raw < 0)
        return Error::from_errno("memfd_create");
    Fd fd(raw);
    // SAFETY: the image is plain bytes.
    TRY(sys::write_all(fd, { reinterpret_cast<char const*>(k_image.data()), k_image.size() })
            .context("write trampoline"));
    if (::fchmod(fd.get(), 0555) < 0)
        return Error::from_errno("chmod trampoline");
    if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
        return Error::from_errno("seal trampoline");
    return fd;
}

void exec_via_trampoline(FdRef trampoline, char const* path, char* const* argv, char* const* envp,
                         char const** tramp_argv)
{
    size_t argc = 0;
    while (argv[argc])
        ++argc;
    tramp_argv[0] = "cryo-exec";
    tramp_argv[1] = path;
    for (size_t i = 0; i <= argc; ++i)
        tramp_argv[2 + i] = argv[i];
    ::syscall(SYS_execveat, trampoline.get(), "", tramp_argv, envp, AT_EMPTY_PATH);
}

} // namespace cryo::runtime
