// UDP sockets (IPv4, IPv6) in checkpoints. Dump: classify_udp_socket reads the local and
// connected address and the options of a socket of a frozen process; save_udp_queue copies
// every queued datagram with its source without consuming it (SO_PEEK_OFF on a pidfd_getfd
// copy, put back after). Restore: open_udp_sockets binds every socket to its address, then
// sends each queued datagram again from a socket bound to its source (sources and
// destinations on this host), waiting for each to arrive so the order holds, and only then
// connects the connected ones (a connected socket would drop datagrams of other sources).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/error.h"
#include "base/fd.h"
#include "checkpoint/files.h"

namespace cryo::checkpoint {

class ImageReader;
class SocketDefaults;

// Dump: `socket` is cryo's copy of the fd; fills d.kind, d.udp and d.path (a summary).
// `defaults`: the dump's fresh-socket option values (socket_options.h).
Result<void> classify_udp_socket(FdRef socket, FileDescription& d, SocketDefaults& defaults);
// Dump: the queued datagrams' payloads, one after another; fills d.udp.queue.
Result<std::string> save_udp_queue(int pid, int fd, FileDescription& d);

// Restore: every UdpSocket description of `descriptions` into fds[id].
Result<void> open_udp_sockets(std::vector<FileDescription> const& descriptions, ImageReader const& image,
                              std::map<uint32_t, Fd>& fds);

// JSON: e["udp"] of a UdpSocket description.
void encode_udp(FileDescription const& d, nlohmann::json& e);
void decode_udp(nlohmann::json const& e, FileDescription& d);
// Pure (unit-tested): "udp 127.0.0.1:5000", "udp [::1]:5 -> [::1]:6, 2 queued datagrams",
// "udp unbound".
std::string udp_summary(UdpState const& u);

} // namespace cryo::checkpoint
