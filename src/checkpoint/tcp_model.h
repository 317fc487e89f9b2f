// The saved state of a TCP socket (FileKind::TcpSocket), part of FileDescription: addresses,
// the options that matter for a restore, and for an established connection what TCP_REPAIR
// shows (queue sequence numbers, negotiated options, window). Queued bytes live in the
// description's data file: the send queue first, then the receive queue.
#pragma once

#include <cstdint>
#include <string>

namespace cryo::checkpoint {

struct TcpState {
    int family { 0 }; // AF_INET, AF_INET6
    std::string local_address {}; // numeric text
    uint16_t local_port { 0 };
    std::string peer_address {}; // established only
    uint16_t peer_port { 0 };
    bool listening { false };
    uint32_t backlog { 0 };
    uint32_t pending { 0 }; // listening: connections not accepted yet
    bool established { false };
    // Established, and the other end still waits in the accept queue of a listener of the
    // tree (connected, not accepted yet): restored by connecting again through the restored
    // listener, which queues the connection again (docs/checkpoint-files.md).
    bool accept_queued { false };
    // Established, half closed: this end shut down its sending side and the peer acked the
    // FIN (FIN-WAIT2), or the peer did and this end has not (CLOSE-WAIT). Both ends must be
    // in the tree: restored as established with the FIN's sequence number taken back, then
    // the FIN-WAIT2 end shuts down again, which sends the FIN for real.
    bool fin_sent { false };
    bool fin_received { false };
    // Socket options (set again after the socket is re-created).
    bool reuse_address { false };
    bool reuse_port { false };
    bool no_delay { false };
    bool keep_alive { false };
    bool v6_only { false };
    // SO_SNDBUF/SO_RCVBUF when they differ from a fresh socket's (set by the program); 0: default.
    uint32_t send_buffer { 0 };
    uint32_t receive_buffer { 0 };
    // Established: sequence numbers after the last byte of each queue (TCP_QUEUE_SEQ), the
    // queued bytes, negotiated options, the timestamp clock and the window.
    uint32_t send_seq { 0 };
    uint32_t receive_seq { 0 };
    uint64_t send_queue_bytes { 0 };
    uint64_t receive_queue_bytes { 0 };
    uint32_t mss { 0 };
    uint8_t send_wscale { 0 };
    uint8_t receive_wscale { 0 };
    bool wscale_ok { false };
    bool sack_ok { false };
    bool timestamps_ok { false };
    uint32_t timestamp { 0 };
    uint32_t snd_wl1 { 0 };
    uint32_t snd_wnd { 0 };
    uint32_t max_window { 0 };
    uint32_t rcv_wnd { 0 };
    uint32_t rcv_wup { 0 };

    bool operator==(TcpState const&) const = default;
};

} // namespace cryo::checkpoint
