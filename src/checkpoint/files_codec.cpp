#include "checkpoint/files_codec.h"

#include <algorithm>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <set>

#include "checkpoint/files_tcp.h"
#include "checkpoint/files_udp.h"

namespace cryo::checkpoint {

using nlohmann::json;

void encode_open_files(Process const& p, json& j)
{
    json files = json::array();
    for (auto const& f : p.files)
        files.push_back({ { "fd", f.fd }, { "description", f.description }, { "cloexec", f.cloexec } });
    j["files"] = std::move(files);

    json descriptions = json::array();
    for (auto const& d : p.file_descriptions) {
        json e = { { "id", d.id },
                   { "kind", to_string(d.kind) },
                   { "path", d.path },
                   { "flags", d.flags },
                   { "position", d.position } };
        // Kind-specific keys only where they mean something: the JSON stays readable.
        if (d.inode)
            e["inode"] = d.inode;
        if (d.mode)
            e["mode"] = d.mode;
        if (d.kind == FileKind::Deleted || d.kind == FileKind::Memfd || (d.kind == FileKind::UnixSocket && d.mode))
            e["owner"] = { d.uid, d.gid };
        if (d.size)
            e["size"] = d.size;
        if (d.pipe_size)
            e["pipe_size"] = d.pipe_size;
        if (d.kind == FileKind::Eventfd)
            e["eventfd"] = { { "count", d.eventfd_count }, { "semaphore", d.eventfd_semaphore } };
        if (d.kind == FileKind::UnixSocket)
            e["socket"] = { { "type", d.socket_type },
                            { "connected", d.connected },
                            { "peer", d.peer_inode },
                            { "shutdown", d.shutdown },
                            { "messages", d.messages },
                            { "send_buffer", d.send_buffer },
                            { "receive_buffer", d.receive_buffer },
                            { "name", d.bound_name },
                            { "listening", d.listening },
                            { "backlog", d.backlog } };
        if (!d.external_peer.empty())
            e["socket"]["external_peer"] = d.external_peer;
        if (!d.pending_connections.empty())
            e["socket"]["pending_connections"] = d.pending_connections;
        if (d.pending_listener)
            e["socket"]["pending_listener"] = d.pending_listener;
        if (d.seals)
            e["seals"] = d.seals;
        if (d.stdio_mask) {
            json numbers = json::array();
            for (int k = 0; k < 3; ++k)
                if (d.stdio_mask & (1u << k))
                    numbers.push_back(k);
            e["stdio"] = std::move(numbers);
        }
        if (d.kind == FileKind::Signalfd)
            e["signal_mask"] = d.signal_mask;
        if (d.kind == FileKind::Timerfd)
            e["timer"] = { { "clock", d.clock_id },
                           { "ticks", d.ticks },
                           { "value_ns", d.value_ns },
                           { "interval_ns", d.interval_ns } };
        if (d.kind == FileKind::Epoll) {
            json targets = json::array();
            for (auto const& t : d.epoll_targets)
                targets.push_back({ { "fd", t.fd }, { "inode", t.inode }, { "events", t.events }, { "data", t.data } });
            e["epoll"] = std::move(targets);
        }
        if (d.kind == FileKind::Inotify) {
            json watches = json::array();
            for (auto const& w : d.inotify_watches)
                watches.push_back({ { "wd", w.wd }, { "path", w.path }, { "mask", w.mask } });
            e["inotify"] = std::move(watches);
        }
        if (!d.socket_options.empty()) {
            // Options set by the program (socket_options.h): [{name, value[, seconds][, text]}].
            json options = json::array();
            for (auto const& o : d.socket_options) {
                json option = { { "name", o.name }, { "value", o.value } };
                if (o.seconds)
                    option["seconds"] = o.seconds;
                if (!o.text.empty())
                    option["text"] = o.text;
                options.push_back(std::move(option));
            }
            e["socket_options"] = std::move(options);
        }
        if (d.kind == FileKind::TcpSocket)
            encode_tcp(d, e);
        if (d.kind == FileKind::UdpSocket)
            encode_udp(d, e);
        descriptions.push_back(std::move(e));
    }
    j["file_descriptions"] = std::move(descriptions);
}

Result<void> decode_open_files(json const& j, Process& p)
{
    p.files.clear();
    p.file_descriptions.clear();
    for (auto const& e : j.value("file_descriptions", json::array())) {
        FileDescription d;
        d.id = e.at("id").get<uint32_t>();
        auto kind = e.at("kind").get<std::string>();
        if (!file_kind_from_string(kind, d.kind))
            return Error::format("file description {}: unknown kind \"{}\"", d.id, kind);
        d.path = e.value("path", "");
        d.flags = e.value("flags", 0u);
        d.position = e.value("position", uint64_t { 0 });
        d.inode = e.value("inode", uint64_t { 0 });
        d.mode = e.value("mode", 0u);
        if (e.contains("owner")) {
            auto owner = e["owner"].get<std::vector<uint32_t>>();
            if (owner.size() != 2)
                return Error::format("file description {}: owner needs uid and gid", d.id);
            d.uid = owner[0];
            d.gid = owner[1];
        }
        d.size = e.value("size", uint64_t { 0 });
        d.pipe_size = e.value("pipe_size", 0u);
        for (auto const& k : e.value("stdio", json::array())) {
            int number = k.get<int>();
            if (number < 0 || number > 2)
                return Error::format("file description {}: stdio {} is not 0, 1 or 2", d.id, number);
            d.stdio_mask |= 1u << number;
        }
        if (e.contains("eventfd")) {
            d.eventfd_count = e["eventfd"].value("count", uint64_t { 0 });
            d.eventfd_semaphore = e["eventfd"].value("semaphore", false);
        }
        if (e.contains("socket")) {
            auto const& s = e["socket"];
            d.socket_type = s.value("type", 0);
            d.connected = s.value("connected", false);
            d.peer_inode = s.value("peer", uint64_t { 0 });
            d.shutdown = s.value("shutdown", 0u);
            d.messages = s.value("messages", std::vector<uint64_t> {});
            d.send_buffer = s.value("send_buffer", 0u);
            d.receive_buffer = s.value("receive_buffer", 0u);
            d.bound_name = s.value("name", "");
            d.external_peer = s.value("external_peer", "");
            d.listening = s.value("listening", false);
            d.backlog = s.value("backlog", 0u);
            d.pending_connections = s.value("pending_connections", std::vector<uint64_t> {});
            d.pending_listener = s.value("pending_listener", uint64_t { 0 });
            if (!d.pending_connections.empty() && !d.listening)
                return Error::format("file description {}: pending connections on a socket that does not listen", d.id);
            if (std::find(d.pending_connections.begin(), d.pending_connections.end(), uint64_t { 0 })
                != d.pending_connections.end())
                return Error::format("file description {}: a pending connection without its client", d.id);
            uint64_t total = 0;
            for (auto m : d.messages)
                total += m;
            if (total != d.size)
                return Error::format("file description {}: queued messages add up to {} bytes, not {}", d.id, total,
                                     d.size);
        }
        d.seals = e.value("seals", 0u);
        d.signal_mask = e.value("signal_mask", uint64_t { 0 });
        if (e.contains("timer")) {
            auto const& t = e["timer"];
            d.clock_id = t.value("clock", 0);
            d.ticks = t.value("ticks", uint64_t { 0 });
            d.value_ns = t.value("value_ns", uint64_t { 0 });
            d.interval_ns = t.value("interval_ns", uint64_t { 0 });
        }
        for (auto const& w : e.value("inotify", json::array()))
            d.inotify_watches.push_back(
                { w.at("wd").get<int>(), w.at("path").get<std::string>(), w.at("mask").get<uint32_t>() });
        for (auto const& t : e.value("epoll", json::array()))
            d.epoll_targets.push_back({ t.at("fd").get<int>(), t.value("inode", uint64_t { 0 }),
                                        t.at("events").get<uint32_t>(), t.value("data", uint64_t { 0 }) });
        // Absent from images written before socket options were kept: nothing to set.
        for (auto const& o : e.value("socket_options", json::array()))
            d.socket_options.push_back({ o.at("name").get<std::string>(), o.at("value").get<int64_t>(),
                                         o.value("seconds", int64_t { 0 }), o.value("text", "") });
        if (d.kind == FileKind::TcpSocket)
            decode_tcp(e, d);
        if (d.kind == FileKind::UdpSocket)
            decode_udp(e, d);
        p.file_descriptions.push_back(std::move(d));
    }

    for (auto const& e : j.value("files", json::array())) {
        OpenFile f;
        f.fd = e.at("fd").get<int>();
        f.cloexec = e.value("cloexec", false);
        if (e.contains("description")) {
            f.description = e["description"].get<uint32_t>();
        } else {
            // Schema 1: the description was inline, one per fd (no sharing was recorded).
            FileDescription d;
            auto kind = e.at("kind").get<std::string>();
            if (!file_kind_from_string(kind, d.kind))
                return Error::format("fd {}: unknown file kind \"{}\"", f.fd, kind);
            d.path = e.value("path", "");
            d.flags = e.value("flags", 0u) & ~static_cast<uint32_t>(O_CLOEXEC);
            d.position = e.value("position", uint64_t { 0 });
            uint32_t top = 0;
            for (auto const& other : p.file_descriptions)
                top = std::max(top, other.id);
            d.id = top + 1;
            f.description = d.id;
            p.file_descriptions.push_back(std::move(d));
        }
        p.files.push_back(f);
    }

    std::set<uint32_t> ids;
    for (auto const& d : p.file_descriptions)
        if (!ids.insert(d.id).second)
            return Error::format("file description {} appears twice", d.id);
    std::set<int> fds;
    for (auto const& f : p.files) {
        if (f.fd < 0 || !fds.insert(f.fd).second)
            return Error::format("fd {} is negative or appears twice", f.fd);
        if (!ids.contains(f.description))
            return Error::format("fd {} refers to file description {}, which is missing", f.fd, f.description);
    }
    return {};
}

} // namespace cryo::checkpoint
