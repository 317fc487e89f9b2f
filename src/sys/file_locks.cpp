#include "sys/file_locks.h"

#include <cstdlib>
#include <sstream>

#include "sys/file.h"

namespace cryo::sys {

Result<std::vector<FdLock>> parse_fdinfo_locks(std::string_view fdinfo)
{
    // "lock:\t1: POSIX  ADVISORY  WRITE 1234 fe:00:1234 0 EOF": id, kind, mode, access, pid,
    // device:inode, first byte, last byte (inclusive) or EOF.
    std::vector<FdLock> out;
    std::istringstream lines { std::string(fdinfo) };
    std::string line;
    while (std::getline(lines, line)) {
        if (!line.starts_with("lock:"))
            continue;
        std::istringstream words(line.substr(5));
        std::string id, kind, mode, access, pid, inode, first, last;
        if (!(words >> id >> kind >> mode >> access >> pid >> inode >> first >> last))
            return Error::format("fdinfo: bad lock line {:?}", line);
        FdLock lock;
        lock.kind = kind;
        lock.access = access;
        char* end = nullptr;
        lock.pid = static_cast<pid_t>(std::strtol(pid.c_str(), &end, 10));
        if (*end)
            return Error::format("fdinfo: bad lock pid in {:?}", line);
        lock.start = std::strtoull(first.c_str(), &end, 10);
        if (*end)
            return Error::format("fdinfo: bad lock start in {:?}", line);
        if (last != "EOF") {
            uint64_t last_byte = std::strtoull(last.c_str(), &end, 10);
            if (*end || last_byte < lock.start)
                return Error::format("fdinfo: bad lock end in {:?}", line);
            lock.length = last_byte - lock.start + 1;
        }
        out.push_back(std::move(lock));
    }
    return out;
}

Result<std::vector<FdLock>> read_fd_locks(pid_t pid, int fd)
{
    auto text = TRY(read_file(fmt::format("/proc/{}/fdinfo/{}", pid, fd)));
    return parse_fdinfo_locks(text);
}

} // namespace cryo::sys
