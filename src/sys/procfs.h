// Pure parsers of /proc/PID files (maps, stat, status, fdinfo) plus thin readers. Parsers take
// the file text and never touch the system, so they are fixture-tested.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include "base/error.h"

namespace cryo::sys {

struct MapsEntry {
    uint64_t start { 0 };
    uint64_t end { 0 };
    bool read { false };
    bool write { false };
    bool exec { false };
    bool shared { false };
    uint64_t offset { 0 };
    uint32_t dev_major { 0 };
    uint32_t dev_minor { 0 };
    uint64_t inode { 0 };
    std::string path; // "" for anonymous, "[heap]", "[vdso]", "/x (deleted)" ...

    uint64_t size() const { return end - start; }
    bool deleted() const;
    bool operator==(MapsEntry const&) const = default;
};

// /proc/PID/stat fields cryo uses (numbers as in proc(5)).
struct StatInfo {
    pid_t pid { 0 };
    std::string comm;
    char state { '?' };
    pid_t ppid { 0 };
    pid_t pgid { 0 };
    pid_t sid { 0 };
    int64_t nice { 0 };
    int64_t num_threads { 0 };
    uint64_t start_time { 0 };
    uint64_t start_code { 0 }, end_code { 0 }, start_stack { 0 };
    uint64_t start_data { 0 }, end_data { 0 }, start_brk { 0 };
    uint64_t arg_start { 0 }, arg_end { 0 }, env_start { 0 }, env_end { 0 };
    int exit_code { 0 };
};

struct StatusInfo {
    std::string name;
    pid_t tgid { 0 };
    pid_t ppid { 0 };
    uint32_t umask { 0 };
    uint32_t uid[4] {}; // real, effective, saved, fs
    uint32_t gid[4] {};
    std::vector<uint32_t> groups;
    uint64_t sig_pending { 0 }, shared_pending { 0 }, sig_blocked { 0 }, sig_ignored { 0 }, sig_caught { 0 };
    uint64_t cap_inh { 0 }, cap_prm { 0 }, cap_eff { 0 }, cap_bnd { 0 }, cap_amb { 0 };
    int no_new_privs { 0 };
    int seccomp { 0 };
    std::vector<pid_t> ns_pid; // NSpid: outermost first
};

struct FdInfo {
    uint64_t pos { 0 };
    uint32_t flags { 0 }; // octal in the file; includes O_CLOEXEC (02000000) when set
    uint64_t mnt_id { 0 };
    std::map<std::string, std::string> extra; // kind-specific lines (eventfd-count, tfd ...)
};

// Per-area facts of /proc/PID/smaps that maps lacks.
struct SmapsEntry {
    MapsEntry area; // its header line, as /proc/PID/maps shows it
    uint64_t start { 0 };
    uint64_t anon_huge_kib { 0 };
    std::vector<std::string> vm_flags; // "rd", "wr", "gd" (grows down), "hg" (MADV_HUGEPAGE) ...
};

Result<std::vector<MapsEntry>> parse_maps(std::string_view text);
Result<std::vector<SmapsEntry>> parse_smaps(std::string_view text);
Result<StatInfo> parse_stat(std::string_view text);
Result<StatusInfo> parse_status(std::string_view text);
Result<FdInfo> parse_fdinfo(std::string_view text);

Result<std::vector<MapsEntry>> read_maps(pid_t pid);
Result<std::vector<SmapsEntry>> read_smaps(pid_t pid);
Result<StatInfo> read_stat(pid_t pid);
Result<StatusInfo> read_status(pid_t pid);
Result<FdInfo> read_fdinfo(pid_t pid, int fd);
// Thread ids of a process (/proc/PID/task).
Result<std::vector<pid_t>> list_threads(pid_t pid);
// Children of one thread (/proc/PID/task/TID/children).
Result<std::vector<pid_t>> list_children(pid_t pid, pid_t tid);
// Open fd numbers, ascending.
Result<std::vector<int>> list_fds(pid_t pid);

} // namespace cryo::sys
