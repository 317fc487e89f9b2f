// SyncChannel: the typed parent <-> child protocol over a SOCK_SEQPACKET socketpair, one
// message per named step. An error in the child travels as a message carrying its errno
// and context chain, and becomes an Error in the parent with the same message. Messages
// have a fixed size, so sending needs no allocation (the child side must not allocate).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/fd.h"

namespace cryo::runtime {

enum class SyncStep : uint32_t {
    Proceed = 1, // parent -> child: id maps written, cgroup joined; go on
    RunHooks, // child -> parent: namespaces ready; run prestart/createRuntime now
    HooksDone, // parent -> child
    SeccompListener, // child -> parent: carries the seccomp notify fd
    Ready, // child -> parent: set up, waiting to be started
    Start, // parent -> child (run): exec now, without the exec FIFO
    Pid, // child -> parent (exec): carries the pid of the process entering
    Error, // child -> parent: the setup failed; errno + message
};

std::string_view sync_step_name(SyncStep step);

struct SyncMessage {
    SyncStep step { SyncStep::Proceed };
    int32_t err { 0 };
    int32_t value { 0 };
    uint32_t length { 0 };
    char text[1000] {};
};

class SyncChannel {
public:
    SyncChannel() = default;
    explicit SyncChannel(Fd fd)
        : m_fd(std::move(fd))
    {
    }

    FdRef fd() const { return m_fd.ref(); }
    void close() { m_fd.reset(); }

    Result<void> send(SyncStep step, int32_t value = 0) const;
    Result<void> send_fd(SyncStep step, FdRef fd) const;
    // Sends the error (its context chain and errno); best effort, never allocates.
    void send_error(Error const& error) const;
    // Receives one message. A peer that closed yields an Error("... closed").
    Result<SyncMessage> receive(std::vector<Fd>* fds = nullptr) const;
    // Receives and requires `step`; an Error message from the peer becomes the Error.
    Result<SyncMessage> expect(SyncStep step, std::vector<Fd>* fds = nullptr) const;
    // Waits for EOF (the peer exec'd: its CLOEXEC end closed) or an Error message.
    Result<void> expect_eof() const;

private:
    Fd m_fd;
};

// The Error a received SyncStep::Error message stands for.
Error error_from_message(SyncMessage const& message);

} // namespace cryo::runtime
