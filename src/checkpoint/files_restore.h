// Restore side of open files. OpenedFiles opens or creates every file description of the
// tree ONCE in cryo (files at their offsets and flags, pipes and FIFOs refilled with their
// data, socketpairs with their queues, eventfds, memfds with seals, deleted files re-created
// unlinked); install_open_files then gives each process its fds: a remote pidfd_getfd from
// cryo and a dup3 to the fd number with its FD_CLOEXEC. Processes that shared a description
// take the same one, so offsets stay shared. OpenedFiles must live until every process has
// taken its fds.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "base/error.h"
#include "base/fd.h"
#include "checkpoint/image.h"
#include "checkpoint/model.h"
#include "sys/tracee.h"

namespace cryo::checkpoint {

class OpenedFiles {
public:
    static Result<OpenedFiles> open(std::vector<Process> const& processes, ImageReader const& image);
    // cryo's fd of description `id`.
    Result<FdRef> fd_of(uint32_t id) const;
    size_t size() const { return m_fds.size(); }
    // True the first time it is asked for an epoll description: its set is registered once,
    // in the first process restored that holds it.
    bool claim_epoll_registration(uint32_t id) const { return m_epolls_registered.insert(id).second; }

private:
    std::map<uint32_t, Fd> m_fds;
    mutable std::set<uint32_t> m_epolls_registered; // bookkeeping of install_open_files
};

// cryo_pidfd: a pidfd of cryo already open in the stopped process (number in the process).
// Epoll sets are registered here too, by remote epoll_ctl with the original fd numbers (the
// kernel keys an epoll item by file and fd number).
Result<void> install_open_files(Process const& process, OpenedFiles const& opened, sys::Tracee& tracee,
                                uint64_t cryo_pidfd);

// Pure helpers (unit-tested).
// Every description of the tree once, by id; an id whose copies differ is an error.
Result<std::vector<FileDescription>> unique_descriptions(std::vector<Process> const& processes);
// Flags for open(2) that re-create a description's status flags (no O_CREAT/O_TRUNC/...).
int reopen_flags(uint32_t flags);
// The part of the flags that fcntl(F_SETFL) sets.
uint32_t settable_flags(uint32_t flags);

} // namespace cryo::checkpoint
