// Netlink (see netlink(7)): a message builder with nested attributes, an attribute parser
// (pure, unit-tested), and cryo's one netlink socket, which sends requests, waits for their
// acks and collects dumps, for every protocol cryo speaks: rtnetlink (RtNetlink; sys/rtnl.h
// builds link, address and route operations on it) and sock_diag (sys/sock_diag.h,
// sys/inet_diag.h). A socket talks to the network namespace it was opened in, for its whole
// life; open_in() opens one in another namespace without moving the caller. Errors name the
// request and carry the kernel's errno and extended ack:
// "RTM_NEWLINK (Unknown device type): Operation not supported".
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/fd.h"

namespace cryo::sys {

// One netlink message being built: nlmsghdr, a family header (ifinfomsg, ifaddrmsg, rtmsg...),
// then attributes, each 4-byte aligned as NLMSG_ALIGN/RTA_ALIGN want.
class NetlinkMessage {
public:
    NetlinkMessage(uint16_t type, uint16_t flags);

    template<typename Header>
    void put_header(Header const& header)
    {
        put_raw(&header, sizeof header);
    }
    void put(uint16_t type, void const* data, size_t size);
    void put(uint16_t type, std::span<uint8_t const> data) { put(type, data.data(), data.size()); }
    void put_u8(uint16_t type, uint8_t value) { put(type, &value, sizeof value); }
    void put_u32(uint16_t type, uint32_t value) { put(type, &value, sizeof value); }
    void put_s32(uint16_t type, int32_t value) { put(type, &value, sizeof value); }
    void put_string(uint16_t type, std::string const& value) { put(type, value.c_str(), value.size() + 1); }
    // Opens a nested attribute (NLA_F_NESTED is not set: rtnetlink's IFLA_LINKINFO does not
    // want it); returns its offset for end_nested().
    size_t begin_nested(uint16_t type);
    void end_nested(size_t offset);

    // The finished message (its length is kept up to date); seq is set by the socket.
    std::vector<uint8_t>& bytes() { return m_bytes; }
    std::vector<uint8_t> const& bytes() const { return m_bytes; }

private:
    void put_raw(void const* data, size_t size);
    std::vector<uint8_t> m_bytes;
};

// Attributes of one message (or of a nested attribute) by type; the last one of a type wins.
// Views point into the parsed buffer.
class NetlinkAttributes {
public:
    bool has(uint16_t type) const { return m_attributes.contains(type); }
    std::span<uint8_t const> get(uint16_t type) const;
    // Typed getters check the payload's size ("attribute 3: 2 bytes, expected 4").
    Result<uint8_t> u8(uint16_t type) const;
    Result<uint32_t> u32(uint16_t type) const;
    Result<int32_t> s32(uint16_t type) const { return TRY(u32(type)); }
    // A NUL-terminated string attribute, without its NUL.
    std::string string(uint16_t type) const;
    std::map<uint16_t, std::span<uint8_t const>> const& all() const { return m_attributes; }

private:
    friend Result<NetlinkAttributes> parse_netlink_attributes(std::span<uint8_t const> data);
    std::map<uint16_t, std::span<uint8_t const>> m_attributes;
};

// Parses a run of rtattr/nlattr (type flags NLA_F_NESTED/NLA_F_NET_BYTEORDER masked off).
// A length that runs past the end is an error, never a read past it.
Result<NetlinkAttributes> parse_netlink_attributes(std::span<uint8_t const> data);

// Splits one message into its family header (which must be at least `header_size` bytes)
// and its attributes. `message` starts with the nlmsghdr.
struct ParsedNetlinkMessage {
    uint16_t type { 0 };
    std::span<uint8_t const> header; // the family header, header_size bytes
    NetlinkAttributes attributes;
};
Result<ParsedNetlinkMessage> parse_netlink_message(std::span<uint8_t const> message, size_t header_size);
// The same split of a payload handed over without its nlmsghdr (type 0): the family header,
// then the attributes from the next 4-byte boundary (sock_diag's parsers take payloads).
Result<ParsedNetlinkMessage> parse_netlink_payload(std::span<uint8_t const> payload, size_t header_size);

// "RTM_NEWLINK", for errors: an rtnetlink message type.
std::string netlink_message_name(uint16_t type);
// The same for a message of `protocol` (NETLINK_ROUTE, NETLINK_SOCK_DIAG), whose type
// numbers overlap (SOCK_DIAG_BY_FAMILY is RTM_NEWADDR's 20).
std::string netlink_message_name(int protocol, uint16_t type);

// Splits a datagram into messages (nlmsghdr included); a truncated one is an error.
Result<std::vector<std::span<uint8_t const>>> split_netlink_messages(std::span<uint8_t const> datagram);

// Collects the answers to one request from the datagrams the kernel sends back (pure:
// unit-tested with constructed datagrams). Answers to other requests (another seq) are
// skipped; data messages are kept, nlmsghdr included; NLMSG_DONE ends a dump and an ack
// ends a request; a negative ack, a negative NLMSG_DONE or a dump interrupted by a change
// (NLM_F_DUMP_INTR, errno EAGAIN) becomes an error naming the request.
class NetlinkAnswers {
public:
    NetlinkAnswers(int protocol, uint16_t request_type, uint32_t seq, bool dump)
        : m_protocol(protocol)
        , m_request_type(request_type)
        , m_seq(seq)
        , m_dump(dump)
    {
    }
    // Takes one datagram; true once the request is done.
    Result<bool> take(std::span<uint8_t const> datagram);
    std::vector<std::vector<uint8_t>>& messages() { return m_messages; }

private:
    int m_protocol;
    uint16_t m_request_type;
    uint32_t m_seq;
    bool m_dump;
    bool m_interrupted { false };
    std::vector<std::vector<uint8_t>> m_messages;
};

// A netlink socket of one protocol, bound, in the network namespace it was opened in.
class NetlinkSocket {
public:
    // A socket in the calling thread's network namespace; `protocol`: NETLINK_ROUTE,
    // NETLINK_SOCK_DIAG...
    static Result<NetlinkSocket> open(int protocol);
    // A socket in the network namespace `netns` refers to (sys::open_in_netns: on a
    // short-lived thread that joined it, unless it is the caller's own).
    static Result<NetlinkSocket> open_in(FdRef netns, int protocol);

    // Sends a request (NLM_F_REQUEST | NLM_F_ACK added) and waits for its ack; a negative
    // ack becomes an error with the kernel's errno and extended ack message, if any.
    Result<void> request(NetlinkMessage& message);
    // Sends a request expecting one answer message (RTM_GETLINK by name, RTM_GETNSID, a
    // sock_diag query by inode) and returns it, nlmsghdr included.
    Result<std::vector<uint8_t>> query(NetlinkMessage& message);
    // Sends a dump request (NLM_F_REQUEST | NLM_F_DUMP added) and returns every answer message.
    Result<std::vector<std::vector<uint8_t>>> dump(NetlinkMessage& message);

    int protocol() const { return m_protocol; }

private:
    NetlinkSocket(Fd fd, int protocol)
        : m_fd(std::move(fd))
        , m_protocol(protocol)
    {
    }
    Result<void> send(NetlinkMessage& message);
    // Reads answers to the last request until NetlinkAnswers says it is done.
    Result<std::vector<std::vector<uint8_t>>> receive(bool dump);

    Fd m_fd;
    int m_protocol { 0 };
    uint32_t m_seq { 0 };
    uint16_t m_request_type { 0 }; // of the last request, for errors
};

// A NETLINK_ROUTE socket: what sys/rtnl.h and the network code take.
class RtNetlink : public NetlinkSocket {
public:
    // A socket in the calling thread's network namespace.
    static Result<RtNetlink> open();
    // A socket in the network namespace `netns` refers to (see NetlinkSocket::open_in).
    static Result<RtNetlink> open_in(FdRef netns);

private:
    explicit RtNetlink(NetlinkSocket socket)
        : NetlinkSocket(std::move(socket))
    {
    }
};

} // namespace cryo::sys
