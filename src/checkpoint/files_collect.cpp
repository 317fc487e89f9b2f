#include "checkpoint/files_collect.h"

#include <algorithm>
#include <fcntl.h>
#include <map>
#include <netinet/in.h>
#include <set>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "base/scope_guard.h"
#include "checkpoint/files_tcp.h"
#include "checkpoint/files_udp.h"
#include "checkpoint/socket_options.h"
#include "sys/fdinfo.h"
#include "sys/file.h"
#include "sys/file_kinds.h"
#include "sys/process.h"
#include "sys/procfs.h"
#include "sys/sock_diag.h"

namespace cryo::checkpoint {

namespace {

constexpr char kDeletedSuffix[] = " (deleted)";
constexpr int kTcpEstablished = 1; // include/net/tcp_states.h
constexpr int kTcpClose = 7;
constexpr int kTcpListen = 10;

std::string strip_deleted(std::string const& path)
{
    if (path.ends_with(kDeletedSuffix))
        return path.substr(0, path.size() - (sizeof kDeletedSuffix - 1));
    return path;
}

char const* family_name(int family)
{
    switch (family) {
    case AF_INET:
        return "AF_INET";
    case AF_INET6:
        return "AF_INET6";
    case AF_NETLINK:
        return "AF_NETLINK";
    case AF_PACKET:
        return "AF_PACKET";
    case AF_VSOCK:
        return "AF_VSOCK";
    default:
        return nullptr;
    }
}

// sock_diag answers for one network namespace: the tree's sockets live in the tree's (a
// container's own), so ask there first, through a socket opened in it (sys::sock_diag_socket_in);
// then in cryo's own, where a socket passed in from outside or an outside peer may live.
Result<std::optional<sys::UnixSocketDiag>> unix_diag_of(int pid, uint64_t inode)
{
    auto netns = TRY(sys::open(fmt::format("/proc/{}/ns/net", pid), O_RDONLY | O_CLOEXEC)
                         .context("network namespace of process {}", pid));
    auto sock = TRY(sys::sock_diag_socket_in(netns).context("sock_diag in the network namespace of {}", pid));
    auto found = TRY(sys::unix_socket_diag(sock, inode));
    if (found)
        return found;
    return sys::unix_socket_diag(inode);
}

Result<void> classify_socket(int pid, FdRef pidfd, int fd, sys::FdInfo const& info, FileDescription& d,
                             SocketDefaults& defaults)
{
    auto copy = TRY(sys::pidfd_getfd(pidfd, fd));
    int family = TRY(sys::socket_option(copy, SOL_SOCKET, SO_DOMAIN));
    if ((family == AF_INET || family == AF_INET6)
        && TRY(sys::socket_option(copy, SOL_SOCKET, SO_PROTOCOL)) == IPPROTO_UDP)
        return classify_udp_socket(copy, d, defaults); // files_udp.cpp
    if (family == AF_INET || family == AF_INET6)
        return classify_tcp_socket(copy, d, defaults); // files_tcp.cpp
    if (family != AF_UNIX) {
        auto name = family_name(family);
        return Error::format("sockets of family {} are not supported yet",
                             name ? std::string(name) : std::to_string(family));
    }
    auto diag = TRY(unix_diag_of(pid, d.inode));
    if (!diag)
        return Error::format("unix socket of process {} not found by sock_diag (another network namespace?): not "
                             "supported yet",
                             pid);
    bool named = !diag->name.empty();
    if (named && diag->name[0] != '/' && diag->name[0] != '@')
        return Error::format("unix socket bound to the relative path {} is not supported yet", diag->name);
    if (diag->state == kTcpListen) {
        // Connections waiting in its accept queue: matched with the tree's sockets, or
        // refused, by mark_unix_pending once every process is collected.
        // (The queue and its length are read at different moments: a process outside the
        // tree may connect in between. Only a queue sock_diag does not list at all is refused.)
        if (diag->pending_connections.empty() && diag->receive_queue > 0)
            return Error::format("listening unix socket {}: sock_diag does not list its {} pending connections",
                                 diag->name.empty() ? "(unbound)" : diag->name, diag->receive_queue);
        d.listening = true;
        d.backlog = diag->write_queue;
        d.pending_connections = diag->pending_connections;
    } else if (diag->state != kTcpEstablished && diag->state != kTcpClose) {
        return Error::format("unix socket in state {} is not supported yet", diag->state);
    }
    // A connected socket shows the name of the listener it was accepted from: not its own to
    // bind again. Listening and unconnected sockets get their address back.
    bool connected_now = diag->state == kTcpEstablished || diag->peer_inode != 0;
    if (named && !connected_now) {
        if (diag->receive_queue > 0 && !d.listening) // a listener's count is of pending connections
            return Error::format("bound unix socket {} with queued data is not supported yet", diag->name);
        d.bound_name = diag->name;
        if (diag->name[0] == '/') {
            auto st = sys::stat(diag->name);
            if (st && S_ISSOCK(st->st_mode)) {
                d.mode = st->st_mode & 07777;
                d.uid = st->st_uid;
                d.gid = st->st_gid;
            }
        }
    }
    if (auto in_flight = sys::fdinfo_scm_fds(info); in_flight && *in_flight > 0)
        return Error::format("unix socket with {} fds in flight (SCM_RIGHTS) is not supported yet", *in_flight);
    d.kind = FileKind::UnixSocket;
    d.socket_type = diag->type;
    d.send_buffer = static_cast<uint32_t>(TRY(sys::socket_option(copy, SOL_SOCKET, SO_SNDBUF)));
    d.receive_buffer = static_cast<uint32_t>(TRY(sys::socket_option(copy, SOL_SOCKET, SO_RCVBUF)));
    d.socket_options = TRY(collect_socket_options(copy, AF_UNIX, diag->type, 0, defaults).context("unix socket"));
    // socketpair(2) leaves datagram sockets in TCP_CLOSE on some kernels: a peer also counts.
    d.connected = diag->state == kTcpEstablished || diag->peer_inode != 0;
    d.peer_inode = diag->peer_inode;
    d.shutdown = diag->shutdown;
    return {};
}

// The path of an inode an inotify instance watches, from its file handle: opened through a
// mount of its filesystem as the process sees it.
Result<std::string> watched_path(int pid, sys::InotifyWatchFdInfo const& w)
{
    unsigned major_number = static_cast<unsigned>(w.device >> 20);
    unsigned minor_number = static_cast<unsigned>(w.device & 0xfffff);
    auto mountinfo = TRY(sys::read_file(fmt::format("/proc/{}/mountinfo", pid)));
    auto mount_point = sys::mount_point_of_device(mountinfo, major_number, minor_number);
    if (!mount_point)
        return Error::format("device {}:{} of the watched inode is not mounted", major_number, minor_number);
    // Not O_PATH: open_by_handle_at wants a real fd of the mount (fdget, not fdget_raw).
    auto mount = TRY(sys::open(fmt::format("/proc/{}/root{}", pid, *mount_point), O_RDONLY | O_DIRECTORY));
    auto file = TRY(sys::open_by_handle(mount, w.handle_type, w.handle, O_PATH)
                        .context("watched inode {:#x} under {}", w.inode, *mount_point));
    auto path = TRY(sys::readlink(fmt::format("/proc/self/fd/{}", file.get())));
    if (path.ends_with(kDeletedSuffix) || !path.starts_with("/"))
        return Error::format("the watched inode {:#x} has no path any more ({})", w.inode, path);
    return path;
}

// What one fd is; an error names why cryo cannot restore it.
Result<FileDescription> classify(int pid, FdRef pidfd, int fd, std::string const& target, struct stat const& st,
                                 sys::FdInfo const& info, SocketDefaults& socket_defaults)
{
    FileDescription d;
    d.flags = info.flags & ~static_cast<uint32_t>(O_CLOEXEC);
    d.position = info.pos;
    d.inode = st.st_ino;
    d.path = strip_deleted(target);
    auto mode = st.st_mode;
    bool unlinked = target.ends_with(kDeletedSuffix) && st.st_nlink == 0;

    if (target.starts_with("pipe:[")) {
        d.kind = FileKind::Pipe;
    } else if (target.starts_with("socket:[")) {
        TRY(classify_socket(pid, pidfd, fd, info, d, socket_defaults));
    } else if (target == "anon_inode:[eventfd]") {
        d.kind = FileKind::Eventfd;
        auto e = TRY(sys::parse_eventfd_fdinfo(info));
        d.eventfd_count = e.count;
        d.eventfd_semaphore = e.semaphore;
    } else if (target == "anon_inode:[signalfd]") {
        d.kind = FileKind::Signalfd;
        d.signal_mask = TRY(sys::parse_signalfd_fdinfo(info));
    } else if (target == "anon_inode:[timerfd]") {
        d.kind = FileKind::Timerfd;
        auto t = TRY(sys::parse_timerfd_fdinfo(info));
        d.clock_id = t.clock_id;
        d.ticks = t.ticks;
        d.value_ns = t.value_ns;
        d.interval_ns = t.interval_ns;
    } else if (target == "anon_inode:[eventpoll]") {
        d.kind = FileKind::Epoll;
        for (auto const& t : TRY(sys::parse_epoll_fdinfo(info)))
            d.epoll_targets.push_back({ t.fd, t.inode, t.events, t.data });
    } else if (target == "anon_inode:inotify") {
        d.kind = FileKind::Inotify;
        for (auto const& w : TRY(sys::parse_inotify_fdinfo(info)))
            d.inotify_watches.push_back({ w.wd, TRY(watched_path(pid, w).context("watch {}", w.wd)), w.mask });
    } else if (target.starts_with("anon_inode:")) {
        // "anon_inode:[eventpoll]", "anon_inode:inotify", "anon_inode:[io_uring]" ...
        std::string what = target.substr(sizeof "anon_inode:" - 1);
        if (what.size() > 2 && what.front() == '[' && what.back() == ']')
            what = what.substr(1, what.size() - 2);
        return Error::format("{} is not supported yet", what);
    } else if (target.starts_with("/memfd:") && S_ISREG(mode) && unlinked) {
        d.kind = FileKind::Memfd;
        d.path = d.path.substr(sizeof "/memfd:" - 1);
        d.mode = mode & 07777;
        d.uid = st.st_uid;
        d.gid = st.st_gid;
        d.size = static_cast<uint64_t>(st.st_size);
        auto copy = TRY(sys::pidfd_getfd(pidfd, fd));
        d.seals = TRY(sys::file_seals(copy));
    } else if (!target.starts_with("/")) {
        return Error::format("this kind of file is not supported yet");
    } else if (S_ISREG(mode)) {
        d.kind = unlinked ? FileKind::Deleted : FileKind::Regular;
        if (unlinked) {
            d.mode = mode & 07777;
            d.uid = st.st_uid;
            d.gid = st.st_gid;
            d.size = static_cast<uint64_t>(st.st_size);
        }
    } else if (unlinked) {
        return Error::format("a deleted file that is not a regular file is not supported");
    } else if (S_ISDIR(mode)) {
        d.kind = FileKind::Directory;
    } else if (S_ISFIFO(mode)) {
        d.kind = FileKind::Fifo;
    } else if (S_ISCHR(mode)) {
        if (!is_supported_char_device(major(st.st_rdev), minor(st.st_rdev)))
            return Error::format("character device {}:{} is not supported", major(st.st_rdev), minor(st.st_rdev));
        d.kind = FileKind::CharDevice;
    } else if (S_ISBLK(mode)) {
        return Error::format("block devices are not supported");
    } else {
        return Error::format("this kind of file is not supported yet");
    }
    return d;
}

// The first fd of a process that refers to description `id`.
int fd_of(Process const& p, uint32_t id)
{
    for (auto const& f : p.files)
        if (f.description == id)
            return f.fd;
    return -1;
}

Result<std::string> read_pipe_data(std::string const& proc_path)
{
    // A new read end of the same pipe: opening it with O_NONBLOCK never waits for a writer.
    auto in = TRY(sys::open(proc_path, O_RDONLY | O_NONBLOCK));
    uint32_t capacity = TRY(sys::pipe_size(in));
    auto [copy_in, copy_out] = TRY(sys::pipe(O_NONBLOCK));
    TRY(sys::set_pipe_size(copy_out, capacity));
    size_t n = TRY(sys::tee(in, copy_out, capacity));
    std::string data(n, '\0');
    size_t done = 0;
    while (done < n) {
        size_t r = TRY(sys::read(copy_in, data.data() + done, n - done));
        if (r == 0)
            return Error::make("pipe copy ended early");
        done += r;
    }
    return data;
}

Result<std::string> read_contents(std::string const& proc_path, uint64_t size)
{
    auto in = TRY(sys::open(proc_path, O_RDONLY));
    std::string data(size, '\0');
    uint64_t done = 0;
    while (done < size) {
        size_t r = TRY(sys::pread(in, data.data() + done, size - done, done));
        if (r == 0)
            break; // shrank meanwhile (shared with a process outside the tree)
        done += r;
    }
    data.resize(done);
    return data;
}

// Connections waiting, not accepted yet, in the accept queue of a unix listener (stream or
// seqpacket). sock_diag lists a listener's queue as the inodes of the CLIENT sockets, oldest
// first; a client of the tree is marked with its listener (pending_listener), and restore
// connects it again through the restored listener in that order (files_restore.cpp).
//
// What is refused, and why (all before any state of the tree is changed: the dump fails and
// the tree runs on as it was, with --leave-running or not):
// - Data the client sent before the dump. It waits in the receive queue of the server-side
//   socket the kernel queued on the listener, which has no file until accept(2): the only way
//   to read it is to accept the connection (through a pidfd_getfd copy of the listener), and
//   that takes it out of the tree's queue for good. That is never acceptable with
//   --leave-running; in kill mode it would be acceptable only after the point of no return,
//   but the image must hold the bytes and is committed (dump.cpp) before the tree is killed,
//   so any failure between the accept and the kill (writing pages, the commit, cryo killed)
//   would thaw a tree that lost its pending connections. Refused, naming the listener and
//   the client. (The client's sock_diag write queue tells, without reading anything, whether
//   it sent something its peer has not read.)
// - A client outside the tree: its socket is not ours to re-create, so the restored listener
//   could not hold its connection again.
// - A queued connection whose client socket is closed already (sock_diag reports inode 0).
// - A client of the tree waiting at a listener outside the tree, unless --ext-unix-sk: then,
//   like a connected socket with an outside peer, it connects again to the listener's name
//   (the old queued connection ends with the dumped tree); with data sent, refused as above.
Result<void> mark_unix_pending(ProcessTree& tree, bool external_unix)
{
    std::map<uint64_t, std::vector<FileDescription*>> copies; // inode -> every copy of its description
    std::map<uint64_t, std::pair<int, int>> owner; // inode -> (pid, fd) of one process having it
    for (auto& p : tree.processes)
        for (auto& d : p.file_descriptions)
            if (d.kind == FileKind::UnixSocket) {
                copies[d.inode].push_back(&d);
                owner.emplace(d.inode, std::pair { p.pid, fd_of(p, d.id) });
            }
    auto named = [](std::string const& name) { return name.empty() ? std::string("(unbound)") : name; };
    // Whether the client sent something its peer (the queued server-side socket) has not read.
    auto has_sent_data = [&](uint64_t client) -> Result<bool> {
        auto diag = TRY(unix_diag_of(owner.at(client).first, client));
        return diag && diag->write_queue > 0;
    };

    for (auto& [inode, listener_copies] : copies) {
        auto const& l = *listener_copies.front();
        if (!l.listening || l.pending_connections.empty())
            continue;
        auto [pid, fd] = owner.at(inode);
        size_t total = l.pending_connections.size();
        for (size_t i = 0; i < total; ++i) {
            uint64_t client = l.pending_connections[i];
            auto what = fmt::format("process {} fd {}: listening unix socket {}: pending connection {} of {}", pid, fd,
                                    named(l.bound_name), i + 1, total);
            if (client == 0)
                return Error::format("{} was closed by its client before it was accepted (not supported)", what);
            auto found = copies.find(client);
            if (found == copies.end())
                return Error::format("{} comes from socket:[{}] outside the tree (not supported)", what, client);
            auto [client_pid, client_fd] = owner.at(client);
            auto& c = *found->second.front();
            if (c.listening || c.pending_listener || c.peer_inode)
                return Error::format("{} comes from process {} fd {}, which sock_diag shows in another state", what,
                                     client_pid, client_fd);
            if (TRY(has_sent_data(client)))
                return Error::format("{} (from process {} fd {}) holds data its client sent, which cannot be read "
                                     "without accepting the connection (not supported)",
                                     what, client_pid, client_fd);
            for (auto* copy : found->second)
                copy->pending_listener = inode;
        }
    }

    // Clients of the tree left with no peer inode and no listener of the tree: their peer is
    // closed, or a server-side socket queued on a listener outside the tree.
    std::vector<uint64_t> unresolved;
    for (auto& [inode, client_copies] : copies) {
        auto const& c = *client_copies.front();
        if (c.connected && !c.peer_inode && !c.pending_listener && !c.listening && c.socket_type != SOCK_DGRAM)
            unresolved.push_back(inode);
    }
    if (unresolved.empty())
        return {};
    int pid = tree.processes.front().pid;
    auto netns = TRY(sys::open(fmt::format("/proc/{}/ns/net", pid), O_RDONLY | O_CLOEXEC)
                         .context("network namespace of process {}", pid));
    auto theirs = TRY(sys::sock_diag_socket_in(netns).context("sock_diag in the network namespace of {}", pid));
    auto listeners = TRY(sys::unix_listeners(theirs));
    auto own = TRY(sys::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
    auto their_ns = TRY(sys::fstat(netns));
    auto own_ns = TRY(sys::fstat(own));
    if (their_ns.st_ino != own_ns.st_ino || their_ns.st_dev != own_ns.st_dev) {
        auto ours = TRY(sys::sock_diag_socket_in(own));
        for (auto& l : TRY(sys::unix_listeners(ours)))
            listeners.push_back(std::move(l));
    }
    for (uint64_t client : unresolved) {
        for (auto const& l : listeners) {
            if (std::find(l.pending_connections.begin(), l.pending_connections.end(), client)
                == l.pending_connections.end())
                continue;
            auto [client_pid, client_fd] = owner.at(client);
            auto what = fmt::format("process {} fd {}: unix socket:[{}] waits, not accepted yet, in the accept queue "
                                    "of listening unix socket {} outside the tree",
                                    client_pid, client_fd, client, named(l.name));
            if (!external_unix)
                return Error::format("{} (dump --ext-unix-sk connects it again by name)", what);
            if (l.name.empty() || (l.name[0] != '/' && l.name[0] != '@'))
                return Error::format("{}, which has no name to connect to again (--ext-unix-sk)", what);
            if (TRY(has_sent_data(client)))
                return Error::format("{}: the data it sent cannot be sent again on a new connection "
                                     "(--ext-unix-sk; not supported)",
                                     what);
            for (auto* copy : copies.at(client))
                copy->external_peer = l.name;
            break;
        }
    }
    return {};
}

// Peeks at every message queued on the socket (fd of pid) without taking any: SO_PEEK_OFF
// makes successive MSG_PEEKs walk the queue; the socket's own peek offset is put back.
Result<std::string> read_socket_queue(int pid, int fd, FileDescription& d)
{
    auto pidfd = TRY(sys::pidfd_open(pid));
    auto sock = TRY(sys::pidfd_getfd(pidfd, fd));
    int old_offset = TRY(sys::socket_option(sock, SOL_SOCKET, SO_PEEK_OFF));
    TRY(sys::set_socket_option(sock, SOL_SOCKET, SO_PEEK_OFF, 0));
    ScopeGuard put_back([&] { (void)sys::set_socket_option(sock, SOL_SOCKET, SO_PEEK_OFF, old_offset); });
    bool datagram = d.socket_type != SOCK_STREAM;
    int buffer_size = std::max(TRY(sys::socket_option(sock, SOL_SOCKET, SO_RCVBUF)), 1 << 16);
    std::string buffer(static_cast<size_t>(buffer_size), '\0');
    std::string data;
    d.messages.clear();
    for (;;) {
        auto peeked = TRY(sys::peek(sock, buffer.data(), buffer.size(), datagram));
        if (peeked.empty || (!datagram && peeked.size == 0))
            break;
        if (peeked.control)
            return Error::make("queued data with ancillary data (SCM_RIGHTS/SCM_CREDENTIALS) is not supported yet");
        if (peeked.length > peeked.size)
            return Error::format("queued datagram of {} bytes is too large", peeked.length);
        data.append(buffer.data(), peeked.size);
        if (datagram)
            d.messages.push_back(peeked.size);
        else if (d.messages.empty())
            d.messages.push_back(peeked.size);
        else
            d.messages[0] += peeked.size;
        if (datagram && peeked.size == 0)
            return Error::make("zero-length queued datagrams are not supported yet");
    }
    return data;
}

} // namespace

bool is_supported_char_device(unsigned major_number, unsigned minor_number)
{
    switch (major_number) {
    case 1: // mem: null, zero, full, random, urandom
        return minor_number == 3 || minor_number == 5 || minor_number == 7 || minor_number == 8 || minor_number == 9;
    case 5:
        return minor_number == 0; // /dev/tty (not ptmx: reopening it would make a new pty)
    case 4:
        return true; // virtual consoles and serial ports
    default:
        return major_number >= 136 && major_number <= 143; // /dev/pts/N
    }
}

Result<std::vector<uint32_t>> group_descriptions(std::vector<DescriptionCandidate> const& candidates,
                                                 std::function<Result<bool>(size_t, size_t)> const& same)
{
    std::vector<uint32_t> out(candidates.size());
    // key -> (representative candidate, group) of each group seen with that key.
    std::map<std::pair<uint64_t, uint64_t>, std::vector<std::pair<size_t, uint32_t>>> seen;
    uint32_t groups = 0;
    for (size_t i = 0; i < candidates.size(); ++i) {
        auto& reps = seen[{ candidates[i].key_a, candidates[i].key_b }];
        bool found = false;
        for (auto [rep, group] : reps)
            if (TRY(same(rep, i))) {
                out[i] = group;
                found = true;
                break;
            }
        if (!found) {
            out[i] = groups++;
            reps.push_back({ i, out[i] });
        }
    }
    return out;
}

Result<void> collect_open_files(int pid, Process& p, SocketDefaults& socket_defaults, RuntimeStdio const* runtime_stdio)
{
    auto pidfd = TRY(sys::pidfd_open(pid));
    struct Seen {
        int fd;
        bool cloexec;
        uint64_t device;
        FileDescription description;
    };
    std::vector<Seen> seen;
    std::vector<std::string> refused;
    for (int fd : TRY(sys::list_fds(pid))) {
        std::string link = fmt::format("/proc/{}/fd/{}", pid, fd);
        auto target = sys::readlink(link);
        auto st = sys::stat(link);
        if (!target || !st) {
            // A frozen process closes nothing; only a broken /proc entry lands here.
            if (!target && target.error().is_errno(ENOENT))
                continue;
            return Error::format("fd {}: cannot inspect it", fd);
        }
        auto info = TRY(sys::read_fdinfo(pid, fd));
        auto d = classify(pid, pidfd, fd, *target, *st, info, socket_defaults);
        if (!d) {
            // Keep going: one error names every fd cryo cannot restore.
            refused.push_back(fmt::format("fd {} ({}): {}", fd, *target, d.error().message()));
            continue;
        }
        if (runtime_stdio)
            d->stdio_mask = stdio_mask_of(*runtime_stdio, sys::identity_of(*st));
        seen.push_back({ fd, (info.flags & O_CLOEXEC) != 0, static_cast<uint64_t>(st->st_dev), std::move(*d) });
    }
    // An epoll set is re-registered in the process by fd number: every watched fd must still
    // name the file it was added with.
    for (auto const& s : seen)
        for (auto const& t : s.description.epoll_targets) {
            auto target = std::find_if(seen.begin(), seen.end(), [&](Seen const& o) { return o.fd == t.fd; });
            if (target == seen.end() || target->description.inode != t.inode)
                refused.push_back(fmt::format("fd {} (epoll): it watches fd {}, which was closed or replaced since "
                                              "(not supported)",
                                              s.fd, t.fd));
        }
    if (refused.size() == 1)
        return Error::make(refused[0]);
    if (!refused.empty()) {
        std::string all = fmt::format("{} open files cannot be checkpointed: ", refused.size());
        for (size_t i = 0; i < refused.size(); ++i)
            all += (i ? "; " : "") + refused[i];
        return Error::make(all);
    }
    std::vector<DescriptionCandidate> candidates;
    for (auto const& s : seen)
        candidates.push_back({ s.device, s.description.inode });
    auto groups = TRY(group_descriptions(
        candidates, [&](size_t a, size_t b) { return sys::same_file_description(pid, seen[a].fd, pid, seen[b].fd); }));
    p.files.clear();
    p.file_descriptions.clear();
    for (size_t i = 0; i < seen.size(); ++i) {
        uint32_t id = groups[i] + 1;
        p.files.push_back({ seen[i].fd, id, seen[i].cloexec });
        if (id > p.file_descriptions.size()) {
            seen[i].description.id = id;
            p.file_descriptions.push_back(std::move(seen[i].description));
        }
    }
    return {};
}

Result<void> finish_open_files(ProcessTree& tree, ImageWriter& image, bool external_unix)
{
    // 1. Merge descriptions shared between processes and number them tree-wide.
    struct Ref {
        size_t process;
        size_t index; // into file_descriptions
    };
    std::vector<Ref> refs;
    std::vector<DescriptionCandidate> candidates;
    for (size_t pi = 0; pi < tree.processes.size(); ++pi)
        for (size_t di = 0; di < tree.processes[pi].file_descriptions.size(); ++di) {
            auto const& d = tree.processes[pi].file_descriptions[di];
            refs.push_back({ pi, di });
            candidates.push_back({ static_cast<uint64_t>(d.kind), d.inode });
        }
    auto groups = TRY(group_descriptions(candidates, [&](size_t a, size_t b) -> Result<bool> {
        if (refs[a].process == refs[b].process)
            return false; // already told apart within the process
        auto const& pa = tree.processes[refs[a].process];
        auto const& pb = tree.processes[refs[b].process];
        return sys::same_file_description(pa.pid, fd_of(pa, pa.file_descriptions[refs[a].index].id), pb.pid,
                                          fd_of(pb, pb.file_descriptions[refs[b].index].id));
    }));
    size_t ref = 0; // refs list every process's descriptions in order
    for (auto& p : tree.processes) {
        std::map<uint32_t, uint32_t> renumber;
        for (auto& d : p.file_descriptions) {
            renumber[d.id] = groups[ref++] + 1;
            d.id = renumber[d.id];
        }
        for (auto& f : p.files)
            f.description = renumber.at(f.description);
    }

    // 2. Every socket's peer is in the tree, or gone.
    std::set<uint64_t> sockets;
    for (auto const& p : tree.processes)
        for (auto const& d : p.file_descriptions)
            if (d.kind == FileKind::UnixSocket)
                sockets.insert(d.inode);
    //    With --ext-unix-sk, one whose peer outside has a name is reconnected to it at restore.
    for (auto& p : tree.processes)
        for (auto& d : p.file_descriptions) {
            if (d.kind != FileKind::UnixSocket || !d.peer_inode || sockets.contains(d.peer_inode))
                continue;
            auto peer = TRY(unix_diag_of(p.pid, d.peer_inode));
            if (!peer)
                continue;
            if (!external_unix)
                return Error::format("process {} fd {}: unix socket:[{}] is connected to socket:[{}] outside the tree "
                                     "(dump --ext-unix-sk reconnects it by name)",
                                     p.pid, fd_of(p, d.id), d.inode, d.peer_inode);
            // An accepted stream socket carries its listener's name.
            if (peer->name.empty())
                return Error::format("process {} fd {}: unix socket:[{}] is connected to socket:[{}] outside the "
                                     "tree, which has no name to reconnect to (--ext-unix-sk)",
                                     p.pid, fd_of(p, d.id), d.inode, d.peer_inode);
            d.external_peer = peer->name;
        }

    //    Connections waiting in the accept queue of a unix listener (refusals first).
    TRY(mark_unix_pending(tree, external_unix));

    // 3. Save data, once per description (once per pipe for pipes and FIFOs).
    std::map<uint32_t, FileDescription> updated;
    std::map<std::string, uint32_t> pipe_owner; // pipe_key -> description holding its data
    for (auto const& p : tree.processes)
        for (auto const& original : p.file_descriptions) {
            if (updated.contains(original.id))
                continue;
            FileDescription d = original;
            std::string proc_path = fmt::format("/proc/{}/fd/{}", p.pid, fd_of(p, d.id));
            auto where = [&] { return fmt::format("process {} fd {}", p.pid, fd_of(p, d.id)); };
            std::string data;
            switch (d.kind) {
            case FileKind::Pipe:
            case FileKind::Fifo: {
                auto probe = TRY(sys::open(proc_path, O_RDONLY | O_NONBLOCK).context("{}", where()));
                d.pipe_size = TRY(sys::pipe_size(probe).context("{}", where()));
                if (!pipe_owner.contains(pipe_key(d))) {
                    pipe_owner[pipe_key(d)] = d.id;
                    data = TRY(read_pipe_data(proc_path).context("{}: save unread pipe data", where()));
                }
                break;
            }
            case FileKind::Deleted:
            case FileKind::Memfd:
                data = TRY(read_contents(proc_path, d.size).context("{}: save contents of {}", where(), d.path));
                break;
            case FileKind::UnixSocket:
                // A listening or unconnected stream socket has no data queue (recv: EINVAL).
                if (!d.listening && (d.connected || d.socket_type == SOCK_DGRAM))
                    data = TRY(read_socket_queue(p.pid, fd_of(p, d.id), d).context("{}: save queued data", where()));
                // What the outside peer sent cannot be sent again by it after the restore.
                if (!d.external_peer.empty() && !data.empty())
                    return Error::format("{}: {} unread bytes from its peer {} outside the tree cannot be restored "
                                         "(--ext-unix-sk)",
                                         where(), data.size(), d.external_peer);
                break;
            case FileKind::TcpSocket:
                if (d.tcp.established)
                    data = TRY(save_tcp_connection(p.pid, fd_of(p, d.id), d).context("{}: save connection", where()));
                break;
            case FileKind::UdpSocket:
                data = TRY(save_udp_queue(p.pid, fd_of(p, d.id), d).context("{}", where()));
                break;
            default:
                break;
            }
            d.size = data.size();
            if (!data.empty())
                TRY(image.write_file(file_data_name(d.id), data));
            updated[d.id] = std::move(d);
        }
    for (auto& p : tree.processes)
        for (auto& d : p.file_descriptions)
            d = updated.at(d.id);

    // 4. TCP connections still waiting in the accept queue of a listener of the tree.
    std::vector<FileDescription*> tcp;
    for (auto& p : tree.processes)
        for (auto& d : p.file_descriptions)
            if (d.kind == FileKind::TcpSocket)
                tcp.push_back(&d);
    if (!tcp.empty())
        TRY(mark_accept_queued(tree.processes.front().pid, tcp)); // files_tcp.cpp
    return {};
}

} // namespace cryo::checkpoint
