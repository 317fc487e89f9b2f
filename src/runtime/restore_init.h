// The parked init of a container restore (restore_init.cpp): set up like create's init,
// then it waits in pause() for the checkpoint engine to rebuild the image's init in it.
#pragma once

#include "base/fd.h"
#include "runtime/init.h"
#include "runtime/sync.h"
#include "sys/process.h"

namespace cryo::runtime {

// `cryo_pidfd`: a pidfd of the restoring cryo, kept open at its number (the engine takes it).
[[noreturn]] void run_restore_init(InitConfig& config, SyncChannel& channel, int cryo_pidfd);

// The restored processes take their files with pidfd_getfd, which needs ptrace rights over
// the process it takes them from. A task in the container's new user namespace has none
// over cryo (host root), so for such a container the files come from this holder instead:
// a child of cryo sharing its fd table (CLONE_FILES, so every fd cryo opens is there at the
// same number) that joins the container's user namespace as its root and stays dumpable,
// i.e. what the restored tasks may ptrace. Started before launch (its pidfd is what the
// parked init inherits), moved into the namespace once the init exists; killed when dropped.
class FileHolder {
public:
    static Result<FileHolder> start();
    // Joins the user namespace of `pid` and becomes its root; returns once that is done.
    Result<void> enter_user_ns(int pid);
    FdRef pidfd() const { return m_process.pidfd(); }

private:
    sys::ChildProcess m_process;
    Fd m_command; // write: the number of a user namespace fd (shared table) to join
    Fd m_done; // read: one byte once joined (0) or failed (errno)
};

} // namespace cryo::runtime
