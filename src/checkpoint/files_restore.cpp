#include "checkpoint/files_restore.h"

#include <algorithm>
#include <fcntl.h>
#include <optional>
#include <set>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "base/scope_guard.h"
#include "checkpoint/files_tcp.h"
#include "checkpoint/files_udp.h"
#include "checkpoint/remote.h"
#include "checkpoint/socket_options.h"
#include "sys/file.h"
#include "sys/file_kinds.h"
#include "sys/raw.h"
#include "sys/sock_diag.h"
#include "sys/unix_connect.h"

namespace cryo::checkpoint {

namespace {

std::string self_fd_path(FdRef fd)
{
    return fmt::format("/proc/self/fd/{}", fd.get());
}

std::string parent_dir(std::string const& path)
{
    auto slash = path.rfind('/');
    if (slash == std::string::npos || slash == 0)
        return "/";
    return path.substr(0, slash);
}

Result<std::string> data_of(FileDescription const& d, ImageReader const& image)
{
    if (d.size == 0)
        return std::string();
    auto data = TRY(image.read_file(file_data_name(d.id)));
    if (data.size() != d.size)
        return Error::format("data of file description {}: {} bytes, expected {}", d.id, data.size(), d.size);
    return data;
}

// A new description of the file open as `fd`, through /proc/self/fd (pipes, deleted files).
Result<Fd> reopen(FdRef fd, uint32_t flags)
{
    auto out = TRY(sys::open(self_fd_path(fd), reopen_flags(flags) | O_CLOEXEC));
    TRY(sys::set_status_flags(out, settable_flags(flags)));
    return out;
}

Result<Fd> open_path(FileDescription const& d)
{
    // O_NOCTTY: reopening a terminal must not make it cryo's controlling terminal.
    auto fd = TRY(sys::open(d.path, reopen_flags(d.flags) | O_NOCTTY | O_CLOEXEC));
    if (d.kind == FileKind::Regular && !(d.flags & O_PATH))
        TRY(sys::seek(fd, d.position));
    else if (d.kind == FileKind::Directory && d.position != 0)
        TRY(sys::seek(fd, d.position));
    return fd;
}

Result<Fd> create_deleted(FileDescription const& d, ImageReader const& image)
{
    auto data = TRY(data_of(d, image));
    auto dir = parent_dir(d.path);
    // At its old name, unlinked at once, so /proc shows "PATH (deleted)" as before; if the name
    // is taken since, an unnamed file in the same directory (O_TMPFILE).
    auto tmp = sys::open(d.path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC | O_NOFOLLOW, d.mode);
    if (tmp)
        TRY(sys::unlink(d.path).context("unlink re-created deleted file"));
    else if (tmp.error().is_errno(EEXIST))
        tmp = sys::open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, d.mode);
    auto file = TRY(std::move(tmp).context("re-create deleted file {} in {}", d.path, dir));
    TRY(sys::fchown(file, d.uid, d.gid));
    TRY(sys::fchmod(file, d.mode)); // the mode it had, whatever cryo's umask (after chown, which drops set-id bits)
    TRY(sys::pwrite_all(file, data.data(), data.size(), 0));
    auto out = TRY(reopen(file, d.flags));
    TRY(sys::seek(out, d.position));
    return out;
}

Result<Fd> create_memfd(FileDescription const& d, ImageReader const& image)
{
    auto data = TRY(data_of(d, image));
    auto memfd = TRY(sys::memfd_create(d.path, MFD_ALLOW_SEALING));
    TRY(sys::fchown(memfd, d.uid, d.gid));
    TRY(sys::fchmod(memfd, d.mode));
    TRY(sys::pwrite_all(memfd, data.data(), data.size(), 0));
    TRY(sys::ftruncate(memfd, data.size()));
    Fd out = (d.flags & O_ACCMODE) == O_RDWR ? std::move(memfd) : TRY(reopen(memfd, d.flags));
    TRY(sys::set_status_flags(out, settable_flags(d.flags)));
    TRY(sys::seek(out, d.position));
    // Seals last: F_SEAL_WRITE and friends would refuse the writes above.
    if (d.seals)
        TRY(sys::add_file_seals(out, d.seals));
    return out;
}

Result<Fd> create_eventfd(FileDescription const& d)
{
    auto fd = TRY(sys::eventfd(d.eventfd_semaphore ? EFD_SEMAPHORE : 0));
    if (d.eventfd_count) {
        uint64_t count = d.eventfd_count;
        TRY(sys::write(fd, &count, sizeof count));
    }
    TRY(sys::set_status_flags(fd, settable_flags(d.flags)));
    return fd;
}

// An inotify instance with the same watches under the same watch descriptors. Descriptors
// are handed out cyclically from 1 (idr_alloc_cyclic): a gap is skipped by adding and
// removing a watch on a scratch directory until the next one is the wanted one.
Result<Fd> create_inotify(FileDescription const& d)
{
    auto fd = TRY(sys::inotify_init());
    auto watches = d.inotify_watches;
    std::sort(watches.begin(), watches.end(), [](auto const& a, auto const& b) { return a.wd < b.wd; });
    std::optional<std::string> scratch;
    ScopeGuard remove_scratch([&] {
        if (scratch)
            (void)sys::rmdir(*scratch);
    });
    int next = 1;
    for (auto const& w : watches) {
        if (w.wd < next)
            return Error::format("watch descriptor {} appears twice", w.wd);
        if (w.wd > next && !scratch) {
            char name[] = "/tmp/cryo-inotify-XXXXXX";
            if (!::mkdtemp(name))
                return Error::from_errno("mkdtemp for inotify gaps");
            scratch = name;
        }
        while (next < w.wd) {
            int skipped = TRY(sys::inotify_add_watch(fd, *scratch, IN_ATTRIB));
            TRY(sys::inotify_rm_watch(fd, skipped));
            next = skipped + 1;
        }
        int got = TRY(sys::inotify_add_watch(fd, w.path, w.mask).context("watch {}", w.wd));
        if (got != w.wd)
            return Error::format("watch {} on {} came back as watch {}", w.wd, w.path, got);
        next = got + 1;
    }
    TRY(sys::set_status_flags(fd, settable_flags(d.flags)));
    return fd;
}

// Binds a socket to its old address. A socket file left at the path by the dumped process
// (which is gone) is removed first; anything else at the path is an error.
Result<void> bind_again(FdRef fd, std::string const& name)
{
    if (name[0] == '/') {
        auto st = sys::lstat(name);
        if (st && S_ISSOCK(st->st_mode))
            TRY(sys::unlink(name).context("remove stale socket file"));
    }
    return sys::bind_unix(fd, name);
}

Result<void> write_all_to(FdRef fd, std::string const& data)
{
    return sys::write_all(fd, data);
}

// SO_SNDBUF / SO_RCVBUF as dumped. The kernel doubles what SO_*BUFFORCE asks; getsockopt
// showed the doubled value.
Result<void> set_socket_buffers(FdRef fd, FileDescription const& of)
{
    if (of.send_buffer)
        TRY(sys::set_socket_option(fd, SOL_SOCKET, SO_SNDBUFFORCE, static_cast<int>(of.send_buffer / 2)));
    if (of.receive_buffer)
        TRY(sys::set_socket_option(fd, SOL_SOCKET, SO_RCVBUFFORCE, static_cast<int>(of.receive_buffer / 2)));
    return {};
}

// The other options the program had set (socket_options.h); a unix socket has none that
// must come before bind, both phases are set once it exists.
Result<void> set_unix_options(FdRef fd, FileDescription const& of)
{
    TRY(apply_socket_options(fd, of.socket_options, OptionPhase::BeforeBind));
    return apply_socket_options(fd, of.socket_options, OptionPhase::AfterSetup);
}

// The identity of the first process holding each unix socket (by inode): what a listen(2) or
// connect(2) done for it records as the credentials its peers see.
std::map<uint64_t, sys::Identity> unix_socket_holders(std::vector<Process> const& processes)
{
    std::map<uint64_t, sys::Identity> out;
    for (auto const& p : processes) {
        sys::Identity who;
        std::copy(p.credentials.uid, p.credentials.uid + 3, who.uid);
        std::copy(p.credentials.gid, p.credentials.gid + 3, who.gid);
        who.groups = p.credentials.groups;
        for (auto const& d : p.file_descriptions)
            if (d.kind == FileKind::UnixSocket)
                out.emplace(d.inode, who);
    }
    return out;
}

// Connections that waited, not accepted yet, in a unix listener's accept queue
// (files_collect.cpp, mark_unix_pending): each client is a new socket connected to the
// restored listener's name, oldest first, so the queue holds them in the same order. The
// dump refused any whose client had sent data, so there is nothing to send again. Connected
// non-blocking: a full queue is an error, never a wait. sock_diag then confirms that the
// connection landed in that listener's queue (a name resolved elsewhere would reach another
// socket). The file descriptions are opened in the tree's network namespace (restore.cpp),
// where abstract names live.
// Each client connects as the process that holds it (sys::as_identity), so the server that
// accepts it reads that process's uid, gid and groups with SO_PEERCRED / SO_PEERGROUPS, as
// before the dump, not cryo's; the pid it reads is cryo's (the kernel records the caller's).
Result<void> connect_pending_clients(std::vector<FileDescription> const& descriptions,
                                     std::map<uint64_t, FileDescription const*> const& sockets,
                                     std::map<uint64_t, sys::Identity> const& holders, std::map<uint32_t, Fd>& fds)
{
    for (auto const& l : descriptions) {
        if (l.kind != FileKind::UnixSocket || l.pending_connections.empty())
            continue;
        auto what = fmt::format("file description {} (listening unix socket {})", l.id, l.bound_name);
        auto listener = fds.find(l.id);
        if (!l.listening || l.bound_name.empty() || listener == fds.end())
            return Error::format("{}: pending connections, but not restored as a named listener", what);
        uint64_t listener_inode = TRY(sys::fstat(listener->second)).st_ino;
        size_t total = l.pending_connections.size();
        for (size_t i = 0; i < total; ++i) {
            auto where = [&] { return fmt::format("{}: pending connection {} of {}", what, i + 1, total); };
            auto found = sockets.find(l.pending_connections[i]);
            if (found == sockets.end() || found->second->pending_listener != l.inode)
                return Error::format("{}: its client socket:[{}] is not in the image", where(),
                                     l.pending_connections[i]);
            auto const& c = *found->second;
            if (c.size)
                return Error::format("{}: its client has {} bytes of queued data", where(), c.size);
            Fd fd;
            auto connect = [&]() -> Result<void> {
                fd = TRY(sys::socket(AF_UNIX, c.socket_type | SOCK_NONBLOCK));
                return sys::connect_unix_name(fd, l.bound_name);
            };
            TRY(sys::as_identity(holders.at(c.inode), connect).context("{}", where()));
            auto queue = TRY(sys::unix_socket_diag(listener_inode).context("{}", where()));
            uint64_t mine = TRY(sys::fstat(fd)).st_ino;
            if (!queue || queue->pending_connections.empty() || queue->pending_connections.back() != mine)
                return Error::format("{}: connecting to {} did not reach the restored listener", where(), l.bound_name);
            if (c.shutdown & 2)
                TRY(sys::shutdown(fd, SHUT_WR).context("{}", where()));
            if (c.shutdown & 1)
                TRY(sys::shutdown(fd, SHUT_RD).context("{}", where()));
            TRY(sys::set_status_flags(fd, settable_flags(c.flags)).context("{}", where()));
            TRY(set_socket_buffers(fd, c).context("{}", where()));
            TRY(set_unix_options(fd, c).context("{}", where()));
            fds[c.id] = std::move(fd);
        }
    }
    return {};
}

// struct epoll_event is packed on x86-64 (12 bytes).
struct __attribute__((packed)) RemoteEpollEvent {
    uint32_t events;
    uint64_t data;
};
static_assert(sizeof(RemoteEpollEvent) == 12);

Result<void> register_epolls(Process const& p, OpenedFiles const& opened, sys::Tracee& t)
{
    std::optional<RemoteScratch> scratch;
    for (auto const& f : p.files) {
        auto const* d = find_description(p, f.description);
        if (!d || d->kind != FileKind::Epoll || d->epoll_targets.empty() || !opened.claim_epoll_registration(d->id))
            continue;
        if (!scratch)
            scratch.emplace(TRY(RemoteScratch::map(t, 4096)));
        for (auto const& target : d->epoll_targets) {
            RemoteEpollEvent event { target.events, target.data };
            TRY(scratch->write(0, &event, sizeof event));
            TRY(t.syscall_checked("epoll_ctl", SYS_epoll_ctl,
                                  { static_cast<uint64_t>(f.fd), EPOLL_CTL_ADD, static_cast<uint64_t>(target.fd),
                                    scratch->address() })
                    .context("epoll fd {}: watch fd {}", f.fd, target.fd));
        }
    }
    if (scratch)
        TRY(scratch->unmap());
    return {};
}

} // namespace

int reopen_flags(uint32_t flags)
{
    constexpr uint32_t keep = O_ACCMODE | O_APPEND | O_NONBLOCK | O_DSYNC | O_SYNC | O_DIRECT | O_LARGEFILE | O_NOATIME
        | O_DIRECTORY | O_NOFOLLOW | O_PATH;
    return static_cast<int>(flags & keep);
}

uint32_t settable_flags(uint32_t flags)
{
    return flags & (O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME);
}

Result<std::vector<FileDescription>> unique_descriptions(std::vector<Process> const& processes)
{
    std::map<uint32_t, FileDescription const*> seen;
    std::vector<FileDescription> out;
    for (auto const& p : processes)
        for (auto const& d : p.file_descriptions) {
            auto it = seen.find(d.id);
            if (it == seen.end()) {
                seen[d.id] = &d;
                out.push_back(d);
            } else if (!(*it->second == d)) {
                return Error::format("file description {} differs between processes (process {})", d.id, p.pid);
            }
        }
    return out;
}

Result<OpenedFiles> OpenedFiles::open(std::vector<Process> const& processes, ImageReader const& image)
{
    OpenedFiles out;
    auto descriptions = TRY(unique_descriptions(processes));
    std::set<std::string> pipes_done; // pipe_key
    std::map<uint64_t, FileDescription const*> sockets; // inode -> description
    for (auto const& d : descriptions)
        if (d.kind == FileKind::UnixSocket)
            sockets[d.inode] = &d;
    auto holders = unix_socket_holders(processes);
    TRY(open_tcp_sockets(descriptions, image, out.m_fds)); // files_tcp.cpp: listeners before connections
    TRY(open_udp_sockets(descriptions, image, out.m_fds)); // files_udp.cpp: bound, queues refilled, connected

    for (auto const& d : descriptions) {
        if (out.m_fds.contains(d.id))
            continue; // created with its pipe or socket peer
        auto what = [&] { return fmt::format("file description {} ({} {})", d.id, to_string(d.kind), d.path); };
        switch (d.kind) {
        case FileKind::Regular:
        case FileKind::Directory:
        case FileKind::CharDevice:
            out.m_fds[d.id] = TRY(open_path(d).context("{}", what()));
            break;
        case FileKind::Deleted:
            out.m_fds[d.id] = TRY(create_deleted(d, image).context("{}", what()));
            break;
        case FileKind::Memfd:
            out.m_fds[d.id] = TRY(create_memfd(d, image).context("{}", what()));
            break;
        case FileKind::Eventfd:
            out.m_fds[d.id] = TRY(create_eventfd(d).context("{}", what()));
            break;
        case FileKind::Signalfd: {
            auto fd = TRY(sys::signalfd(d.signal_mask, 0).context("{}", what()));
            TRY(sys::set_status_flags(fd, settable_flags(d.flags)));
            out.m_fds[d.id] = std::move(fd);
            break;
        }
        case FileKind::Timerfd: {
            auto fd = TRY(sys::timerfd_create(d.clock_id, 0).context("{}", what()));
            // Re-armed relative to now with the time it had left; then the expirations that
            // were not read yet (arming resets them).
            TRY(sys::timerfd_settime(fd, d.value_ns, d.interval_ns).context("{}", what()));
            if (d.ticks)
                TRY(sys::timerfd_set_ticks(fd, d.ticks).context("{}", what()));
            TRY(sys::set_status_flags(fd, settable_flags(d.flags)));
            out.m_fds[d.id] = std::move(fd);
            break;
        }
        case FileKind::Inotify:
            out.m_fds[d.id] = TRY(create_inotify(d).context("{}", what()));
            break;
        case FileKind::TcpSocket:
        case FileKind::UdpSocket:
            break; // opened above
        case FileKind::Epoll: {
            auto fd = TRY(sys::epoll_create().context("{}", what()));
            TRY(sys::set_status_flags(fd, settable_flags(d.flags)));
            out.m_fds[d.id] = std::move(fd); // its set is registered by install_open_files
            break;
        }
        case FileKind::Pipe:
        case FileKind::Fifo: {
            if (pipes_done.contains(pipe_key(d)))
                break;
            pipes_done.insert(pipe_key(d));
            // All descriptions of this pipe; one of them holds its data.
            std::vector<FileDescription const*> ends;
            uint32_t capacity = 0;
            std::string data;
            for (auto const& e : descriptions)
                if (e.kind == d.kind && pipe_key(e) == pipe_key(d)) {
                    ends.push_back(&e);
                    capacity = std::max(capacity, e.pipe_size);
                    if (e.size)
                        data = TRY(data_of(e, image).context("{}", what()));
                }
            capacity = std::max<uint32_t>(capacity, static_cast<uint32_t>(data.size()));
            Fd read_end, write_end;
            if (d.kind == FileKind::Pipe) {
                auto pair = TRY(sys::pipe());
                read_end = std::move(pair.first);
                write_end = std::move(pair.second);
            } else {
                // Held open for reading and writing: opening either end of the FIFO then
                // never waits for the other side.
                write_end = TRY(sys::open(d.path, O_RDWR | O_NONBLOCK | O_CLOEXEC).context("{}", what()));
            }
            if (capacity)
                TRY(sys::set_pipe_size(write_end, capacity).context("{}", what()));
            TRY(write_all_to(write_end, data).context("{}: refill {} bytes", what(), data.size()));
            bool read_taken = false, write_taken = false;
            for (auto const* e : ends) {
                uint32_t access = e->flags & O_ACCMODE;
                Fd fd;
                if (d.kind == FileKind::Pipe && access == O_RDONLY && !read_taken) {
                    fd = TRY(sys::dup(read_end)); // shares the pipe's original read description
                    read_taken = true;
                } else if (d.kind == FileKind::Pipe && access == O_WRONLY && !write_taken) {
                    fd = TRY(sys::dup(write_end));
                    write_taken = true;
                } else {
                    FdRef base = read_end.valid() ? read_end.ref() : write_end.ref();
                    fd = TRY(sys::open(self_fd_path(base), reopen_flags(e->flags) | O_NONBLOCK | O_CLOEXEC)
                                 .context("{}", what()));
                }
                TRY(sys::set_status_flags(fd, settable_flags(e->flags)).context("{}", what()));
                out.m_fds[e->id] = std::move(fd);
            }
            break;
        }
        case FileKind::UnixSocket: {
            if (d.pending_listener)
                break; // connected through its restored listener below (connect_pending_clients)
            if (!d.external_peer.empty()) {
                // Its peer lived outside the tree (dump --ext-unix-sk): a new socket
                // connected to the same name, as runc/CRIU reconnect external sockets. As the
                // process holding it: the outside server may grant access by the uid it reads
                // with SO_PEERCRED, which must not become cryo's root. Non-blocking: a full
                // accept queue outside is an error, never a hang.
                Fd fd;
                auto reconnect = [&]() -> Result<void> {
                    fd = TRY(sys::socket(AF_UNIX, d.socket_type | SOCK_NONBLOCK));
                    return sys::connect_unix_name(fd, d.external_peer);
                };
                auto reconnected = sys::as_identity(holders.at(d.inode), reconnect);
                if (!reconnected && reconnected.error().is_errno(EAGAIN))
                    return Error::format("{}: reconnect to its peer outside the tree: the accept queue of {} is full",
                                         what(), d.external_peer);
                TRY(std::move(reconnected).context("{}: reconnect to its peer outside the tree", what()));
                if (d.shutdown & 2)
                    TRY(sys::shutdown(fd, SHUT_WR));
                if (d.shutdown & 1)
                    TRY(sys::shutdown(fd, SHUT_RD));
                TRY(set_unix_options(fd, d).context("{}", what()));
                TRY(sys::set_status_flags(fd, settable_flags(d.flags)));
                out.m_fds[d.id] = std::move(fd);
                break;
            }
            auto data = TRY(data_of(d, image).context("{}", what()));
            if (!d.connected && data.empty()) {
                auto fd = TRY(sys::socket(AF_UNIX, d.socket_type));
                if (!d.bound_name.empty()) {
                    TRY(bind_again(fd, d.bound_name).context("{}", what()));
                    if (d.bound_name[0] == '/' && d.mode) {
                        TRY(sys::chown_path(d.bound_name, d.uid, d.gid).context("{}", what()));
                        TRY(sys::chmod_path(d.bound_name, d.mode).context("{}", what()));
                    }
                }
                // listen(2) records its caller as the credentials every client connecting
                // later reads with SO_PEERCRED: the holder's uid and gids, not cryo's.
                if (d.listening)
                    TRY(sys::as_identity(holders.at(d.inode), [&] {
                            return sys::listen(fd, static_cast<int>(d.backlog));
                        }).context("{}", what()));
                TRY(set_unix_options(fd, d).context("{}", what()));
                TRY(sys::set_status_flags(fd, settable_flags(d.flags)));
                out.m_fds[d.id] = std::move(fd);
                break;
            }
            // Connected, or data queued from a peer that is gone (a datagram socket no longer
            // shows its dead peer): a socketpair whose other end is dropped below.
            auto [mine, other] = TRY(sys::socketpair(AF_UNIX, d.socket_type).context("{}", what()));
            // Data queued on this end was sent by the peer: send it again from the other end,
            // message by message, with room enough in the sender's buffer for all of it (the
            // dumped buffer sizes are set afterwards).
            auto send_queue = [](FdRef from, FileDescription const& to, std::string const& bytes) -> Result<void> {
                if (bytes.empty())
                    return {};
                int room = static_cast<int>(std::min<size_t>(bytes.size() * 4 + (1 << 20), 1 << 30));
                TRY(sys::set_socket_option(from, SOL_SOCKET, SO_SNDBUFFORCE, room));
                size_t at = 0;
                for (uint64_t size : to.messages) {
                    TRY(sys::send_all(from, bytes.data() + at, size));
                    at += size;
                }
                return {};
            };
            TRY(send_queue(other, d, data).context("{}: re-queue {} bytes", what(), data.size()));
            auto peer = d.peer_inode ? sockets.find(d.peer_inode) : sockets.end();
            if (peer != sockets.end()) {
                auto const& p = *peer->second;
                auto peer_data = TRY(data_of(p, image).context("{}", what()));
                TRY(send_queue(mine, p, peer_data)
                        .context("{}: re-queue {} bytes of its peer", what(), peer_data.size()));
                if (p.shutdown & 2)
                    TRY(sys::shutdown(other, SHUT_WR));
                if (p.shutdown & 1)
                    TRY(sys::shutdown(other, SHUT_RD));
                TRY(sys::set_status_flags(other, settable_flags(p.flags)));
                TRY(set_socket_buffers(other, p).context("{}", what()));
                TRY(set_unix_options(other, p).context("{}", what()));
                out.m_fds[p.id] = std::move(other);
            }
            // else: the peer was closed; dropping `other` closes it again (EOF after the data).
            if (peer != sockets.end()) {
                if (d.shutdown & 2)
                    TRY(sys::shutdown(mine, SHUT_WR));
                if (d.shutdown & 1)
                    TRY(sys::shutdown(mine, SHUT_RD));
            }
            TRY(sys::set_status_flags(mine, settable_flags(d.flags)));
            TRY(set_socket_buffers(mine, d).context("{}", what()));
            TRY(set_unix_options(mine, d).context("{}", what()));
            out.m_fds[d.id] = std::move(mine);
            break;
        }
        }
    }
    TRY(connect_pending_clients(descriptions, sockets, holders, out.m_fds));
    return out;
}

Result<FdRef> OpenedFiles::fd_of(uint32_t id) const
{
    auto it = m_fds.find(id);
    if (it == m_fds.end())
        return Error::format("file description {} was not opened", id);
    return it->second.ref();
}

Result<void> install_open_files(Process const& p, OpenedFiles const& opened, sys::Tracee& t, uint64_t cryo_pidfd)
{
    // Ascending fd order: the temporary number pidfd_getfd returns is the lowest free one,
    // so it is the target itself or a number no later fd needs (gaps stay gaps).
    auto files = p.files;
    std::sort(files.begin(), files.end(), [](auto const& a, auto const& b) { return a.fd < b.fd; });
    for (auto const& f : files) {
        auto local = TRY(opened.fd_of(f.description).context("fd {}", f.fd));
        uint64_t tmp = TRY(
            t.syscall_checked("pidfd_getfd", __NR_pidfd_getfd, { cryo_pidfd, static_cast<uint64_t>(local.get()), 0 })
                .context("fd {}", f.fd));
        auto target = static_cast<uint64_t>(f.fd);
        if (tmp != target) {
            TRY(t.syscall_checked("dup3", SYS_dup3, { tmp, target, f.cloexec ? O_CLOEXEC : 0u })
                    .context("fd {}", f.fd));
            TRY(t.syscall_checked("close", SYS_close, { tmp }));
        } else {
            TRY(t.syscall_checked("fcntl F_SETFD", SYS_fcntl, { tmp, F_SETFD, f.cloexec ? FD_CLOEXEC : 0u })
                    .context("fd {}", f.fd));
        }
    }
    TRY(register_epolls(p, opened, t));
    return {};
}

} // namespace cryo::checkpoint
