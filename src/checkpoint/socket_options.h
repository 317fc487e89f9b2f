// Socket options kept across checkpoint/restore, as data: a table of the options cryo knows
// (level, name, value kind, which sockets they apply to, when a restore sets them), a
// `collect` that keeps only the values differing from a fresh socket's of the same family,
// type and protocol (images stay small and portable), and an `apply` that sets them again.
// Images name options by their table name ("SO_RCVTIMEO"), never by number.
// Options already kept elsewhere (SO_REUSEADDR/PORT, SO_BROADCAST, IPV6_V6ONLY, SO_SNDBUF/
// SO_RCVBUF, TCP_NODELAY, SO_KEEPALIVE on TCP) are not in the table.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <sys/types.h>
#include <vector>

#include "base/error.h"
#include "base/fd.h"
#include "checkpoint/files.h"

namespace cryo::checkpoint {

enum class OptionKind {
    Int,
    Bool, // saved as 0/1
    Timeval, // struct timeval, saved in microseconds
    Linger, // struct linger: value = l_onoff, seconds = l_linger
    String, // a name: TCP_CONGESTION, SO_BINDTODEVICE
};

// Which sockets an option applies to (bits).
enum SocketClassBits : uint8_t {
    kTcp4 = 1,
    kTcp6 = 2,
    kUdp4 = 4,
    kUdp6 = 8,
    kUnix = 16,
};

// When a restore sets it: before bind/listen/connect, or once the socket is where it was.
enum class OptionPhase { BeforeBind, AfterSetup };

struct SocketOptionSpec {
    char const* name;
    int level;
    int option;
    OptionKind kind;
    uint8_t applies; // SocketClassBits
    OptionPhase phase;
};

std::span<SocketOptionSpec const> socket_option_table();
SocketOptionSpec const* find_socket_option(std::string const& name);
// The SocketClassBits bit of a socket (0: none of the table's options apply).
uint8_t socket_class(int family, int type, int protocol);

// What a fresh socket shows for each option of the table, read once per network namespace and
// kind of socket (family, type, protocol) and kept for one dump: the reference of
// collect_socket_options. Many defaults are per-namespace sysctls (ip_default_ttl,
// tcp_congestion_control, keepalive times), so the fresh socket is made in the dumped
// socket's own namespace, on a short-lived thread when that is not cryo's; done per socket,
// a tree with a thousand sockets would pay that a thousand times while frozen. Owned by the
// step that collects a dump's files and passed down; not thread-safe.
class SocketDefaults {
public:
    struct Values {
        // Per table entry, in table order; nullopt: the option does not apply to this kind
        // of socket or the kernel does not know it.
        std::vector<std::optional<SocketOption>> options;
        // SO_SNDBUF, SO_RCVBUF as getsockopt shows them (from per-namespace sysctls such as
        // tcp_wmem), for inet_socket.h's read_buffer_sizes.
        uint32_t send_buffer { 0 };
        uint32_t receive_buffer { 0 };
    };

    // The defaults for sockets like `socket` (same namespace) of this family/type/protocol.
    // The pointer stays valid while this object lives.
    Result<Values const*> of(FdRef socket, int family, int type, int protocol);
    // How many fresh sockets were made so far (one per namespace and kind).
    size_t fresh_sockets() const { return m_values.size(); }

private:
    struct Key {
        dev_t netns_device { 0 }; // 0, 0: cryo's own (the kernel did not tell)
        ino_t netns_inode { 0 };
        int family { 0 };
        int type { 0 };
        int protocol { 0 };
        auto operator<=>(Key const&) const = default;
    };
    std::map<Key, Values> m_values;
};

// The options of `socket` (cryo's copy of a program's socket) that differ from a fresh
// socket's of the same family/type/protocol in its network namespace (`defaults`). Options
// the kernel does not know (ENOPROTOOPT, EOPNOTSUPP) are skipped.
Result<std::vector<SocketOption>> collect_socket_options(FdRef socket, int family, int type, int protocol,
                                                         SocketDefaults& defaults);

// Sets the options of `phase` on a restored socket. An option that cannot be set is an
// error naming it ("socket option SO_MARK: Operation not permitted").
Result<void> apply_socket_options(FdRef socket, std::vector<SocketOption> const& options, OptionPhase phase);

// For inspect and tests: "SO_RCVTIMEO=1.500000s", "SO_LINGER=on,5s", "TCP_CONGESTION=reno".
std::string to_string(SocketOption const& option);

} // namespace cryo::checkpoint
