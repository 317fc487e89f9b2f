// What a dump of an ipc or net namespace holds, as plain data, with its JSON codec and the
// pure helpers of ns_ipc.cpp / ns_net.cpp (parsers, filters, plans), all unit-tested.
// Invariants: every name here is the name inside the namespace; ids and owners are as seen
// from the initial user namespace (cryo's), so a restore from cryo gives them back exactly.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace cryo::checkpoint {

inline constexpr int kIpcSchema = 1;
inline constexpr int kNetSchema = 1;
inline constexpr char const* kIpcFile = "ipc.json";
inline constexpr char const* kNetFile = "net.json";

// ---- SysV IPC ----

// struct ipc_perm as far as it can be restored (cuid/cgid by creating as that user).
struct IpcOwner {
    int32_t key { 0 };
    uint32_t uid { 0 }, gid { 0 }, cuid { 0 }, cgid { 0 };
    uint32_t mode { 0 }; // permission bits (0777) only; shm state bits are kept apart
    bool operator==(IpcOwner const&) const = default;
};

struct ShmSegment {
    int id { 0 };
    IpcOwner owner;
    uint64_t size { 0 };
    bool destroyed { false }; // SHM_DEST: marked for removal, alive while attached
    bool locked { false }; // SHM_LOCK
    std::string data_file; // raw contents, `size` bytes, in the image directory
    uint32_t crc32c { 0 }; // of data_file
};

struct SemaphoreSet {
    int id { 0 };
    IpcOwner owner;
    std::vector<uint16_t> values;
};

struct QueuedMessage {
    int64_t type { 0 };
    std::vector<uint8_t> text;
    bool operator==(QueuedMessage const&) const = default;
};

struct MessageQueue {
    int id { 0 };
    IpcOwner owner;
    uint64_t max_bytes { 0 }; // msg_qbytes
    std::vector<QueuedMessage> messages; // in queue order
};

struct IpcState {
    // /proc/sys/kernel/<name> -> value text (shmmax, msgmnb, sem...), in kIpcSysctls order.
    std::vector<std::pair<std::string, std::string>> sysctls;
    std::vector<ShmSegment> shm;
    std::vector<SemaphoreSet> semaphores;
    std::vector<MessageQueue> queues;
};

// The ipc sysctls a namespace has of its own and that a restore writes back (before it
// creates objects). shm_rmid_forced is recorded but never restored as 1: it would destroy the
// restored segments, unattached until the processes come back, when the restoring child exits.
extern std::vector<std::string> const kIpcSysctls;

// One row of /proc/sysvipc/{shm,sem,msg}: the object's id and key (the rest is asked with
// IPC_STAT). `id_column` is "shmid", "semid" or "msqid".
struct SysvIpcEntry {
    int32_t key { 0 };
    int id { 0 };
    bool operator==(SysvIpcEntry const&) const = default;
};
Result<std::vector<SysvIpcEntry>> parse_sysvipc(std::string_view text, std::string_view id_column);

std::string encode_ipc_state(IpcState const& state);
// Contents of shm segments are not read here: they stay in their data_file.
Result<IpcState> decode_ipc_state(std::string_view text);

// ---- network ----

enum class LinkKind { Loopback, Veth };
// Where a veth's other end was at dump time.
enum class PeerPlace {
    SameNamespace, // both ends inside: re-created as a pair inside
    Caller, // in the dumping process's namespace: re-created there, named as recorded
    Elsewhere, // another namespace: re-created in the caller's, under a name of the kernel's
};

// Link flags a user sets (ip link set ... arp off / promisc on / allmulticast on /
// multicast off) that a restore gives back: IFF_NOARP | IFF_PROMISC | IFF_ALLMULTI | IFF_MULTICAST.
inline constexpr uint32_t kLinkFlags = 0x80 | 0x100 | 0x200 | 0x1000;

struct NetLinkState {
    int index { 0 };
    std::string name;
    LinkKind kind { LinkKind::Loopback };
    uint32_t mtu { 0 };
    bool up { false };
    std::string mac; // "aa:bb:cc:dd:ee:ff"
    uint32_t flags { 0 }; // the settable ones besides up: kLinkFlags
    uint32_t tx_queue_length { 0 }; // 0: not recorded
    std::string alias; // IFLA_IFALIAS
    // veth only
    PeerPlace peer_place { PeerPlace::Caller };
    int peer_index { 0 }; // in the peer's namespace
    std::string peer_name; // empty when unknown (Elsewhere)
    std::string peer_master; // bridge the outside end was attached to, or empty
    bool peer_up { false };
    uint32_t peer_mtu { 0 };
};

struct NetAddress {
    std::string link;
    int family { 0 }; // AF_INET, AF_INET6
    uint8_t prefix_length { 0 };
    uint8_t scope { 0 };
    uint32_t flags { 0 }; // IFA_F_* that a restore can set (NODAD, NOPREFIXROUTE...)
    std::string local; // IFA_LOCAL (IPv4) or IFA_ADDRESS (IPv6)
    std::string peer; // IFA_ADDRESS when it differs from IFA_LOCAL (point-to-point)
    std::string broadcast;
    std::string label;
    uint8_t protocol { 0 }; // IFA_PROTO set by whoever added it (0: none)
    uint32_t valid_lifetime { 0xffffffff }, preferred_lifetime { 0xffffffff };
};

struct NetRoute {
    int family { 0 };
    uint32_t table { 0 };
    uint8_t protocol { 0 }, scope { 0 }, type { 0 }, tos { 0 };
    uint32_t flags { 0 }; // RTNH_F_ONLINK...
    std::string destination; // empty: default route
    uint8_t destination_length { 0 };
    std::string source;
    uint8_t source_length { 0 };
    std::string gateway;
    std::string link; // output device, empty for blackhole/unreachable...
    uint32_t priority { 0 };
    bool has_priority { false };
    std::string preferred_source;
    uint8_t preference { 0 }; // RTA_PREF (IPv6 router preference); 0: absent
    bool has_preference { false };
    std::vector<std::pair<uint16_t, uint32_t>> metrics; // RTAX_* -> value
};

struct NetState {
    std::vector<NetLinkState> links;
    std::vector<NetAddress> addresses;
    std::vector<NetRoute> routes;
};

std::string encode_net_state(NetState const& state);
Result<NetState> decode_net_state(std::string_view text);

// Addresses text <-> bytes for AF_INET/AF_INET6 (inet_ntop/inet_pton) and MACs.
Result<std::string> address_to_string(int family, std::span<uint8_t const> bytes);
Result<std::vector<uint8_t>> address_from_string(int family, std::string const& text);
std::string mac_to_string(std::span<uint8_t const> bytes);
Result<std::vector<uint8_t>> mac_from_string(std::string const& text);

// A link as one RTM_NEWLINK message tells it, before the peer is resolved.
struct RawLink {
    NetLinkState state;
    std::string kind; // IFLA_INFO_KIND, "" for none (loopback has none)
    bool loopback { false }; // ARPHRD_LOOPBACK
    int link { 0 }; // IFLA_LINK (a veth's peer index)
    std::optional<int32_t> link_netnsid; // IFLA_LINK_NETNSID: the peer is in another namespace
    int master { 0 }; // IFLA_MASTER
};
// Parsers of one rtnetlink message (nlmsghdr included), pure.
Result<RawLink> parse_link_message(std::span<uint8_t const> message);
// `link_names`: ifindex -> name in the same namespace. nullopt: an address the kernel made
// itself and gives back on its own (loopback's, IPv6 link-local), which a restore skips.
Result<std::optional<NetAddress>> parse_address_message(std::span<uint8_t const> message,
                                                        std::map<int, std::string> const& link_names);
// nullopt: a route the kernel made itself (from an address or a link; protocol kernel, table
// local) and re-creates on its own. Multipath and encapsulated routes are refused.
Result<std::optional<NetRoute>> parse_route_message(std::span<uint8_t const> message,
                                                    std::map<int, std::string> const& link_names);

// Restore plan check: every address and route names a recorded link, every link kind is
// supported, a pair inside is recorded from both ends. Errors name the object.
Result<void> validate_net_state(NetState const& state);

} // namespace cryo::checkpoint
