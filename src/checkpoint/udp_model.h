// The saved state of a UDP socket (FileKind::UdpSocket), part of FileDescription: local and
// connected address, the options that matter for a restore, and the datagrams queued for
// reading, each with its source. Their payloads live in the description's data file, one
// after another in queue order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cryo::checkpoint {

struct UdpDatagram {
    std::string source_address {}; // numeric text, as recvfrom reports it
    uint16_t source_port { 0 };
    uint32_t size { 0 };

    bool operator==(UdpDatagram const&) const = default;
};

struct UdpState {
    int family { 0 }; // AF_INET, AF_INET6
    std::string local_address {};
    uint16_t local_port { 0 }; // 0: not bound
    bool connected { false };
    std::string peer_address {};
    uint16_t peer_port { 0 };
    bool reuse_address { false };
    bool reuse_port { false };
    bool broadcast { false };
    bool v6_only { false };
    // SO_SNDBUF/SO_RCVBUF when they differ from a fresh socket's; 0: default.
    uint32_t send_buffer { 0 };
    uint32_t receive_buffer { 0 };
    std::vector<UdpDatagram> queue {};

    bool operator==(UdpState const&) const = default;
};

} // namespace cryo::checkpoint
