#include "checkpoint/files.h"

#include <fmt/format.h>

#include "checkpoint/model.h"

namespace cryo::checkpoint {

namespace {

constexpr FileKind kAllKinds[]
    = { FileKind::Regular, FileKind::Deleted, FileKind::Directory,  FileKind::CharDevice, FileKind::Fifo,
        FileKind::Pipe,    FileKind::Eventfd, FileKind::UnixSocket, FileKind::Memfd,      FileKind::Signalfd,
        FileKind::Timerfd, FileKind::Epoll,   FileKind::Inotify,    FileKind::TcpSocket,  FileKind::UdpSocket };

} // namespace

uint32_t stdio_mask_of(RuntimeStdio const& stdio, sys::FileIdentity file)
{
    uint32_t mask = 0;
    for (size_t k = 0; k < stdio.size(); ++k)
        if (stdio[k] != sys::FileIdentity {} && stdio[k] == file)
            mask |= 1u << k;
    return mask;
}

char const* to_string(FileKind kind)
{
    switch (kind) {
    case FileKind::Regular:
        return "regular";
    case FileKind::Deleted:
        return "deleted";
    case FileKind::Directory:
        return "directory";
    case FileKind::CharDevice:
        return "char-device";
    case FileKind::Fifo:
        return "fifo";
    case FileKind::Pipe:
        return "pipe";
    case FileKind::Eventfd:
        return "eventfd";
    case FileKind::UnixSocket:
        return "unix-socket";
    case FileKind::Memfd:
        return "memfd";
    case FileKind::Signalfd:
        return "signalfd";
    case FileKind::Timerfd:
        return "timerfd";
    case FileKind::Epoll:
        return "epoll";
    case FileKind::Inotify:
        return "inotify";
    case FileKind::TcpSocket:
        return "tcp-socket";
    case FileKind::UdpSocket:
        return "udp-socket";
    }
    return "?";
}

bool file_kind_from_string(std::string const& text, FileKind& kind)
{
    for (auto k : kAllKinds)
        if (text == to_string(k)) {
            kind = k;
            return true;
        }
    return false;
}

FileDescription const* find_description(Process const& process, uint32_t id)
{
    for (auto const& d : process.file_descriptions)
        if (d.id == id)
            return &d;
    return nullptr;
}

std::string pipe_key(FileDescription const& d)
{
    return d.kind == FileKind::Fifo ? "fifo:" + d.path : fmt::format("pipe:{}", d.inode);
}

std::string file_data_name(uint32_t id)
{
    return fmt::format("file-{}.data", id);
}

} // namespace cryo::checkpoint
