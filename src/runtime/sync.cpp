#include "runtime/sync.h"

#include <cstring>

#include "sys/unix_socket.h"

namespace cryo::runtime {

std::string_view sync_step_name(SyncStep step)
{
    switch (step) {
    case SyncStep::Proceed:
        return "proceed";
    case SyncStep::RunHooks:
        return "run-hooks";
    case SyncStep::HooksDone:
        return "hooks-done";
    case SyncStep::SeccompListener:
        return "seccomp-listener";
    case SyncStep::Ready:
        return "ready";
    case SyncStep::Start:
        return "start";
    case SyncStep::Pid:
        return "pid";
    case SyncStep::Error:
        return "error";
    }
    return "unknown";
}

Result<void> SyncChannel::send(SyncStep step, int32_t value) const
{
    SyncMessage message;
    message.step = step;
    message.value = value;
    // Only the header: the text is empty for every step but Error.
    auto size = offsetof(SyncMessage, text);
    // SAFETY: SyncMessage is trivially copyable; we send its bytes.
    return sys::send_with_fds(m_fd, { reinterpret_cast<char const*>(&message), size }, {})
        .context("send {}", sync_step_name(step));
}

Result<void> SyncChannel::send_fd(SyncStep step, FdRef fd) const
{
    SyncMessage message;
    message.step = step;
    auto size = offsetof(SyncMessage, text);
    FdRef fds[] = { fd };
    // SAFETY: as above.
    return sys::send_with_fds(m_fd, { reinterpret_cast<char const*>(&message), size }, fds)
        .context("send {}", sync_step_name(step));
}

void SyncChannel::send_error(Error const& error) const
{
    SyncMessage message;
    message.step = SyncStep::Error;
    message.err = error.code();
    // Outermost frame first, joined by ": " (like Error::message() without strerror).
    size_t used = 0;
    auto const& frames = error.frames();
    for (auto it = frames.rbegin(); it != frames.rend(); ++it) {
        if (used != 0 && used + 2 < sizeof message.text) {
            std::memcpy(message.text + used, ": ", 2);
            used += 2;
        }
        size_t n = std::min(it->size(), sizeof message.text - 1 - used);
        std::memcpy(message.text + used, it->data(), n);
        used += n;
    }
    message.length = static_cast<uint32_t>(used);
    // SAFETY: as above.
    (void)sys::send_with_fds(m_fd, { reinterpret_cast<char const*>(&message), offsetof(SyncMessage, text) + used }, {});
}

Error error_from_message(SyncMessage const& message)
{
    std::string text(message.text, std::min<size_t>(message.length, sizeof message.text));
    if (message.err != 0)
        return Error::from_errno(message.err, std::move(text));
    return Error::make(std::move(text));
}

Result<SyncMessage> SyncChannel::receive(std::vector<Fd>* fds) const
{
    SyncMessage message;
    // SAFETY: the peer sent the bytes of a SyncMessage; we receive into one.
    auto n = TRY(sys::recv_with_fds(m_fd, { reinterpret_cast<char*>(&message), sizeof message }, fds));
    if (n == 0)
        return Error::make("container init exited during setup");
    if (n < offsetof(SyncMessage, text))
        return Error::format("short sync message ({} bytes)", n);
    return message;
}

Result<SyncMessage> SyncChannel::expect(SyncStep step, std::vector<Fd>* fds) const
{
    auto message = TRY(receive(fds));
    if (message.step == SyncStep::Error)
        return error_from_message(message);
    if (message.step != step)
        return Error::format("sync: expected {}, got {}", sync_step_name(step), sync_step_name(message.step));
    return message;
}

Result<void> SyncChannel::expect_eof() const
{
    SyncMessage message;
    // SAFETY: as in receive().
    auto n = TRY(sys::recv_with_fds(m_fd, { reinterpret_cast<char*>(&message), sizeof message }, nullptr));
    if (n == 0)
        return {};
    if (message.step == SyncStep::Error)
        return error_from_message(message);
    return Error::format("sync: expected end of setup, got {}", sync_step_name(message.step));
}

} // namespace cryo::runtime
