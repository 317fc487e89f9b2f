#include "checkpoint/files_tcp.h"

#include <algorithm>
#include <chrono>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <sys/stat.h>
#include <thread>

#include "base/scope_guard.h"
#include "checkpoint/image.h"
#include "checkpoint/inet_socket.h"
#include "checkpoint/socket_options.h"
#include "sys/file.h"
#include "sys/file_kinds.h"
#include "sys/inet_diag.h"
#include "sys/process.h"
#include "sys/tcp_socket.h"

namespace cryo::checkpoint {

namespace {

// The dump in progress on this thread (dump() runs on one thread).
thread_local TcpDumpScope* t_scope = nullptr;

char const* tcp_state_name(int state)
{
    switch (state) {
    case TCP_ESTABLISHED:
        return "established";
    case TCP_SYN_SENT:
        return "syn-sent";
    case TCP_SYN_RECV:
        return "syn-recv";
    case TCP_FIN_WAIT1:
        return "fin-wait1";
    case TCP_FIN_WAIT2:
        return "fin-wait2";
    case TCP_TIME_WAIT:
        return "time-wait";
    case TCP_CLOSE:
        return "close";
    case TCP_CLOSE_WAIT:
        return "close-wait";
    case TCP_LAST_ACK:
        return "last-ack";
    case TCP_LISTEN:
        return "listen";
    case TCP_CLOSING:
        return "closing";
    default:
        return "unknown";
    }
}

// Why a socket is in a state cryo refuses, for the error.
char const* tcp_state_meaning(int state)
{
    switch (state) {
    case TCP_SYN_SENT:
        return "connect in progress";
    case TCP_SYN_RECV:
        return "handshake in progress";
    case TCP_FIN_WAIT1:
    case TCP_FIN_WAIT2:
        return "this end shut down its sending side";
    case TCP_CLOSE_WAIT:
        return "the peer shut down its sending side, this end did not yet";
    case TCP_LAST_ACK:
    case TCP_CLOSING:
        return "both ends are closing";
    case TCP_TIME_WAIT:
        return "closed";
    default:
        return "unknown state";
    }
}

Result<tcp_info> info_of(FdRef s)
{
    tcp_info info {};
    TRY(sys::get_raw_option(s, IPPROTO_TCP, TCP_INFO, &info, sizeof info));
    return info;
}

Result<void> set_repair(FdRef s, int mode)
{
    return sys::set_socket_option(s, IPPROTO_TCP, TCP_REPAIR, mode).context("TCP_REPAIR {}", mode);
}

Result<void> set_queue(FdRef s, int queue)
{
    return sys::set_socket_option(s, IPPROTO_TCP, TCP_REPAIR_QUEUE, queue).context("TCP_REPAIR_QUEUE {}", queue);
}

// Options a program sets that a fresh socket does not have; buffer sizes only if they
// differ from a fresh socket's of its network namespace (a program's setsockopt), so
// autotuning stays on otherwise.
Result<void> read_options(FdRef s, TcpState& t, SocketDefaults& defaults)
{
    t.reuse_address = TRY(flag_option(s, SOL_SOCKET, SO_REUSEADDR));
    t.reuse_port = TRY(flag_option(s, SOL_SOCKET, SO_REUSEPORT));
    t.keep_alive = TRY(flag_option(s, SOL_SOCKET, SO_KEEPALIVE));
    t.no_delay = TRY(flag_option(s, IPPROTO_TCP, TCP_NODELAY));
    if (t.family == AF_INET6)
        t.v6_only = TRY(flag_option(s, IPPROTO_IPV6, IPV6_V6ONLY));
    if (!t.established) {
        auto const* fresh = TRY(defaults.of(s, t.family, SOCK_STREAM, IPPROTO_TCP));
        auto sizes = TRY(read_buffer_sizes(s, { fresh->send_buffer, fresh->receive_buffer }));
        t.send_buffer = sizes.send;
        t.receive_buffer = sizes.receive;
    }
    return {};
}

// Options set on the new socket before bind (IPV6_V6ONLY must come first) and after.
Result<void> apply_options(FdRef s, TcpState const& t, bool before_bind)
{
    if (before_bind) {
        if (t.family == AF_INET6)
            TRY(set_flag(s, IPPROTO_IPV6, IPV6_V6ONLY, t.v6_only).context("IPV6_V6ONLY"));
        return {};
    }
    TRY(set_flag(s, SOL_SOCKET, SO_REUSEADDR, t.reuse_address).context("SO_REUSEADDR"));
    TRY(set_flag(s, SOL_SOCKET, SO_REUSEPORT, t.reuse_port).context("SO_REUSEPORT"));
    TRY(set_flag(s, SOL_SOCKET, SO_KEEPALIVE, t.keep_alive).context("SO_KEEPALIVE"));
    TRY(set_flag(s, IPPROTO_TCP, TCP_NODELAY, t.no_delay).context("TCP_NODELAY"));
    return apply_buffer_sizes(s, { t.send_buffer, t.receive_buffer });
}

sys::InetAddress local_of(TcpState const& t)
{
    return { t.family, t.local_address, t.local_port };
}

Result<Fd> open_unconnected(FileDescription const& d)
{
    auto const& t = d.tcp;
    auto s = TRY(sys::socket(t.family, SOCK_STREAM));
    TRY(apply_options(s, t, true));
    TRY(apply_options(s, t, false));
    TRY(apply_socket_options(s, d.socket_options, OptionPhase::BeforeBind));
    if (t.local_port != 0 || t.listening)
        TRY(sys::bind_inet(s, local_of(t)));
    if (t.listening)
        TRY(sys::listen(s, static_cast<int>(t.backlog)));
    TRY(apply_socket_options(s, d.socket_options, OptionPhase::AfterSetup));
    TRY(sys::set_status_flags(s, d.flags & O_NONBLOCK));
    return s;
}

// An established connection re-created in repair mode: no packet is sent until repair
// mode is left, and then only a window probe; the peer (restored the same way) goes on.
Result<Fd> open_established(FileDescription const& d, ImageReader const& image)
{
    auto const& t = d.tcp;
    std::string data;
    if (d.size) {
        data = TRY(image.read_file(file_data_name(d.id)));
        if (data.size() != d.size || t.send_queue_bytes + t.receive_queue_bytes != d.size)
            return Error::format("queued data: {} bytes, expected {}", data.size(), d.size);
    }
    auto s = TRY(sys::socket(t.family, SOCK_STREAM));
    TRY(apply_options(s, t, true));
    TRY(apply_socket_options(s, d.socket_options, OptionPhase::BeforeBind));
    TRY(set_repair(s, TCP_REPAIR_ON));
    // Sequence numbers where each queue starts; writing the queued bytes below moves them on
    // to where they were at the dump.
    // A FIN took one sequence number after the data: it is sent again once both ends exist
    // (restore_half_closed), so the numbers go back to before it.
    uint32_t send_seq = t.send_seq - (t.fin_sent ? 1 : 0);
    uint32_t receive_seq = t.receive_seq - (t.fin_received ? 1 : 0);
    TRY(set_queue(s, TCP_SEND_QUEUE));
    TRY(sys::set_socket_option(s, IPPROTO_TCP, TCP_QUEUE_SEQ,
                               static_cast<int>(send_seq - static_cast<uint32_t>(t.send_queue_bytes)))
            .context("send queue sequence"));
    TRY(set_queue(s, TCP_RECV_QUEUE));
    TRY(sys::set_socket_option(s, IPPROTO_TCP, TCP_QUEUE_SEQ,
                               static_cast<int>(receive_seq - static_cast<uint32_t>(t.receive_queue_bytes)))
            .context("receive queue sequence"));
    // In repair mode bind takes the port even though the listener holds it too.
    TRY(sys::bind_inet(s, local_of(t)));
    TRY(sys::connect_inet(s, { t.family, t.peer_address, t.peer_port }));
    if (t.timestamps_ok)
        TRY(sys::set_socket_option(s, IPPROTO_TCP, TCP_TIMESTAMP, static_cast<int>(t.timestamp))
                .context("TCP_TIMESTAMP"));
    std::vector<tcp_repair_opt> options;
    options.push_back({ TCPOPT_MAXSEG, t.mss });
    if (t.wscale_ok)
        options.push_back(
            { TCPOPT_WINDOW, static_cast<uint32_t>(t.send_wscale) | (static_cast<uint32_t>(t.receive_wscale) << 16) });
    if (t.sack_ok)
        options.push_back({ TCPOPT_SACK_PERMITTED, 0 });
    if (t.timestamps_ok)
        options.push_back({ TCPOPT_TIMESTAMP, 0 });
    TRY(sys::set_raw_option(s, IPPROTO_TCP, TCP_REPAIR_OPTIONS, options.data(), options.size() * sizeof options[0])
            .context("TCP_REPAIR_OPTIONS"));
    // Room for the queued bytes whatever the default buffer sizes.
    if (t.send_queue_bytes)
        TRY(sys::set_socket_option(s, SOL_SOCKET, SO_SNDBUFFORCE,
                                   static_cast<int>(std::min<uint64_t>(t.send_queue_bytes * 2 + (1 << 16), 1 << 30))));
    if (t.receive_queue_bytes)
        TRY(sys::set_socket_option(
            s, SOL_SOCKET, SO_RCVBUFFORCE,
            static_cast<int>(std::min<uint64_t>(t.receive_queue_bytes * 2 + (1 << 16), 1 << 30))));
    TRY(set_queue(s, TCP_SEND_QUEUE));
    TRY(sys::send_stream(s, data.substr(0, t.send_queue_bytes)).context("refill send queue"));
    TRY(set_queue(s, TCP_RECV_QUEUE));
    TRY(sys::send_stream(s, data.substr(t.send_queue_bytes)).context("refill receive queue"));
    TRY(set_queue(s, TCP_NO_QUEUE));
    // rcv_wup may not lie after the receive sequence (the kernel refuses it): with the FIN
    // taken back it may have to step back too.
    uint32_t rcv_wup = static_cast<int32_t>(t.rcv_wup - receive_seq) > 0 ? receive_seq : t.rcv_wup;
    tcp_repair_window window { t.snd_wl1, t.snd_wnd, t.max_window, t.rcv_wnd, rcv_wup };
    TRY(sys::set_raw_option(s, IPPROTO_TCP, TCP_REPAIR_WINDOW, &window, sizeof window).context("TCP_REPAIR_WINDOW"));
    return s; // still in repair mode: leave_repair once the peer exists too
}

// A client whose connection waited in a listener's accept queue: connected again through
// the restored listener (a real handshake over loopback), so that a new server end waits in
// its accept queue as before; the bytes the client had sent and not had acknowledged are
// sent again. Only the sequence numbers differ from the dump's, which no program sees.
Result<Fd> open_queued_client(FileDescription const& d, ImageReader const& image)
{
    auto const& t = d.tcp;
    if (t.receive_queue_bytes)
        return Error::format("{} bytes queued from a server that has not accepted the connection",
                             t.receive_queue_bytes);
    std::string data;
    if (d.size) {
        data = TRY(image.read_file(file_data_name(d.id)));
        if (data.size() != d.size || t.send_queue_bytes != d.size)
            return Error::format("queued data: {} bytes, expected {}", data.size(), d.size);
    }
    auto s = TRY(sys::socket(t.family, SOCK_STREAM));
    TRY(apply_options(s, t, true));
    TRY(apply_socket_options(s, d.socket_options, OptionPhase::BeforeBind));
    TRY(sys::bind_inet(s, local_of(t)));
    TRY(sys::connect_inet(s, { t.family, t.peer_address, t.peer_port }).context("connect to the listener"));
    TRY(sys::send_stream(s, data).context("send the unacknowledged bytes again"));
    TRY(apply_options(s, t, false));
    TRY(apply_socket_options(s, d.socket_options, OptionPhase::AfterSetup));
    TRY(sys::set_status_flags(s, d.flags & O_NONBLOCK));
    return s;
}

Result<int> state_of(FdRef s)
{
    return static_cast<int>(TRY(info_of(s)).tcpi_state);
}

// The end that had sent its FIN sends it again (shutdown) and both ends are waited for.
Result<void> restore_half_closed(FdRef s, FileDescription const& d, std::vector<FileDescription> const& all,
                                 std::map<uint32_t, Fd> const& fds)
{
    FileDescription const* peer = nullptr;
    for (auto const& o : all)
        if (o.kind == FileKind::TcpSocket && o.tcp.fin_received && o.tcp.local_port == d.tcp.peer_port
            && o.tcp.peer_port == d.tcp.local_port)
            peer = &o;
    if (!peer)
        return Error::make("its peer end (close-wait) is not in the image");
    TRY(sys::shutdown(s, SHUT_WR).context("shutdown"));
    for (int i = 0; i < 2000; ++i) {
        if (TRY(state_of(s)) == TCP_FIN_WAIT2 && TRY(state_of(fds.at(peer->id))) == TCP_CLOSE_WAIT)
            return {};
        std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    return Error::format("did not reach fin-wait2 (in {})", tcp_state_name(TRY(state_of(s))));
}

// Text of an address without the IPv4-mapped prefix: a dual-stack listener's connections
// show ::ffff:127.0.0.1 where their IPv4 client shows 127.0.0.1.
std::string plain_address(std::string const& address)
{
    constexpr std::string_view mapped = "::ffff:";
    if (address.starts_with(mapped) && address.find('.') != std::string::npos)
        return address.substr(mapped.size());
    return address;
}

bool same_endpoint(std::string const& a, uint16_t a_port, std::string const& b, uint16_t b_port)
{
    return a_port == b_port && plain_address(a) == plain_address(b);
}

bool is_wildcard(std::string const& address)
{
    return address == "0.0.0.0" || address == "::";
}

// Leaving repair mode sends a window probe: the peer's socket must exist by then, or the
// probe meets no socket and the answer (RST) kills the connection.
Result<void> leave_repair(FdRef s, FileDescription const& d)
{
    TRY(set_repair(s, TCP_REPAIR_OFF));
    // Leaving repair mode clears SO_REUSEADDR: the options come after it.
    TRY(apply_options(s, d.tcp, false));
    TRY(apply_socket_options(s, d.socket_options, OptionPhase::AfterSetup));
    TRY(sys::set_status_flags(s, d.flags & O_NONBLOCK));
    return {};
}

} // namespace

TcpDumpScope::TcpDumpScope(bool allow_established)
    : m_allow_established(allow_established)
    , m_outer(t_scope)
{
    t_scope = this;
}

TcpDumpScope::~TcpDumpScope()
{
    // Closing the copies: a socket of a killed process still in repair mode closes silently.
    t_scope = m_outer;
}

Result<void> TcpDumpScope::before_kill()
{
    for (auto const& s : m_connections)
        TRY(set_repair(s, TCP_REPAIR_ON));
    return {};
}

std::string tcp_summary(TcpState const& t)
{
    auto local = endpoint(t.local_address, t.local_port, t.family);
    if (t.listening)
        return fmt::format("tcp {} listening", local);
    if (t.established)
        return fmt::format("tcp {} -> {} {}{}", local, endpoint(t.peer_address, t.peer_port, t.family),
                           t.fin_sent           ? "fin-wait2"
                               : t.fin_received ? "close-wait"
                                                : "established",
                           t.accept_queued ? " (not accepted yet)" : "");
    return fmt::format("tcp {} unconnected", local);
}

Result<void> classify_tcp_socket(FdRef s, FileDescription& d, SocketDefaults& defaults)
{
    auto& t = d.tcp;
    t.family = TRY(sys::socket_option(s, SOL_SOCKET, SO_DOMAIN));
    int type = TRY(sys::socket_option(s, SOL_SOCKET, SO_TYPE));
    int protocol = TRY(sys::socket_option(s, SOL_SOCKET, SO_PROTOCOL));
    if (type != SOCK_STREAM || protocol != IPPROTO_TCP)
        return Error::format("{} sockets other than TCP are not supported yet",
                             t.family == AF_INET ? "AF_INET" : "AF_INET6");
    auto info = TRY(info_of(s));
    auto local = TRY(sys::socket_name(s));
    t.local_address = local.address;
    t.local_port = local.port;
    d.kind = FileKind::TcpSocket;
    switch (info.tcpi_state) {
    case TCP_LISTEN:
        t.listening = true;
        t.backlog = info.tcpi_sacked; // sk_max_ack_backlog for a listener
        t.pending = info.tcpi_unacked; // sk_ack_backlog
        break;
    case TCP_CLOSE:
        // A socket not yet bound or connected: rare in a checkpointed program, left for later.
        return Error::format("sockets of family {} that are neither listening nor connected are not supported yet",
                             t.family == AF_INET ? "AF_INET" : "AF_INET6");
    case TCP_ESTABLISHED:
    case TCP_FIN_WAIT2:
    case TCP_CLOSE_WAIT: {
        auto peer = TRY(sys::peer_name(s));
        t.peer_address = peer.address;
        t.peer_port = peer.port;
        t.established = true;
        t.fin_sent = info.tcpi_state == TCP_FIN_WAIT2;
        t.fin_received = info.tcpi_state == TCP_CLOSE_WAIT;
        d.path = tcp_summary(t);
        if (!t_scope || !t_scope->allows_established())
            return Error::format("established TCP connection {}:{} -> {} needs --tcp-established", local.address,
                                 local.port, endpoint(peer.address, peer.port, peer.family));
        if (!sys::is_loopback(local) || !sys::is_loopback(peer))
            return Error::format("established TCP connection {} is not over loopback (not supported yet)", d.path);
        break;
    }
    default: {
        auto where = endpoint(local.address, local.port, local.family);
        if (auto peer = sys::peer_name(s))
            where += " -> " + endpoint(peer->address, peer->port, peer->family);
        return Error::format("TCP connection {} in state {} ({}) is not supported yet", where,
                             tcp_state_name(info.tcpi_state), tcp_state_meaning(info.tcpi_state));
    }
    }
    TRY(read_options(s, t, defaults));
    d.path = tcp_summary(t);
    d.socket_options
        = TRY(collect_socket_options(s, t.family, SOCK_STREAM, IPPROTO_TCP, defaults).context("{}", d.path));
    return {};
}

Result<std::string> save_tcp_connection(int pid, int fd, FileDescription& d)
{
    if (!t_scope)
        return Error::make("established TCP connections are dumped only within a dump");
    auto& t = d.tcp;
    auto pidfd = TRY(sys::pidfd_open(pid));
    auto s = TRY(sys::pidfd_getfd(pidfd, fd));
    TRY(set_repair(s, TCP_REPAIR_ON));
    // Leave repair mode on every path (no window probe: the peer is frozen too), and put
    // back SO_REUSEADDR, which leaving repair mode clears.
    ScopeGuard leave([&] {
        (void)set_queue(s, TCP_NO_QUEUE);
        (void)set_repair(s, TCP_REPAIR_OFF_NO_WP);
        (void)set_flag(s, SOL_SOCKET, SO_REUSEADDR, t.reuse_address);
    });
    auto info = TRY(info_of(s));
    int want = t.fin_sent ? TCP_FIN_WAIT2 : t.fin_received ? TCP_CLOSE_WAIT : TCP_ESTABLISHED;
    if (info.tcpi_state != want)
        return Error::format("{} changed state to {}", d.path, tcp_state_name(info.tcpi_state));
    TRY(set_queue(s, TCP_SEND_QUEUE));
    t.send_seq = static_cast<uint32_t>(TRY(sys::socket_option(s, IPPROTO_TCP, TCP_QUEUE_SEQ)));
    uint32_t out_bytes = TRY(sys::output_queue_bytes(s));
    auto sent = TRY(sys::peek_stream(s, out_bytes).context("peek send queue"));
    if (sent.size() != out_bytes)
        return Error::format("send queue: peeked {} of {} bytes", sent.size(), out_bytes);
    TRY(set_queue(s, TCP_RECV_QUEUE));
    t.receive_seq = static_cast<uint32_t>(TRY(sys::socket_option(s, IPPROTO_TCP, TCP_QUEUE_SEQ)));
    uint32_t in_bytes = TRY(sys::input_queue_bytes(s));
    auto received = TRY(sys::peek_stream(s, in_bytes).context("peek receive queue"));
    if (received.size() != in_bytes)
        return Error::format("receive queue: peeked {} of {} bytes", received.size(), in_bytes);
    TRY(set_queue(s, TCP_NO_QUEUE));
    t.send_queue_bytes = sent.size();
    t.receive_queue_bytes = received.size();
    t.mss = static_cast<uint32_t>(TRY(sys::socket_option(s, IPPROTO_TCP, TCP_MAXSEG)));
    t.wscale_ok = (info.tcpi_options & TCPI_OPT_WSCALE) != 0;
    t.sack_ok = (info.tcpi_options & TCPI_OPT_SACK) != 0;
    t.timestamps_ok = (info.tcpi_options & TCPI_OPT_TIMESTAMPS) != 0;
    t.send_wscale = info.tcpi_snd_wscale;
    t.receive_wscale = info.tcpi_rcv_wscale;
    t.timestamp = static_cast<uint32_t>(TRY(sys::socket_option(s, IPPROTO_TCP, TCP_TIMESTAMP)));
    tcp_repair_window window {};
    TRY(sys::get_raw_option(s, IPPROTO_TCP, TCP_REPAIR_WINDOW, &window, sizeof window).context("TCP_REPAIR_WINDOW"));
    t.snd_wl1 = window.snd_wl1;
    t.snd_wnd = window.snd_wnd;
    t.max_window = window.max_window;
    t.rcv_wnd = window.rcv_wnd;
    t.rcv_wup = window.rcv_wup;
    t_scope->m_connections.push_back(TRY(sys::dup(s))); // `s` itself leaves repair mode below
    return sent + received;
}

namespace {

// The body of mark_accept_queued for the accept queues.
Result<void> find_waiting_connections(int pid, std::vector<FileDescription*> const& sockets)
{
    bool any_listener = std::any_of(sockets.begin(), sockets.end(), [](auto* d) { return d->tcp.listening; });
    if (!any_listener)
        return {};
    // The tree's network namespace (a container's own), not necessarily cryo's.
    auto netns = TRY(sys::open(fmt::format("/proc/{}/ns/net", pid), O_RDONLY | O_CLOEXEC).context("network namespace"));
    uint32_t states = (1U << TCP_ESTABLISHED) | (1U << TCP_CLOSE_WAIT) | (1U << TCP_SYN_RECV);
    for (auto const* listener : sockets) {
        auto const& l = listener->tcp;
        if (!l.listening)
            continue;
        auto found = TRY(sys::tcp_sockets_on_port(netns, l.family, l.local_port, states)
                             .context("connections of {}", tcp_summary(l)));
        for (auto const& server_end : found) {
            // With a file, it was accepted (by a process of the tree, or not: then its
            // client's connection is one to outside the tree, handled as such).
            if (server_end.inode != 0)
                continue;
            if (!is_wildcard(l.local_address)
                && plain_address(server_end.local.address) != plain_address(l.local_address))
                continue;
            auto what = fmt::format("connection {} -> {} waiting in the accept queue of {}",
                                    endpoint(server_end.peer.address, server_end.peer.port, server_end.peer.family),
                                    endpoint(server_end.local.address, server_end.local.port, server_end.local.family),
                                    tcp_summary(l));
            if (server_end.state == TCP_SYN_RECV)
                return Error::format("{}: handshake not finished (not supported)", what);
            if (server_end.state == TCP_CLOSE_WAIT)
                return Error::format("{}: already closed by its client (not supported)", what);
            if (server_end.receive_queue)
                return Error::format("{}: the {} bytes it received cannot be read without accepting it (not supported)",
                                     what, server_end.receive_queue);
            bool client_found = false;
            for (auto* d : sockets) {
                auto& c = d->tcp;
                if (c.established
                    && same_endpoint(c.local_address, c.local_port, server_end.peer.address, server_end.peer.port)
                    && same_endpoint(c.peer_address, c.peer_port, server_end.local.address, server_end.local.port)) {
                    c.accept_queued = true;
                    d->path = tcp_summary(c);
                    client_found = true;
                }
            }
            if (!client_found)
                return Error::format("{}: its client is not in the dumped tree (not supported)", what);
        }
    }
    return {};
}

// A half-closed connection comes back only with both ends (restore_half_closed).
Result<void> check_half_closed(std::vector<FileDescription*> const& sockets)
{
    for (auto const* d : sockets) {
        auto const& t = d->tcp;
        if (!t.fin_sent && !t.fin_received)
            continue;
        bool paired = std::any_of(sockets.begin(), sockets.end(), [&](auto const* o) {
            return o->tcp.established && o->tcp.fin_sent == t.fin_received && o->tcp.fin_received == t.fin_sent
                && same_endpoint(o->tcp.local_address, o->tcp.local_port, t.peer_address, t.peer_port)
                && same_endpoint(o->tcp.peer_address, o->tcp.peer_port, t.local_address, t.local_port);
        });
        if (!paired)
            return Error::format("{}: half closed, and its peer end is not in the dumped tree (not supported)",
                                 tcp_summary(t));
    }
    return {};
}

} // namespace

Result<void> mark_accept_queued(int pid, std::vector<FileDescription*> const& sockets)
{
    TRY(find_waiting_connections(pid, sockets));
    return check_half_closed(sockets);
}

Result<void> open_tcp_sockets(std::vector<FileDescription> const& descriptions, ImageReader const& image,
                              std::map<uint32_t, Fd>& fds)
{
    // Listeners and unconnected sockets first: an established socket shares the port of the
    // listener it was accepted from, which a normal bind/listen would then refuse.
    for (int pass = 0; pass < 2; ++pass)
        for (auto const& d : descriptions) {
            if (d.kind != FileKind::TcpSocket || d.tcp.established != (pass == 1) || d.tcp.accept_queued)
                continue;
            auto what = [&] { return fmt::format("file description {} ({})", d.id, tcp_summary(d.tcp)); };
            fds[d.id] = pass == 0 ? TRY(open_unconnected(d).context("{}", what()))
                                  : TRY(open_established(d, image).context("{}", what()));
        }
    // Every connection exists (in repair mode): now they may send.
    for (auto const& d : descriptions)
        if (d.kind == FileKind::TcpSocket && d.tcp.established && !d.tcp.accept_queued)
            TRY(leave_repair(fds.at(d.id), d).context("file description {} ({})", d.id, tcp_summary(d.tcp)));
    // Half-closed connections: the end that had shut down its sending side does it again,
    // which sends the FIN to its (restored) peer; both settle in FIN-WAIT2 / CLOSE-WAIT.
    for (auto const& d : descriptions)
        if (d.kind == FileKind::TcpSocket && d.tcp.fin_sent)
            TRY(restore_half_closed(fds.at(d.id), d, descriptions, fds)
                    .context("file description {} ({})", d.id, tcp_summary(d.tcp)));
    // Then the connections that waited in an accept queue: through their listener, now back.
    for (auto const& d : descriptions)
        if (d.kind == FileKind::TcpSocket && d.tcp.accept_queued)
            fds[d.id] = TRY(open_queued_client(d, image).context("file description {} ({})", d.id, tcp_summary(d.tcp)));
    return {};
}

void encode_tcp(FileDescription const& d, nlohmann::json& e)
{
    auto const& t = d.tcp;
    nlohmann::json j = { { "family", t.family == AF_INET6 ? "ipv6" : "ipv4" },
                         { "local", { t.local_address, t.local_port } },
                         { "listening", t.listening },
                         { "established", t.established },
                         { "options",
                           { { "reuse_address", t.reuse_address },
                             { "reuse_port", t.reuse_port },
                             { "no_delay", t.no_delay },
                             { "keep_alive", t.keep_alive },
                             { "v6_only", t.v6_only },
                             { "send_buffer", t.send_buffer },
                             { "receive_buffer", t.receive_buffer } } } };
    if (t.listening) {
        j["backlog"] = t.backlog;
        j["pending"] = t.pending;
    }
    if (t.established) {
        j["peer"] = { t.peer_address, t.peer_port };
        if (t.accept_queued)
            j["accept_queued"] = true;
        if (t.fin_sent)
            j["fin_sent"] = true;
        if (t.fin_received)
            j["fin_received"] = true;
        j["repair"] = { { "send_seq", t.send_seq },
                        { "receive_seq", t.receive_seq },
                        { "send_queue", t.send_queue_bytes },
                        { "receive_queue", t.receive_queue_bytes },
                        { "mss", t.mss },
                        { "wscale", { t.wscale_ok, t.send_wscale, t.receive_wscale } },
                        { "sack", t.sack_ok },
                        { "timestamps", t.timestamps_ok },
                        { "timestamp", t.timestamp },
                        { "window", { t.snd_wl1, t.snd_wnd, t.max_window, t.rcv_wnd, t.rcv_wup } } };
    }
    e["tcp"] = std::move(j);
}

void decode_tcp(nlohmann::json const& e, FileDescription& d)
{
    auto const& j = e.at("tcp");
    auto& t = d.tcp;
    t.family = j.value("family", "ipv4") == "ipv6" ? AF_INET6 : AF_INET;
    auto local = j.at("local");
    t.local_address = local.at(0).get<std::string>();
    t.local_port = local.at(1).get<uint16_t>();
    t.listening = j.value("listening", false);
    t.established = j.value("established", false);
    t.backlog = j.value("backlog", 0u);
    t.pending = j.value("pending", 0u);
    if (j.contains("options")) {
        auto const& o = j["options"];
        t.reuse_address = o.value("reuse_address", false);
        t.reuse_port = o.value("reuse_port", false);
        t.no_delay = o.value("no_delay", false);
        t.keep_alive = o.value("keep_alive", false);
        t.v6_only = o.value("v6_only", false);
        t.send_buffer = o.value("send_buffer", 0u);
        t.receive_buffer = o.value("receive_buffer", 0u);
    }
    if (t.established) {
        auto peer = j.at("peer");
        t.peer_address = peer.at(0).get<std::string>();
        t.peer_port = peer.at(1).get<uint16_t>();
        t.accept_queued = j.value("accept_queued", false);
        t.fin_sent = j.value("fin_sent", false);
        t.fin_received = j.value("fin_received", false);
        auto const& r = j.at("repair");
        t.send_seq = r.at("send_seq").get<uint32_t>();
        t.receive_seq = r.at("receive_seq").get<uint32_t>();
        t.send_queue_bytes = r.value("send_queue", uint64_t { 0 });
        t.receive_queue_bytes = r.value("receive_queue", uint64_t { 0 });
        t.mss = r.at("mss").get<uint32_t>();
        auto w = r.at("wscale");
        t.wscale_ok = w.at(0).get<bool>();
        t.send_wscale = w.at(1).get<uint8_t>();
        t.receive_wscale = w.at(2).get<uint8_t>();
        t.sack_ok = r.value("sack", false);
        t.timestamps_ok = r.value("timestamps", false);
        t.timestamp = r.value("timestamp", 0u);
        // at() throws on a short array: codec.cpp turns it into an error naming the image.
        auto const& win = r.at("window");
        t.snd_wl1 = win.at(0).get<uint32_t>();
        t.snd_wnd = win.at(1).get<uint32_t>();
        t.max_window = win.at(2).get<uint32_t>();
        t.rcv_wnd = win.at(3).get<uint32_t>();
        t.rcv_wup = win.at(4).get<uint32_t>();
    }
}

} // namespace cryo::checkpoint
