#include "sys/netlink.h"

#include <cstring>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <sched.h>
#include <sys/socket.h>

#include "sys/ns.h"

namespace cryo::sys {

namespace {

size_t align4(size_t n)
{
    return (n + 3) & ~size_t(3);
}

nlmsghdr* header_of(std::vector<uint8_t>& bytes)
{
    // SAFETY: bytes always starts with a whole nlmsghdr (the constructor puts one) and a
    // vector's storage is suitably aligned for it.
    return reinterpret_cast<nlmsghdr*>(bytes.data());
}

template<typename T>
T load(std::span<uint8_t const> data, size_t offset = 0)
{
    T value;
    std::memcpy(&value, data.data() + offset, sizeof value);
    return value;
}

std::string protocol_name(int protocol)
{
    if (protocol == NETLINK_ROUTE)
        return "NETLINK_ROUTE";
    if (protocol == NETLINK_SOCK_DIAG)
        return "NETLINK_SOCK_DIAG";
    return fmt::format("netlink protocol {}", protocol);
}

// Open a netlink socket of `protocol`, bound, in the calling thread's network namespace.
Result<Fd> open_socket(int protocol)
{
    int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
    if (fd < 0)
        return Error::from_errno(fmt::format("socket {}", protocol_name(protocol)));
    Fd owned(fd);
    int one = 1;
    // Extended acks carry the kernel's reason in words; capped acks do not echo our request.
    ::setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
    ::setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
    sockaddr_nl address {};
    address.nl_family = AF_NETLINK;
    // SAFETY: sockaddr_nl is a sockaddr of the netlink family.
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) < 0)
        return Error::from_errno(fmt::format("bind {}", protocol_name(protocol)));
    return owned;
}

} // namespace

std::string netlink_message_name(uint16_t type)
{
    switch (type) {
    case RTM_NEWLINK:
        return "RTM_NEWLINK";
    case RTM_DELLINK:
        return "RTM_DELLINK";
    case RTM_GETLINK:
        return "RTM_GETLINK";
    case RTM_SETLINK:
        return "RTM_SETLINK";
    case RTM_NEWADDR:
        return "RTM_NEWADDR";
    case RTM_DELADDR:
        return "RTM_DELADDR";
    case RTM_GETADDR:
        return "RTM_GETADDR";
    case RTM_NEWROUTE:
        return "RTM_NEWROUTE";
    case RTM_DELROUTE:
        return "RTM_DELROUTE";
    case RTM_GETROUTE:
        return "RTM_GETROUTE";
    case RTM_GETNSID:
        return "RTM_GETNSID";
    default:
        return fmt::format("rtnetlink message {}", type);
    }
}

std::string netlink_message_name(int protocol, uint16_t type)
{
    if (protocol == NETLINK_ROUTE)
        return netlink_message_name(type);
    if (protocol == NETLINK_SOCK_DIAG && type == SOCK_DIAG_BY_FAMILY)
        return "SOCK_DIAG_BY_FAMILY";
    if (protocol == NETLINK_SOCK_DIAG && type == SOCK_DESTROY)
        return "SOCK_DESTROY";
    return fmt::format("{} message {}", protocol_name(protocol), type);
}

NetlinkMessage::NetlinkMessage(uint16_t type, uint16_t flags)
{
    nlmsghdr header {};
    header.nlmsg_len = sizeof header;
    header.nlmsg_type = type;
    header.nlmsg_flags = flags;
    put_raw(&header, sizeof header);
}

void NetlinkMessage::put_raw(void const* data, size_t size)
{
    auto const* p = static_cast<uint8_t const*>(data);
    m_bytes.insert(m_bytes.end(), p, p + size);
    m_bytes.resize(align4(m_bytes.size()), 0);
    header_of(m_bytes)->nlmsg_len = static_cast<uint32_t>(m_bytes.size());
}

void NetlinkMessage::put(uint16_t type, void const* data, size_t size)
{
    rtattr attribute {};
    attribute.rta_len = static_cast<unsigned short>(RTA_LENGTH(size));
    attribute.rta_type = type;
    auto const* p = reinterpret_cast<uint8_t const*>(&attribute); // SAFETY: viewing a POD as bytes
    m_bytes.insert(m_bytes.end(), p, p + sizeof attribute);
    put_raw(data, size);
}

size_t NetlinkMessage::begin_nested(uint16_t type)
{
    size_t offset = m_bytes.size();
    put(type, nullptr, 0);
    return offset;
}

void NetlinkMessage::end_nested(size_t offset)
{
    auto length = static_cast<unsigned short>(m_bytes.size() - offset);
    std::memcpy(m_bytes.data() + offset + offsetof(rtattr, rta_len), &length, sizeof length);
}

std::span<uint8_t const> NetlinkAttributes::get(uint16_t type) const
{
    auto it = m_attributes.find(type);
    return it == m_attributes.end() ? std::span<uint8_t const> {} : it->second;
}

Result<uint8_t> NetlinkAttributes::u8(uint16_t type) const
{
    auto data = get(type);
    if (data.size() < 1)
        return Error::format("attribute {}: {} bytes, expected 1", type, data.size());
    return data[0];
}

Result<uint32_t> NetlinkAttributes::u32(uint16_t type) const
{
    auto data = get(type);
    if (data.size() != 4)
        return Error::format("attribute {}: {} bytes, expected 4", type, data.size());
    return load<uint32_t>(data);
}

std::string NetlinkAttributes::string(uint16_t type) const
{
    auto data = get(type);
    // SAFETY: bytes of a string attribute viewed as chars.
    std::string_view text(reinterpret_cast<char const*>(data.data()), data.size());
    auto nul = text.find('\0');
    return std::string(nul == std::string_view::npos ? text : text.substr(0, nul));
}

Result<NetlinkAttributes> parse_netlink_attributes(std::span<uint8_t const> data)
{
    NetlinkAttributes out;
    size_t offset = 0;
    while (offset + sizeof(rtattr) <= data.size()) {
        auto attribute = load<rtattr>(data, offset);
        if (attribute.rta_len < sizeof(rtattr) || offset + attribute.rta_len > data.size())
            return Error::format("netlink attribute {} at offset {}: length {} runs past the {} bytes",
                                 attribute.rta_type, offset, attribute.rta_len, data.size());
        uint16_t type = attribute.rta_type & NLA_TYPE_MASK;
        out.m_attributes[type] = data.subspan(offset + sizeof(rtattr), attribute.rta_len - sizeof(rtattr));
        offset += align4(attribute.rta_len);
    }
    return out;
}

Result<ParsedNetlinkMessage> parse_netlink_payload(std::span<uint8_t const> payload, size_t header_size)
{
    if (payload.size() < header_size)
        return Error::format("netlink payload of {} bytes is shorter than its {}-byte header", payload.size(),
                             header_size);
    ParsedNetlinkMessage out;
    out.header = payload.subspan(0, header_size);
    size_t attributes_offset = align4(header_size);
    if (attributes_offset < payload.size())
        out.attributes = TRY(parse_netlink_attributes(payload.subspan(attributes_offset)));
    return out;
}

Result<ParsedNetlinkMessage> parse_netlink_message(std::span<uint8_t const> message, size_t header_size)
{
    if (message.size() < sizeof(nlmsghdr))
        return Error::format("netlink message of {} bytes is shorter than its header", message.size());
    auto header = load<nlmsghdr>(message);
    if (header.nlmsg_len > message.size() || header.nlmsg_len < NLMSG_LENGTH(header_size))
        return Error::format("netlink message type {}: length {} does not fit ({} bytes, header {})", header.nlmsg_type,
                             header.nlmsg_len, message.size(), header_size);
    auto out = TRY(parse_netlink_payload(message.subspan(NLMSG_HDRLEN, header.nlmsg_len - NLMSG_HDRLEN), header_size));
    out.type = header.nlmsg_type;
    return out;
}

Result<std::vector<std::span<uint8_t const>>> split_netlink_messages(std::span<uint8_t const> datagram)
{
    std::vector<std::span<uint8_t const>> out;
    size_t offset = 0;
    while (offset + sizeof(nlmsghdr) <= datagram.size()) {
        auto header = load<nlmsghdr>(datagram, offset);
        if (header.nlmsg_len < sizeof(nlmsghdr) || offset + header.nlmsg_len > datagram.size())
            return Error::format("netlink message at offset {}: length {} runs past the {} bytes", offset,
                                 header.nlmsg_len, datagram.size());
        out.push_back(datagram.subspan(offset, header.nlmsg_len));
        offset += NLMSG_ALIGN(header.nlmsg_len);
    }
    return out;
}

Result<bool> NetlinkAnswers::take(std::span<uint8_t const> datagram)
{
    auto what = [&] { return netlink_message_name(m_protocol, m_request_type) + (m_dump ? " dump" : ""); };
    for (auto message : TRY(split_netlink_messages(datagram))) {
        auto header = load<nlmsghdr>(message);
        if (header.nlmsg_seq != m_seq)
            continue; // an answer to an earlier request we gave up on
        if (header.nlmsg_flags & NLM_F_DUMP_INTR)
            m_interrupted = true;
        if (header.nlmsg_type == NLMSG_DONE) {
            if (message.size() >= NLMSG_LENGTH(sizeof(int)) && load<int>(message, NLMSG_HDRLEN) < 0)
                return Error::from_errno(-load<int>(message, NLMSG_HDRLEN), what());
            if (m_interrupted)
                return Error::from_errno(EAGAIN, fmt::format("{} interrupted by a change", what()));
            return true;
        }
        if (header.nlmsg_type == NLMSG_ERROR) {
            if (message.size() < NLMSG_LENGTH(sizeof(nlmsgerr)))
                return Error::format("{}: the kernel's error message is truncated", what());
            auto error = load<nlmsgerr>(message, NLMSG_HDRLEN);
            if (error.error == 0) {
                if (!m_dump)
                    return true;
                continue;
            }
            std::string reason;
            if (header.nlmsg_flags & NLM_F_ACK_TLVS) {
                size_t tlv = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nlmsgerr));
                if (tlv < header.nlmsg_len) {
                    auto attributes = parse_netlink_attributes(message.subspan(tlv, header.nlmsg_len - tlv));
                    if (attributes && attributes->has(NLMSGERR_ATTR_MSG))
                        reason = attributes->string(NLMSGERR_ATTR_MSG);
                }
            }
            // "RTM_NEWLINK (Unknown device type): Operation not supported"
            return Error::from_errno(-error.error, reason.empty() ? what() : fmt::format("{} ({})", what(), reason));
        }
        m_messages.emplace_back(message.begin(), message.end());
    }
    return false;
}

Result<NetlinkSocket> NetlinkSocket::open(int protocol)
{
    return NetlinkSocket(TRY(open_socket(protocol)), protocol);
}

Result<NetlinkSocket> NetlinkSocket::open_in(FdRef netns, int protocol)
{
    return NetlinkSocket(TRY(open_in_netns(netns, [protocol] { return open_socket(protocol); })), protocol);
}

Result<RtNetlink> RtNetlink::open()
{
    return RtNetlink(TRY(NetlinkSocket::open(NETLINK_ROUTE)));
}

Result<RtNetlink> RtNetlink::open_in(FdRef netns)
{
    return RtNetlink(TRY(NetlinkSocket::open_in(netns, NETLINK_ROUTE)));
}

Result<void> NetlinkSocket::send(NetlinkMessage& message)
{
    auto* header = header_of(message.bytes());
    header->nlmsg_seq = ++m_seq;
    m_request_type = header->nlmsg_type;
    sockaddr_nl kernel {};
    kernel.nl_family = AF_NETLINK;
    ssize_t n;
    do {
        // SAFETY: sockaddr_nl is a sockaddr of the netlink family.
        n = ::sendto(m_fd.get(), message.bytes().data(), message.bytes().size(), 0,
                     reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return Error::from_errno(fmt::format("send {}", netlink_message_name(m_protocol, m_request_type)));
    return {};
}

Result<std::vector<std::vector<uint8_t>>> NetlinkSocket::receive(bool dump)
{
    NetlinkAnswers answers(m_protocol, m_request_type, m_seq, dump);
    std::vector<uint8_t> buffer(64 * 1024);
    auto failed = [&] {
        return Error::from_errno(fmt::format("receive {} answer", netlink_message_name(m_protocol, m_request_type)));
    };
    for (;;) {
        // Peek at the size first: a dump datagram (or a unix listener's long accept queue)
        // may exceed any fixed buffer.
        ssize_t n = ::recv(m_fd.get(), buffer.data(), 0, MSG_PEEK | MSG_TRUNC);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return failed();
        if (static_cast<size_t>(n) > buffer.size())
            buffer.resize(static_cast<size_t>(n));
        sockaddr_nl from {};
        socklen_t from_size = sizeof from;
        // SAFETY: sockaddr_nl is a sockaddr of the netlink family.
        n = ::recvfrom(m_fd.get(), buffer.data(), buffer.size(), 0, reinterpret_cast<sockaddr*>(&from), &from_size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return failed();
        if (from.nl_pid != 0)
            continue; // not from the kernel
        if (TRY(answers.take(std::span<uint8_t const>(buffer.data(), static_cast<size_t>(n)))))
            return std::move(answers.messages());
    }
}

Result<void> NetlinkSocket::request(NetlinkMessage& message)
{
    header_of(message.bytes())->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
    TRY(send(message));
    TRY(receive(false));
    return {};
}

Result<std::vector<uint8_t>> NetlinkSocket::query(NetlinkMessage& message)
{
    header_of(message.bytes())->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
    TRY(send(message));
    auto answers = TRY(receive(false));
    if (answers.size() != 1)
        return Error::format("{}: {} answers, expected 1", netlink_message_name(m_protocol, m_request_type),
                             answers.size());
    return std::move(answers[0]);
}

Result<std::vector<std::vector<uint8_t>>> NetlinkSocket::dump(NetlinkMessage& message)
{
    header_of(message.bytes())->nlmsg_flags |= NLM_F_REQUEST | NLM_F_DUMP;
    // A dump that raced with a change says so (NLM_F_DUMP_INTR): take it again.
    for (int attempt = 0;; ++attempt) {
        TRY(send(message));
        auto answers = receive(true);
        if (answers || !answers.error().is_errno(EAGAIN) || attempt == 4)
            return answers;
    }
}

} // namespace cryo::sys
