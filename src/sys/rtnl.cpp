#include "sys/rtnl.h"

#include <cstring>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <sys/socket.h>

#include "base/scope_guard.h"
#include "sys/file.h"
#include "sys/ns.h"

namespace cryo::sys {

namespace {

constexpr size_t align4(size_t n)
{
    return (n + 3) & ~size_t(3);
}

// A request under construction: nlmsghdr, the family header, then attributes (nested ones
// by begin/end). Lengths are patched in place; everything is copied with memcpy, so no
// pointer into the buffer is ever reinterpreted.
class Message {
public:
    Message(uint16_t type, uint16_t flags)
    {
        nlmsghdr header {};
        header.nlmsg_type = type;
        header.nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | flags);
        append(&header, sizeof header);
    }
    template<typename T>
    void append_struct(T const& value)
    {
        append(&value, sizeof value);
    }
    void attr(uint16_t type, void const* data, size_t size)
    {
        rtattr header {};
        header.rta_type = type;
        header.rta_len = static_cast<unsigned short>(sizeof header + size);
        append(&header, sizeof header);
        append(data, size);
    }
    void attr_string(uint16_t type, std::string const& value) { attr(type, value.c_str(), value.size() + 1); }
    void attr_u32(uint16_t type, uint32_t value) { attr(type, &value, sizeof value); }
    size_t begin(uint16_t type)
    {
        size_t offset = m_bytes.size();
        attr(type, nullptr, 0);
        return offset;
    }
    void end(size_t offset)
    {
        auto length = static_cast<unsigned short>(m_bytes.size() - offset);
        std::memcpy(m_bytes.data() + offset + offsetof(rtattr, rta_len), &length, sizeof length);
    }
    std::vector<uint8_t> finish()
    {
        auto length = static_cast<uint32_t>(m_bytes.size());
        std::memcpy(m_bytes.data() + offsetof(nlmsghdr, nlmsg_len), &length, sizeof length);
        return std::move(m_bytes);
    }

private:
    void append(void const* data, size_t size)
    {
        auto const* bytes = static_cast<uint8_t const*>(data);
        m_bytes.insert(m_bytes.end(), bytes, bytes + size);
        m_bytes.resize(align4(m_bytes.size()));
    }

    std::vector<uint8_t> m_bytes;
};

// Calls f(type, payload, size) for each attribute in [data, data + size).
template<typename F>
void for_each_attr(uint8_t const* data, size_t size, F&& f)
{
    while (size >= sizeof(rtattr)) {
        rtattr header;
        std::memcpy(&header, data, sizeof header);
        if (header.rta_len < sizeof header || header.rta_len > size)
            return; // malformed: stop rather than read past the message
        f(static_cast<uint16_t>(header.rta_type & NLA_TYPE_MASK), data + sizeof header, header.rta_len - sizeof header);
        size_t step = std::min(size, align4(header.rta_len));
        data += step;
        size -= step;
    }
}

std::string attr_string(uint8_t const* data, size_t size)
{
    std::string value(data, data + size);
    if (auto nul = value.find('\0'); nul != std::string::npos)
        value.resize(nul);
    return value;
}

uint32_t attr_u32(uint8_t const* data, size_t size)
{
    uint32_t value = 0;
    std::memcpy(&value, data, std::min(size, sizeof value));
    return value;
}

Result<Fd> netlink_socket()
{
    int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0)
        return Error::from_errno("socket NETLINK_ROUTE");
    Fd socket(fd);
    sockaddr_nl local {};
    local.nl_family = AF_NETLINK;
    // SAFETY: sockaddr_nl is a sockaddr of family AF_NETLINK, the layout bind expects.
    if (::bind(socket.get(), reinterpret_cast<sockaddr const*>(&local), sizeof local) < 0)
        return Error::from_errno("bind netlink socket");
    return socket;
}

std::string_view message_name(uint16_t type)
{
    switch (type) {
    case RTM_NEWLINK:
        return "RTM_NEWLINK";
    case RTM_DELLINK:
        return "RTM_DELLINK";
    case RTM_SETLINK:
        return "RTM_SETLINK";
    case RTM_GETLINK:
        return "RTM_GETLINK";
    case RTM_NEWADDR:
        return "RTM_NEWADDR";
    case RTM_GETADDR:
        return "RTM_GETADDR";
    case RTM_NEWROUTE:
        return "RTM_NEWROUTE";
    default:
        return "rtnetlink request";
    }
}

} // namespace

Result<Rtnl> Rtnl::open()
{
    return Rtnl(TRY(netlink_socket()));
}

Result<Rtnl> Rtnl::open_in(FdRef netns)
{
    // setns affects only the calling thread; the socket keeps the namespace it was made in.
    auto original = TRY(sys::open("/proc/thread-self/ns/net", O_RDONLY).context("open own network namespace"));
    TRY(sys::setns(netns, CLONE_NEWNET).context("enter network namespace"));
    ScopeGuard back([&] {
        // Staying in the container's namespace would make every later host change land in
        // the wrong place: that is not an error to propagate but a bug to stop at.
        MUST(sys::setns(original, CLONE_NEWNET).context("return to own network namespace"));
    });
    return Rtnl(TRY(netlink_socket()));
}

Result<void> Rtnl::send(std::vector<uint8_t>& message)
{
    uint32_t sequence = ++m_sequence;
    std::memcpy(message.data() + offsetof(nlmsghdr, nlmsg_seq), &sequence, sizeof sequence);
    sockaddr_nl kernel {};
    kernel.nl_family = AF_NETLINK;
    // SAFETY: sockaddr_nl is the address type of an AF_NETLINK socket.
    ssize_t sent = ::sendto(m_socket.get(), message.data(), message.size(), 0,
                            reinterpret_cast<sockaddr const*>(&kernel), sizeof kernel);
    if (sent < 0)
        return Error::from_errno("send to rtnetlink");
    if (static_cast<size_t>(sent) != message.size())
        return Error::make("send to rtnetlink: short write");
    return {};
}

namespace {

// Receives one datagram of replies from the kernel into `buffer`; returns its size.
Result<size_t> receive(FdRef socket, std::vector<uint8_t>& buffer)
{
    for (;;) {
        sockaddr_nl from {};
        socklen_t from_size = sizeof from;
        // SAFETY: sockaddr_nl is the address type of an AF_NETLINK socket.
        ssize_t got = ::recvfrom(socket.get(), buffer.data(), buffer.size(), MSG_TRUNC,
                                 reinterpret_cast<sockaddr*>(&from), &from_size);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return Error::from_errno("receive from rtnetlink");
        if (static_cast<size_t>(got) > buffer.size())
            return Error::make("receive from rtnetlink: reply larger than the buffer");
        if (from.nl_pid != 0)
            continue; // not from the kernel
        return static_cast<size_t>(got);
    }
}

// Walks the messages of one datagram: f(header, whole message bytes, size). Returns false
// when the datagram was malformed.
template<typename F>
bool for_each_message(uint8_t const* data, size_t size, F&& f)
{
    while (size >= sizeof(nlmsghdr)) {
        nlmsghdr header;
        std::memcpy(&header, data, sizeof header);
        if (header.nlmsg_len < sizeof header || header.nlmsg_len > size)
            return false;
        if (!f(header, data, static_cast<size_t>(header.nlmsg_len)))
            return true;
        size_t step = std::min(size, align4(header.nlmsg_len));
        data += step;
        size -= step;
    }
    return true;
}

int error_of(uint8_t const* message, size_t size)
{
    nlmsgerr error {};
    if (size < sizeof(nlmsghdr) + sizeof error)
        return EPROTO;
    std::memcpy(&error, message + sizeof(nlmsghdr), sizeof error);
    return -error.error;
}

} // namespace

Result<void> Rtnl::transact(std::vector<uint8_t>& message)
{
    uint16_t type = 0;
    std::memcpy(&type, message.data() + offsetof(nlmsghdr, nlmsg_type), sizeof type);
    uint16_t flags = 0;
    std::memcpy(&flags, message.data() + offsetof(nlmsghdr, nlmsg_flags), sizeof flags);
    flags |= NLM_F_ACK;
    std::memcpy(message.data() + offsetof(nlmsghdr, nlmsg_flags), &flags, sizeof flags);
    TRY(send(message));
    std::vector<uint8_t> buffer(32768);
    for (;;) {
        size_t size = TRY(receive(m_socket, buffer));
        std::optional<int> result;
        bool well_formed
            = for_each_message(buffer.data(), size, [&](nlmsghdr const& header, uint8_t const* data, size_t length) {
                  if (header.nlmsg_seq != m_sequence)
                      return true;
                  if (header.nlmsg_type == NLMSG_ERROR) {
                      result = error_of(data, length);
                      return false;
                  }
                  return true;
              });
        if (!well_formed)
            return Error::make("rtnetlink: malformed reply");
        if (result) {
            if (*result != 0)
                return Error::from_errno(*result, std::string(message_name(type)));
            return {};
        }
    }
}

Result<std::vector<std::vector<uint8_t>>> Rtnl::dump(std::vector<uint8_t>& message)
{
    uint16_t type = 0;
    std::memcpy(&type, message.data() + offsetof(nlmsghdr, nlmsg_type), sizeof type);
    TRY(send(message));
    std::vector<std::vector<uint8_t>> replies;
    std::vector<uint8_t> buffer(65536);
    for (;;) {
        size_t size = TRY(receive(m_socket, buffer));
        bool done = false;
        int error = 0;
        bool well_formed
            = for_each_message(buffer.data(), size, [&](nlmsghdr const& header, uint8_t const* data, size_t length) {
                  if (header.nlmsg_seq != m_sequence)
                      return true;
                  if (header.nlmsg_type == NLMSG_DONE) {
                      done = true;
                      return false;
                  }
                  if (header.nlmsg_type == NLMSG_ERROR) {
                      error = error_of(data, length);
                      done = true;
                      return false;
                  }
                  replies.emplace_back(data, data + length);
                  return true;
              });
        if (!well_formed)
            return Error::make("rtnetlink: malformed dump reply");
        if (error != 0)
            return Error::from_errno(error, fmt::format("{} dump", message_name(type)));
        if (done)
            return replies;
    }
}

Result<std::vector<LinkInfo>> Rtnl::links()
{
    Message request(RTM_GETLINK, NLM_F_DUMP);
    request.append_struct(ifinfomsg {});
    auto bytes = request.finish();
    auto replies = TRY(dump(bytes));
    std::vector<LinkInfo> links;
    for (auto const& reply : replies) {
        size_t header_size = NLMSG_ALIGN(sizeof(nlmsghdr));
        if (reply.size() < header_size + sizeof(ifinfomsg))
            continue;
        nlmsghdr header;
        std::memcpy(&header, reply.data(), sizeof header);
        if (header.nlmsg_type != RTM_NEWLINK)
            continue;
        ifinfomsg info;
        std::memcpy(&info, reply.data() + header_size, sizeof info);
        LinkInfo link;
        link.index = info.ifi_index;
        link.up = (info.ifi_flags & IFF_UP) != 0;
        size_t attrs = header_size + NLMSG_ALIGN(sizeof info);
        for_each_attr(reply.data() + attrs, reply.size() - attrs, [&](uint16_t type, uint8_t const* data, size_t size) {
            if (type == IFLA_IFNAME)
                link.name = attr_string(data, size);
            else if (type == IFLA_MASTER)
                link.master = static_cast<int>(attr_u32(data, size));
            else if (type == IFLA_LINKINFO)
                for_each_attr(data, size, [&](uint16_t inner, uint8_t const* value, size_t value_size) {
                    if (inner == IFLA_INFO_KIND)
                        link.kind = attr_string(value, value_size);
                });
        });
        links.push_back(std::move(link));
    }
    return links;
}

Result<std::optional<LinkInfo>> Rtnl::link(std::string const& name)
{
    // A dump and a filter: the few dozen links of a host are cheaper than a second code path.
    for (auto& link : TRY(links()))
        if (link.name == name)
            return std::optional<LinkInfo>(std::move(link));
    return std::optional<LinkInfo>();
}

Result<std::vector<Ipv4Address>> Rtnl::ipv4_addresses()
{
    Message request(RTM_GETADDR, NLM_F_DUMP);
    ifaddrmsg filter {};
    filter.ifa_family = AF_INET;
    request.append_struct(filter);
    auto bytes = request.finish();
    auto replies = TRY(dump(bytes));
    std::vector<Ipv4Address> addresses;
    for (auto const& reply : replies) {
        size_t header_size = NLMSG_ALIGN(sizeof(nlmsghdr));
        if (reply.size() < header_size + sizeof(ifaddrmsg))
            continue;
        ifaddrmsg info;
        std::memcpy(&info, reply.data() + header_size, sizeof info);
        if (info.ifa_family != AF_INET)
            continue;
        Ipv4Address address;
        address.index = static_cast<int>(info.ifa_index);
        address.prefix = info.ifa_prefixlen;
        bool have_local = false;
        size_t attrs = header_size + NLMSG_ALIGN(sizeof info);
        for_each_attr(reply.data() + attrs, reply.size() - attrs, [&](uint16_t type, uint8_t const* data, size_t size) {
            // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer's on
            // point-to-point links, and the same as IFA_LOCAL elsewhere.
            if (type == IFA_LOCAL && size >= 4) {
                std::memcpy(&address.address, data, 4);
                have_local = true;
            } else if (type == IFA_ADDRESS && size >= 4 && !have_local) {
                std::memcpy(&address.address, data, 4);
            }
        });
        addresses.push_back(address);
    }
    return addresses;
}

Result<void> Rtnl::add_bridge(std::string const& name)
{
    Message request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    request.append_struct(ifinfomsg {});
    request.attr_string(IFLA_IFNAME, name);
    auto info = request.begin(IFLA_LINKINFO);
    request.attr_string(IFLA_INFO_KIND, "bridge");
    request.end(info);
    auto bytes = request.finish();
    return transact(bytes).context("create bridge {}", name);
}

Result<void> Rtnl::add_veth(std::string const& name, std::string const& peer_name, FdRef peer_netns,
                            MacAddress const& peer_mac)
{
    Message request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    request.append_struct(ifinfomsg {});
    request.attr_string(IFLA_IFNAME, name);
    auto info = request.begin(IFLA_LINKINFO);
    request.attr_string(IFLA_INFO_KIND, "veth");
    auto data = request.begin(IFLA_INFO_DATA);
    // VETH_INFO_PEER carries a whole ifinfomsg and the peer's own attributes (veth(4)).
    auto peer = request.begin(VETH_INFO_PEER);
    request.append_struct(ifinfomsg {});
    request.attr_string(IFLA_IFNAME, peer_name);
    request.attr(IFLA_ADDRESS, peer_mac.data(), peer_mac.size());
    request.attr_u32(IFLA_NET_NS_FD, static_cast<uint32_t>(peer_netns.get()));
    request.end(peer);
    request.end(data);
    request.end(info);
    auto bytes = request.finish();
    return transact(bytes).context("create veth {}", name);
}

Result<void> Rtnl::set_master(int index, int master_index)
{
    Message request(RTM_NEWLINK, 0);
    ifinfomsg info {};
    info.ifi_index = index;
    request.append_struct(info);
    request.attr_u32(IFLA_MASTER, static_cast<uint32_t>(master_index));
    auto bytes = request.finish();
    return transact(bytes).context("attach link {} to {}", index, master_index);
}

Result<void> Rtnl::set_up(int index)
{
    Message request(RTM_NEWLINK, 0);
    ifinfomsg info {};
    info.ifi_index = index;
    info.ifi_flags = IFF_UP;
    info.ifi_change = IFF_UP;
    request.append_struct(info);
    auto bytes = request.finish();
    return transact(bytes).context("set link {} up", index);
}

Result<void> Rtnl::delete_link(int index)
{
    Message request(RTM_DELLINK, 0);
    ifinfomsg info {};
    info.ifi_index = index;
    request.append_struct(info);
    auto bytes = request.finish();
    return transact(bytes).context("delete link {}", index);
}

Result<void> Rtnl::add_ipv4_address(int index, in_addr_t address, int prefix)
{
    Message request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
    ifaddrmsg info {};
    info.ifa_family = AF_INET;
    info.ifa_prefixlen = static_cast<unsigned char>(prefix);
    info.ifa_index = static_cast<unsigned>(index);
    request.append_struct(info);
    request.attr(IFA_LOCAL, &address, sizeof address);
    request.attr(IFA_ADDRESS, &address, sizeof address);
    if (prefix < 31) {
        uint32_t host_mask = prefix == 0 ? 0xffffffffu : (1u << (32 - prefix)) - 1;
        in_addr_t broadcast = address | htonl(host_mask);
        request.attr(IFA_BROADCAST, &broadcast, sizeof broadcast);
    }
    auto bytes = request.finish();
    return transact(bytes).context("add address to link {}", index);
}

Result<void> Rtnl::add_ipv4_default_route(in_addr_t gateway)
{
    Message request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
    rtmsg route {};
    route.rtm_family = AF_INET;
    route.rtm_dst_len = 0;
    route.rtm_table = RT_TABLE_MAIN;
    route.rtm_protocol = RTPROT_BOOT;
    route.rtm_scope = RT_SCOPE_UNIVERSE;
    route.rtm_type = RTN_UNICAST;
    request.append_struct(route);
    request.attr(RTA_GATEWAY, &gateway, sizeof gateway);
    auto bytes = request.finish();
    return transact(bytes).context("add default route");
}

} // namespace cryo::sys
