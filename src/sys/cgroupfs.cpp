#include "sys/cgroupfs.h"

#include <algorithm>
#include <cerrno>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "base/scope_guard.h"
#include "sys/raw.h"

namespace cryo::sys {

Result<std::vector<std::string>> list_subdirs(std::string const& path)
{
    DIR* dir = ::opendir(path.c_str());
    if (!dir)
        return Error::from_errno(fmt::format("opendir {}", path));
    ScopeGuard close_dir([&] { ::closedir(dir); });
    std::vector<std::string> names;
    while (auto* entry = ::readdir(dir)) {
        std::string_view name = entry->d_name;
        if (name == "." || name == "..")
            continue;
        bool is_dir = entry->d_type == DT_DIR;
        if (entry->d_type == DT_UNKNOWN) {
            struct stat st { };
            is_dir = ::fstatat(::dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
        }
        if (is_dir)
            names.emplace_back(name);
    }
    return names;
}

namespace {

long bpf(int command, union bpf_attr& attr)
{
    return ::syscall(__NR_bpf, command, &attr, sizeof attr);
}

uint64_t pointer_value(void const* pointer)
{
    // SAFETY: the kernel ABI passes user pointers as u64; the pointee outlives the call.
    return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(pointer));
}

} // namespace

Result<Fd> bpf_load_device_program(std::span<struct bpf_insn const> program)
{
    static char const license[] = "Apache-2.0"; // no GPL-only helpers are used
    std::string log(16384, '\0');
    union bpf_attr attr {
    };
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = pointer_value(program.data());
    attr.insn_cnt = static_cast<uint32_t>(program.size());
    attr.license = pointer_value(license);
    long fd = bpf(BPF_PROG_LOAD, attr);
    if (fd < 0 && errno == EACCES) {
        // Verifier rejection: load again with a log so the error says why.
        int saved = errno;
        attr.log_buf = pointer_value(log.data());
        attr.log_size = static_cast<uint32_t>(log.size());
        attr.log_level = 1;
        fd = bpf(BPF_PROG_LOAD, attr);
        if (fd < 0) {
            log.resize(log.find('\0') == std::string::npos ? log.size() : log.find('\0'));
            while (!log.empty() && log.back() == '\n')
                log.pop_back();
            auto last_line = log.substr(log.find_last_of('\n') == std::string::npos ? 0 : log.find_last_of('\n') + 1);
            return Error::from_errno(saved, fmt::format("load device program (verifier: {})", last_line));
        }
    }
    if (fd < 0)
        return Error::from_errno("load device program");
    return Fd(static_cast<int>(fd));
}

Result<void> bpf_attach_device_program(FdRef cgroup_dir, FdRef program)
{
    union bpf_attr attr {
    };
    attr.target_fd = static_cast<uint32_t>(cgroup_dir.get());
    attr.attach_bpf_fd = static_cast<uint32_t>(program.get());
    attr.attach_type = BPF_CGROUP_DEVICE;
    attr.attach_flags = BPF_F_ALLOW_MULTI;
    if (bpf(BPF_PROG_ATTACH, attr) < 0)
        return Error::from_errno("attach device program");
    return {};
}

Result<void> bpf_detach_device_program(FdRef cgroup_dir, FdRef program)
{
    union bpf_attr attr {
    };
    attr.target_fd = static_cast<uint32_t>(cgroup_dir.get());
    attr.attach_bpf_fd = static_cast<uint32_t>(program.get());
    attr.attach_type = BPF_CGROUP_DEVICE;
    if (bpf(BPF_PROG_DETACH, attr) < 0)
        return Error::from_errno("detach device program");
    return {};
}

Result<std::vector<uint32_t>> bpf_device_program_ids(FdRef cgroup_dir)
{
    std::vector<uint32_t> ids(64);
    union bpf_attr attr {
    };
    attr.query.target_fd = static_cast<uint32_t>(cgroup_dir.get());
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = pointer_value(ids.data());
    attr.query.prog_cnt = static_cast<uint32_t>(ids.size());
    if (bpf(BPF_PROG_QUERY, attr) < 0)
        return Error::from_errno("query device programs");
    ids.resize(std::min<size_t>(attr.query.prog_cnt, ids.size()));
    return ids;
}

Result<Fd> bpf_program_by_id(uint32_t id)
{
    union bpf_attr attr {
    };
    attr.prog_id = id;
    long fd = bpf(BPF_PROG_GET_FD_BY_ID, attr);
    if (fd < 0)
        return Error::from_errno(fmt::format("open bpf program {}", id));
    return Fd(static_cast<int>(fd));
}

} // namespace cryo::sys
