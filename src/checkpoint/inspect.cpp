#include "checkpoint/inspect.h"

#include <cstring>
#include <map>
#include <nlohmann/json.hpp>

#include "checkpoint/codec.h"
#include "checkpoint/image.h"
#include "checkpoint/pages.h"
#include "checkpoint/socket_options.h"
#include "checkpoint/task_state_codec.h"

namespace cryo::checkpoint {

using nlohmann::json;

namespace {

std::string human(uint64_t bytes)
{
    char const* units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    double v = static_cast<double>(bytes);
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        ++u;
    }
    return u == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", v, units[u]);
}

struct KindSummary {
    int areas { 0 };
    uint64_t size { 0 };
    uint64_t dumped { 0 };
};

uint64_t dumped_bytes(Process const& p, MemoryArea const& a)
{
    uint64_t total = 0;
    for (auto const& r : p.pages) {
        uint64_t start = std::max(r.address, a.start);
        uint64_t end = std::min(r.address + r.pages * 4096, a.end);
        if (end > start)
            total += end - start;
    }
    return total;
}

size_t thread_pending(Process const& p)
{
    size_t n = 0;
    for (auto const& t : p.threads)
        n += t.state.pending.size();
    return n;
}

std::string timer_ids(Process const& p)
{
    std::string out;
    for (auto const& t : p.state.posix_timers)
        out += fmt::format("{}{}", out.empty() ? "" : " ", t.id);
    return out;
}

char const* itimer_name(int which)
{
    return which == 0 ? "real" : which == 1 ? "virtual" : "prof";
}

char const* seccomp_mode_name(SeccompMode mode)
{
    return mode == SeccompMode::Strict ? "strict" : mode == SeccompMode::Filter ? "filter" : "disabled";
}

// ", seccomp filters 0 1 (of the process's seccomp filters)", or nothing.
std::string seccomp_text(ThreadState const& ts)
{
    if (ts.seccomp_mode == SeccompMode::Disabled)
        return {};
    if (ts.seccomp_mode == SeccompMode::Strict)
        return ", seccomp strict";
    return fmt::format(", seccomp filters {}", fmt::join(ts.seccomp_chain, " "));
}

// Task state (task_model.h) for people: signals, timers, attributes, zombie, memory objects.
std::string task_state_text(Process const& p)
{
    auto const& s = p.state;
    std::string out;
    if (s.zombie)
        out += fmt::format("  zombie: exit status {:#x}\n", s.exit_status);
    if (s.stop_signal)
        out += fmt::format("  stopped: group stop by SIG{} ({}); restored stopped\n", ::sigabbrev_np(s.stop_signal),
                           s.stop_signal);
    out += fmt::format("  pending signals: {} process-wide, {} thread-directed\n", s.shared_pending.size(),
                       thread_pending(p));
    std::string itimers;
    for (auto const& t : s.itimers)
        itimers += fmt::format(" {} {}us/{}us", itimer_name(t.which), t.value_us, t.interval_us);
    out += fmt::format("  itimers:{}; POSIX timers: {}\n", itimers.empty() ? " none" : itimers,
                       s.posix_timers.empty() ? "none" : timer_ids(p));
    if (!s.file_locks.empty()) {
        std::string locks;
        for (auto const& l : s.file_locks)
            locks += fmt::format(" {} {} fd {} {}+{}", lock_kind_name(l.kind), l.write ? "write" : "read", l.fd,
                                 l.start, l.length ? std::to_string(l.length) : std::string("EOF"));
        out += fmt::format("  file locks:{}\n", locks);
    }
    out += fmt::format("  personality {:#x}, dumpable {}, pdeathsig {}, subreaper {}, securebits {:#x}\n",
                       s.personality, s.dumpable, s.pdeathsig, s.child_subreaper ? "yes" : "no", s.securebits);
    auto const& c = p.credentials;
    out += fmt::format("  uid {} gid {}, caps eff {:#x} prm {:#x} inh {:#x} bnd {:#x} amb {:#x}, no_new_privs {}\n",
                       c.uid[0], c.gid[0], c.cap_effective, c.cap_permitted, c.cap_inheritable, c.cap_bounding,
                       c.cap_ambient, c.no_new_privs ? "yes" : "no");
    for (auto const& t : p.threads) {
        auto const& ts = t.state;
        out += fmt::format("    thread {} {:?}: policy {} prio {} nice {}, altstack {}{}\n", t.tid, ts.comm,
                           ts.sched_policy, ts.sched_priority, ts.nice,
                           (ts.altstack.flags & 2) ? std::string("none")
                                                   : fmt::format("{:#x}+{}", ts.altstack.sp, ts.altstack.size),
                           seccomp_text(ts));
    }
    for (size_t i = 0; i < s.seccomp_filters.size(); ++i)
        out += fmt::format("  seccomp filter {}: {} instructions{}\n", i, s.seccomp_filters[i].program.size(),
                           s.seccomp_filters[i].log ? ", log" : "");
    for (auto const& o : p.memory_objects)
        out += fmt::format("  memory object {}: {} {} size {} ({} saved)\n", o.id, to_string(o.kind),
                           o.path.empty() ? "-" : o.path, human(o.size), human(o.saved_bytes()));
    return out;
}

json task_state_json(Process const& p)
{
    auto const& s = p.state;
    json itimers = json::array();
    for (auto const& t : s.itimers)
        itimers.push_back(
            { { "which", itimer_name(t.which) }, { "value_us", t.value_us }, { "interval_us", t.interval_us } });
    json timers = json::array();
    for (auto const& t : s.posix_timers)
        timers.push_back({ { "id", t.id },
                           { "clock", t.clock_id },
                           { "notify", t.notify },
                           { "signal", t.signal },
                           { "value_ns", t.value_ns },
                           { "interval_ns", t.interval_ns } });
    json threads = json::array();
    for (auto const& t : p.threads) {
        threads.push_back({ { "tid", t.tid },
                            { "comm", t.state.comm },
                            { "pending", t.state.pending.size() },
                            { "policy", t.state.sched_policy },
                            { "nice", t.state.nice },
                            { "altstack", !(t.state.altstack.flags & 2) } });
        if (t.state.seccomp_mode != SeccompMode::Disabled)
            threads.back()["seccomp"]
                = { { "mode", seccomp_mode_name(t.state.seccomp_mode) }, { "filters", t.state.seccomp_chain } };
        if (t.state.robust_list)
            threads.back()["robust_list"]
                = { { "head", t.state.robust_list->head }, { "length", t.state.robust_list->length } };
    }
    json seccomp_filters = json::array();
    for (auto const& f : s.seccomp_filters)
        seccomp_filters.push_back({ { "instructions", f.program.size() }, { "log", f.log } });
    json objects = json::array();
    for (auto const& o : p.memory_objects)
        objects.push_back({ { "id", o.id },
                            { "kind", to_string(o.kind) },
                            { "path", o.path },
                            { "size", o.size },
                            { "saved", o.saved_bytes() } });
    json locks = json::array();
    for (auto const& l : s.file_locks)
        locks.push_back({ { "kind", lock_kind_name(l.kind) },
                          { "write", l.write },
                          { "fd", l.fd },
                          { "start", l.start },
                          { "length", l.length } });
    json out = { { "pending", s.shared_pending.size() },
                 { "itimers", itimers },
                 { "posix_timers", timers },
                 { "file_locks", locks },
                 { "personality", s.personality },
                 { "dumpable", s.dumpable },
                 { "pdeathsig", s.pdeathsig },
                 { "child_subreaper", s.child_subreaper },
                 { "threads", threads },
                 { "memory_objects", objects } };
    if (!s.seccomp_filters.empty())
        out["seccomp_filters"] = std::move(seccomp_filters);
    if (s.zombie)
        out["zombie"] = { { "exit_status", s.exit_status } };
    if (s.stop_signal)
        out["stopped"] = { { "signal", s.stop_signal } };
    return out;
}

// "none", or the codec of the process's page file (dump --compress).
std::string page_compression(Manifest const& m, int pid)
{
    auto it = m.files.find(page_file_name(pid));
    return it == m.files.end() || it->second.compression.empty() ? "none" : it->second.compression;
}

// Unix connections waiting in an accept queue (files.h pending_connections and
// pending_listener), named by the process and fd that hold each socket.
class PendingConnections {
public:
    explicit PendingConnections(std::vector<Process> const& processes)
    {
        for (auto const& p : processes)
            for (auto const& f : p.files)
                if (auto const* d = find_description(p, f.description); d && d->kind == FileKind::UnixSocket)
                    m_holder.emplace(d->inode, fmt::format("process {} fd {}", p.pid, f.fd));
    }

    // ", listening on NAME, 2 pending connections: process 7 fd 4, process 8 fd 5" for a
    // listener with a queue; ", connecting to NAME (socket:[N] of process 7 fd 3), not
    // accepted yet" for a client waiting in one; nothing otherwise.
    std::string text(FileDescription const& d, std::vector<Process> const& processes) const
    {
        if (d.kind != FileKind::UnixSocket)
            return {};
        if (!d.pending_connections.empty()) {
            std::string clients;
            for (auto inode : d.pending_connections)
                clients += fmt::format("{}{}", clients.empty() ? "" : ", ", holder(inode));
            return fmt::format(", listening on {}, {} pending connection{}: {}", d.bound_name,
                               d.pending_connections.size(), d.pending_connections.size() == 1 ? "" : "s", clients);
        }
        if (d.pending_listener) {
            auto const* listener = listener_of(d, processes);
            return fmt::format(", connecting to {} ({}), not accepted yet", listener ? listener->bound_name : "?",
                               holder(d.pending_listener));
        }
        return {};
    }

    void add_json(FileDescription const& d, json& file) const
    {
        if (d.kind != FileKind::UnixSocket)
            return;
        if (!d.pending_connections.empty()) {
            json clients = json::array();
            for (auto inode : d.pending_connections)
                clients.push_back({ { "inode", inode }, { "held_by", holder(inode) } });
            file["pending_connections"] = std::move(clients);
        }
        if (d.pending_listener)
            file["not_accepted_by"] = { { "inode", d.pending_listener }, { "held_by", holder(d.pending_listener) } };
    }

private:
    std::string holder(uint64_t inode) const
    {
        auto it = m_holder.find(inode);
        return it == m_holder.end() ? fmt::format("socket:[{}]", inode) : it->second;
    }

    static FileDescription const* listener_of(FileDescription const& d, std::vector<Process> const& processes)
    {
        for (auto const& p : processes)
            for (auto const& other : p.file_descriptions)
                if (other.kind == FileKind::UnixSocket && other.inode == d.pending_listener)
                    return &other;
        return nullptr;
    }

    std::map<uint64_t, std::string> m_holder; // socket inode -> "process P fd F" (the lowest fd)
};

} // namespace

Result<std::string> inspect_image(std::string const& dir, InspectFormat format)
{
    auto image = TRY(ImageReader::open(dir));
    auto const& m = image.manifest();
    std::vector<Process> processes;
    for (int pid : m.pids) {
        auto text = TRY(image.read_file(process_file_name(pid)));
        processes.push_back(TRY(decode_process(text).context("image {}: {}", dir, process_file_name(pid))));
        // Page files are checked too (streamed, not kept).
        std::vector<char> buffer(1 << 20);
        for (auto& source : TRY(open_page_files(image, pid).context("image {}", dir))) {
            uint64_t left = source.expected_size();
            while (left > 0) {
                size_t n = std::min<uint64_t>(left, buffer.size());
                TRY(source.read(buffer.data(), n).context("image {}", dir));
                left -= n;
            }
            TRY(source.finish().context("image {}", dir));
        }
    }

    PendingConnections pending(processes);
    if (format == InspectFormat::Json) {
        json j;
        j["version"] = m.version;
        j["root_pid"] = m.root_pid;
        json procs = json::array();
        for (auto const& p : processes) {
            std::map<std::string, KindSummary> kinds;
            for (auto const& a : p.areas) {
                auto& k = kinds[to_string(a.kind)];
                ++k.areas;
                k.size += a.size();
                k.dumped += dumped_bytes(p, a);
            }
            json memory = json::object();
            for (auto const& [name, k] : kinds)
                memory[name] = { { "areas", k.areas }, { "size", k.size }, { "dumped", k.dumped } };
            json guards = json::array(); // areas with guard pages (MADV_GUARD_INSTALL)
            for (auto const& a : p.areas)
                if (!a.guards.empty()) {
                    json ranges = json::array();
                    for (auto const& g : a.guards)
                        ranges.push_back({ g.start, g.end });
                    guards.push_back(
                        { { "start", a.start }, { "end", a.end }, { "name", a.name }, { "ranges", ranges } });
                }
            json files = json::array();
            for (auto const& f : p.files) {
                auto const* d = find_description(p, f.description);
                files.push_back({ { "fd", f.fd },
                                  { "description", f.description },
                                  { "kind", d ? to_string(d->kind) : "?" },
                                  { "path", d ? d->path : "" },
                                  { "flags", d ? d->flags : 0 },
                                  { "cloexec", f.cloexec },
                                  { "position", d ? d->position : 0 },
                                  { "data", d ? d->size : 0 } });
                if (d)
                    pending.add_json(*d, files.back());
                if (d && !d->socket_options.empty()) {
                    json options = json::array();
                    for (auto const& o : d->socket_options)
                        options.push_back(to_string(o));
                    files.back()["socket_options"] = std::move(options);
                }
            }
            json threads = json::array();
            for (auto const& t : p.threads)
                threads.push_back(t.tid);
            procs.push_back({ { "pid", p.pid },
                              { "ppid", p.ppid },
                              { "pgid", p.pgid },
                              { "sid", p.sid },
                              { "comm", p.comm },
                              { "exe", p.mm.exe_path },
                              { "cwd", p.cwd },
                              { "threads", threads },
                              { "memory", memory },
                              { "guards", guards },
                              { "pages", p.page_count() },
                              { "page_compression", page_compression(m, p.pid) },
                              { "files", files },
                              { "signal_actions", p.signal_actions.size() },
                              { "task", task_state_json(p) } });
        }
        j["processes"] = procs;
        return j.dump(2) + "\n";
    }

    std::string out = fmt::format("image {} (format version {}), root pid {}\n", dir, m.version, m.root_pid);
    for (auto const& p : processes) {
        out += fmt::format("\nprocess {} ({}) ppid {} pgid {} sid {}, {} thread(s), exe {}\n", p.pid, p.comm, p.ppid,
                           p.pgid, p.sid, p.threads.size(), p.mm.exe_path);
        out += fmt::format("  memory: {} areas, {} in the image\n", p.areas.size(), human(p.page_count() * 4096));
        if (auto it = m.files.find(page_file_name(p.pid)); it != m.files.end() && !it->second.compression.empty())
            out += fmt::format("  page file: {} compressed with {} ({} raw)\n", human(it->second.size),
                               it->second.compression, human(it->second.raw_size));
        else if (it != m.files.end() && it->second.stripes > 1)
            out += fmt::format("  page files: {} stripes of {}\n", it->second.stripes, human(it->second.stripe_size));
        std::map<std::string, KindSummary> kinds;
        for (auto const& a : p.areas) {
            auto& k = kinds[to_string(a.kind)];
            ++k.areas;
            k.size += a.size();
            k.dumped += dumped_bytes(p, a);
        }
        out += fmt::format("    {:<18} {:>6} {:>12} {:>12}\n", "KIND", "AREAS", "SIZE", "DUMPED");
        for (auto const& [name, k] : kinds)
            out += fmt::format("    {:<18} {:>6} {:>12} {:>12}\n", name, k.areas, human(k.size), human(k.dumped));
        for (auto const& a : p.areas) {
            if (a.guards.empty())
                continue;
            uint64_t pages = 0;
            std::string ranges;
            for (auto const& g : a.guards) {
                pages += (g.end - g.start) / 4096;
                ranges += fmt::format(" {:#x}-{:#x}", g.start, g.end);
            }
            out += fmt::format("  guard pages of {:#x}-{:#x} {}: {} ({} pages)\n", a.start, a.end,
                               a.name.empty() ? "(anonymous)" : a.name, ranges.substr(1), pages);
        }
        out += fmt::format("  files: {}\n", p.files.size());
        for (auto const& f : p.files) {
            auto const* d = find_description(p, f.description);
            out += fmt::format(
                "    {:>4} {:<12} {} (description {}, pos {}{}{}{})\n", f.fd, d ? to_string(d->kind) : "?",
                d ? d->path : "", f.description, d ? d->position : 0, f.cloexec ? ", cloexec" : "",
                d && d->size ? fmt::format(", {} bytes of data", d->size) : "", d ? pending.text(*d, processes) : "");
            if (d && !d->socket_options.empty()) {
                std::string options;
                for (auto const& o : d->socket_options)
                    options += fmt::format("{}{}", options.empty() ? "" : ", ", to_string(o));
                out += fmt::format("         options: {}\n", options);
            }
        }
        out += fmt::format("  signal actions: {}, rlimits: {}\n", p.signal_actions.size(), p.rlimits.size());
        out += task_state_text(p);
    }
    return out;
}

} // namespace cryo::checkpoint
