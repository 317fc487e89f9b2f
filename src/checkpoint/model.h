// The checkpoint model: what a process tree, a process, a thread, a memory area and an open
// file are, as plain data. Nothing here calls the kernel; the Linux code that collects it
// (collect.h) and re-creates it (restore.h) lives apart, and the image codec (codec.h)
// turns it into files. Invariant: ProcessTree::processes lists parents before children.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "checkpoint/files.h"
#include "checkpoint/memory_model.h"
#include "checkpoint/task_model.h"

namespace cryo::checkpoint {

// x86-64 general registers, in the order of the kernel's user_regs_struct.
struct X86Registers {
    uint64_t r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8, rax, rcx, rdx, rsi, rdi;
    uint64_t orig_rax, rip, cs, eflags, rsp, ss, fs_base, gs_base, ds, es, fs, gs;
};

struct Thread {
    int tid { 0 };
    X86Registers regs {};
    std::vector<uint8_t> xstate; // the kernel's xsave area (NT_X86_XSTATE), opaque here
    uint64_t sigmask { 0 };
    // rseq(2) registration, re-registered on restore (0: none).
    uint64_t rseq_address { 0 };
    uint32_t rseq_size { 0 };
    uint32_t rseq_signature { 0 };
    // set_tid_address(2) pointer: cleared and futex-woken when the thread exits (pthread_join).
    uint64_t clear_child_tid { 0 };
    ThreadState state; // pending signals, sigaltstack, name, scheduling (task_model.h)
};

enum class AreaKind {
    Anonymous, // private anonymous, including [heap] and [stack]
    SharedAnonymous, // MAP_SHARED|MAP_ANONYMOUS (shows as /dev/zero (deleted))
    FilePrivate, // private mapping of a file: contents come from the file + dirty pages
    FileShared, // shared mapping of a file: contents live in the file
    Vdso,
    Vvar,
    VvarVclock,
    Vsyscall,
};

struct MemoryArea {
    uint64_t start { 0 };
    uint64_t end { 0 };
    bool read { false };
    bool write { false };
    bool exec { false };
    AreaKind kind { AreaKind::Anonymous };
    std::string name; // path of the file, or "[heap]", "[stack]" ...
    uint64_t file_offset { 0 };
    bool growsdown { false };
    bool huge { false }; // had transparent huge pages (MADV_HUGEPAGE on restore)
    // Contents come from a MemoryObject of the process (shared anonymous memory, a deleted
    // file, a memfd) instead of the file at `name`; 0: none.
    uint32_t object { 0 };
    std::vector<GuardRange> guards; // guard pages (memory_model.h), re-installed on restore

    uint64_t size() const { return end - start; }
};

// Pages of a process are stored back to back in its page file; this index says where each
// run of consecutive pages belongs. Run i starts in the file at the sum of previous runs.
struct PageRun {
    uint64_t address { 0 };
    uint64_t pages { 0 };
};

struct SignalAction {
    int signal { 0 };
    uint64_t handler { 0 };
    uint64_t flags { 0 };
    uint64_t restorer { 0 };
    uint64_t mask { 0 };
};

struct Rlimit {
    int resource { 0 };
    uint64_t soft { 0 };
    uint64_t hard { 0 };
};

struct Credentials {
    uint32_t uid[4] {}; // real, effective, saved, fs
    uint32_t gid[4] {};
    std::vector<uint32_t> groups;
    uint64_t cap_inheritable { 0 }, cap_permitted { 0 }, cap_effective { 0 }, cap_bounding { 0 }, cap_ambient { 0 };
    bool no_new_privs { false };
};

// Layout of the address space as prctl(PR_SET_MM_MAP) takes it, plus the auxiliary vector.
struct MmLayout {
    uint64_t start_code { 0 }, end_code { 0 }, start_data { 0 }, end_data { 0 };
    uint64_t start_brk { 0 }, brk { 0 }, start_stack { 0 };
    uint64_t arg_start { 0 }, arg_end { 0 }, env_start { 0 }, env_end { 0 };
    std::vector<uint64_t> auxv;
    std::string exe_path;
};

struct Process {
    int pid { 0 };
    int ppid { 0 };
    int pgid { 0 };
    int sid { 0 };
    std::string comm;
    uint32_t umask { 0 };
    std::string cwd;
    std::string root;
    Credentials credentials;
    MmLayout mm;
    std::vector<MemoryArea> areas;
    std::vector<PageRun> pages;
    std::vector<Thread> threads; // threads[0] is the thread group leader
    std::vector<SignalAction> signal_actions;
    std::vector<Rlimit> rlimits;
    std::vector<OpenFile> files; // fd -> description (checkpoint/files.h)
    std::vector<FileDescription> file_descriptions; // each description `files` refers to, once
    std::vector<MemoryObject> memory_objects; // each object `areas` refers to, once
    ProcessState state; // shared pending signals, timers, attributes, zombie (task_model.h)

    uint64_t page_count() const;
};

struct ProcessTree {
    int root_pid { 0 };
    std::vector<Process> processes;
};

char const* to_string(AreaKind kind);

} // namespace cryo::checkpoint
