#include "checkpoint/task_state_codec.h"

#include <algorithm>
#include <csignal>
#include <nlohmann/json.hpp>

#include "checkpoint/codec.h"

namespace cryo::checkpoint {

using nlohmann::json;

namespace {

// The signals whose default action is a group stop (signal(7)).
bool is_stop_signal(int signal)
{
    return signal == SIGSTOP || signal == SIGTSTP || signal == SIGTTIN || signal == SIGTTOU;
}

json encode_signals(std::vector<QueuedSignal> const& signals)
{
    json out = json::array();
    for (auto const& s : signals)
        out.push_back({ { "signal", s.signal }, { "siginfo", to_hex(s.siginfo) } });
    return out;
}

Result<std::vector<QueuedSignal>> decode_signals(json const& j)
{
    std::vector<QueuedSignal> out;
    for (auto const& e : j) {
        QueuedSignal s;
        s.signal = e.at("signal").get<int>();
        s.siginfo = TRY(from_hex(e.at("siginfo").get<std::string>()).context("siginfo of signal {}", s.signal));
        if (s.signal < 1 || s.signal > 64 || s.siginfo.size() != kSiginfoSize)
            return Error::format("queued signal {}: bad signal number or siginfo of {} bytes", s.signal,
                                 s.siginfo.size());
        out.push_back(std::move(s));
    }
    return out;
}

// A seccomp program as hex of its struct sock_filter array (8 bytes per instruction,
// little-endian: code u16, jt u8, jf u8, k u32).
std::string encode_seccomp_program(std::vector<SeccompInstruction> const& program)
{
    std::vector<uint8_t> bytes;
    for (auto const& i : program) {
        uint8_t b[8] = { static_cast<uint8_t>(i.code),
                         static_cast<uint8_t>(i.code >> 8),
                         i.jt,
                         i.jf,
                         static_cast<uint8_t>(i.k),
                         static_cast<uint8_t>(i.k >> 8),
                         static_cast<uint8_t>(i.k >> 16),
                         static_cast<uint8_t>(i.k >> 24) };
        bytes.insert(bytes.end(), b, b + 8);
    }
    return to_hex(bytes);
}

Result<std::vector<SeccompInstruction>> decode_seccomp_program(std::string const& hex)
{
    auto bytes = TRY(from_hex(hex));
    // BPF_MAXINSNS: the kernel takes no longer program.
    if (bytes.empty() || bytes.size() % 8 != 0 || bytes.size() / 8 > 4096)
        return Error::format("seccomp program of {} bytes (needs 1 to 4096 instructions of 8 bytes)", bytes.size());
    std::vector<SeccompInstruction> out;
    for (size_t at = 0; at < bytes.size(); at += 8) {
        auto const* b = &bytes[at];
        out.push_back({ static_cast<uint16_t>(b[0] | b[1] << 8), b[2], b[3],
                        static_cast<uint32_t>(b[4]) | static_cast<uint32_t>(b[5]) << 8
                            | static_cast<uint32_t>(b[6]) << 16 | static_cast<uint32_t>(b[7]) << 24 });
    }
    return out;
}

} // namespace

char const* lock_kind_name(LockKind kind)
{
    return kind == LockKind::Flock ? "flock" : kind == LockKind::Posix ? "posix" : "ofd";
}

void encode_task_state(Process const& p, json& j)
{
    auto const& s = p.state;
    json task = { { "personality", s.personality },
                  { "dumpable", s.dumpable },
                  { "pdeathsig", s.pdeathsig },
                  { "child_subreaper", s.child_subreaper },
                  { "securebits", s.securebits } };
    if (!s.shared_pending.empty())
        task["pending"] = encode_signals(s.shared_pending);
    if (!s.itimers.empty()) {
        json itimers = json::array();
        for (auto const& t : s.itimers)
            itimers.push_back({ { "which", t.which }, { "value_us", t.value_us }, { "interval_us", t.interval_us } });
        task["itimers"] = std::move(itimers);
    }
    if (!s.posix_timers.empty()) {
        json timers = json::array();
        for (auto const& t : s.posix_timers)
            timers.push_back({ { "id", t.id },
                               { "clock", t.clock_id },
                               { "notify", t.notify },
                               { "signal", t.signal },
                               { "value", t.value },
                               { "target", t.target },
                               { "value_ns", t.value_ns },
                               { "interval_ns", t.interval_ns } });
        task["posix_timers"] = std::move(timers);
    }
    if (!s.file_locks.empty()) {
        json locks = json::array();
        for (auto const& l : s.file_locks)
            locks.push_back({ { "kind", lock_kind_name(l.kind) },
                              { "write", l.write },
                              { "fd", l.fd },
                              { "start", l.start },
                              { "length", l.length } });
        task["file_locks"] = std::move(locks);
    }
    if (s.zombie)
        task["zombie"] = { { "exit_status", s.exit_status } };
    if (s.stop_signal)
        task["stopped"] = { { "signal", s.stop_signal } };
    if (!s.seccomp_filters.empty()) {
        json filters = json::array();
        for (auto const& f : s.seccomp_filters)
            filters.push_back({ { "program", encode_seccomp_program(f.program) }, { "log", f.log } });
        task["seccomp_filters"] = std::move(filters);
    }
    j["task"] = std::move(task);

    auto& threads = j.at("threads");
    for (size_t i = 0; i < p.threads.size() && i < threads.size(); ++i) {
        auto const& t = p.threads[i].state;
        json e = { { "comm", t.comm },
                   { "altstack",
                     { { "sp", t.altstack.sp }, { "flags", t.altstack.flags }, { "size", t.altstack.size } } } };
        if (t.has_sched)
            e["sched"] = { { "policy", t.sched_policy },
                           { "priority", t.sched_priority },
                           { "flags", t.sched_flags },
                           { "nice", t.nice } };
        if (!t.pending.empty())
            e["pending"] = encode_signals(t.pending);
        if (t.seccomp_mode != SeccompMode::Disabled)
            e["seccomp"] = { { "mode", static_cast<int>(t.seccomp_mode) }, { "filters", t.seccomp_chain } };
        if (t.robust_list)
            e["robust_list"] = { { "head", t.robust_list->head }, { "length", t.robust_list->length } };
        threads[i]["task"] = std::move(e);
    }

    if (!p.memory_objects.empty()) {
        json objects = json::array();
        for (auto const& o : p.memory_objects) {
            json extents = json::array();
            for (auto const& e : o.extents)
                extents.push_back({ e.offset, e.length });
            objects.push_back({ { "id", o.id },
                                { "kind", to_string(o.kind) },
                                { "path", o.path },
                                { "size", o.size },
                                { "mode", o.mode },
                                { "owner", { o.uid, o.gid } },
                                { "seals", o.seals },
                                { "extents", extents } });
        }
        j["memory_objects"] = std::move(objects);
        auto& areas = j.at("areas");
        for (size_t i = 0; i < p.areas.size() && i < areas.size(); ++i)
            if (p.areas[i].object)
                areas[i]["object"] = p.areas[i].object;
    }
}

Result<void> decode_task_state(json const& j, Process& p)
{
    if (j.contains("task")) {
        auto const& t = j["task"];
        auto& s = p.state;
        s.personality = t.value("personality", 0u);
        s.dumpable = t.value("dumpable", 1);
        s.pdeathsig = t.value("pdeathsig", 0);
        s.child_subreaper = t.value("child_subreaper", false);
        s.securebits = t.value("securebits", 0u);
        if (t.contains("pending"))
            s.shared_pending = TRY(decode_signals(t["pending"]).context("pending signals"));
        for (auto const& e : t.value("itimers", json::array()))
            s.itimers.push_back(
                { e.at("which").get<int>(), e.at("value_us").get<uint64_t>(), e.at("interval_us").get<uint64_t>() });
        for (auto const& e : t.value("posix_timers", json::array())) {
            PosixTimer timer;
            timer.id = e.at("id").get<int>();
            timer.clock_id = e.at("clock").get<int>();
            timer.notify = e.at("notify").get<int>();
            timer.signal = e.value("signal", 0);
            timer.value = e.value("value", uint64_t { 0 });
            timer.target = e.value("target", 0);
            timer.value_ns = e.value("value_ns", uint64_t { 0 });
            timer.interval_ns = e.value("interval_ns", uint64_t { 0 });
            for (auto const& other : s.posix_timers)
                if (other.id == timer.id)
                    return Error::format("POSIX timer id {} appears twice", timer.id);
            if (timer.id < 0)
                return Error::format("bad POSIX timer id {}", timer.id);
            s.posix_timers.push_back(timer);
        }
        for (auto const& e : t.value("file_locks", json::array())) {
            FileLock lock;
            auto kind = e.at("kind").get<std::string>();
            if (kind == "flock")
                lock.kind = LockKind::Flock;
            else if (kind == "posix")
                lock.kind = LockKind::Posix;
            else if (kind == "ofd")
                lock.kind = LockKind::Ofd;
            else
                return Error::format("file lock: unknown kind {:?}", kind);
            lock.write = e.value("write", false);
            lock.fd = e.at("fd").get<int>();
            lock.start = e.value("start", uint64_t { 0 });
            lock.length = e.value("length", uint64_t { 0 });
            bool open = std::any_of(p.files.begin(), p.files.end(), [&](OpenFile const& f) { return f.fd == lock.fd; });
            if (!open)
                return Error::format("file lock on fd {}, which is not open", lock.fd);
            s.file_locks.push_back(lock);
        }
        if (t.contains("zombie")) {
            s.zombie = true;
            s.exit_status = t["zombie"].value("exit_status", 0);
        }
        if (t.contains("stopped")) {
            s.stop_signal = t["stopped"].value("signal", SIGSTOP);
            if (!is_stop_signal(s.stop_signal))
                return Error::format("stopped: {} is not a stop signal", s.stop_signal);
            if (s.zombie)
                return Error::format("stopped: a zombie cannot be stopped");
        }
        for (auto const& e : t.value("seccomp_filters", json::array())) {
            SeccompFilter f;
            f.program = TRY(decode_seccomp_program(e.at("program").get<std::string>())
                                .context("seccomp filter {}", s.seccomp_filters.size()));
            f.log = e.value("log", false);
            s.seccomp_filters.push_back(std::move(f));
        }
    }

    auto const& threads = j.at("threads");
    for (size_t i = 0; i < p.threads.size() && i < threads.size(); ++i) {
        if (!threads[i].contains("task"))
            continue;
        auto const& e = threads[i]["task"];
        auto& t = p.threads[i].state;
        t.comm = e.value("comm", "");
        if (e.contains("altstack")) {
            auto const& a = e["altstack"];
            t.altstack.sp = a.value("sp", uint64_t { 0 });
            t.altstack.flags = a.value("flags", 2);
            t.altstack.size = a.value("size", uint64_t { 0 });
        }
        if (e.contains("sched")) {
            auto const& s = e["sched"];
            t.has_sched = true;
            t.sched_policy = s.value("policy", 0);
            t.sched_priority = s.value("priority", 0);
            t.sched_flags = s.value("flags", uint64_t { 0 });
            t.nice = s.value("nice", 0);
        }
        if (e.contains("pending"))
            t.pending = TRY(decode_signals(e["pending"]).context("thread {} pending signals", p.threads[i].tid));
        if (e.contains("seccomp")) {
            int mode = e["seccomp"].at("mode").get<int>();
            if (mode < 1 || mode > 2)
                return Error::format("thread {}: unknown seccomp mode {}", p.threads[i].tid, mode);
            t.seccomp_mode = static_cast<SeccompMode>(mode);
            t.seccomp_chain = e["seccomp"].value("filters", std::vector<uint32_t> {});
            for (auto index : t.seccomp_chain)
                if (index >= p.state.seccomp_filters.size())
                    return Error::format("thread {}: seccomp filter {} is not in the image", p.threads[i].tid, index);
        }
        // Absent in images from before it was kept: the thread is restored without one, as then.
        if (e.contains("robust_list")) {
            auto const& r = e["robust_list"];
            RobustList list { r.at("head").get<uint64_t>(), r.at("length").get<uint64_t>() };
            // set_robust_list(2) takes exactly the kernel's sizeof(struct robust_list_head).
            if (list.length == 0 || list.length > 4096)
                return Error::format("thread {}: robust list of length {}", p.threads[i].tid, list.length);
            t.robust_list = list;
        }
    }

    for (auto const& e : j.value("memory_objects", json::array())) {
        MemoryObject o;
        o.id = e.at("id").get<uint32_t>();
        if (!memory_object_kind_from_string(e.at("kind").get<std::string>(), o.kind))
            return Error::format("memory object {}: unknown kind {:?}", o.id, e.at("kind").get<std::string>());
        o.path = e.value("path", "");
        o.size = e.at("size").get<uint64_t>();
        o.mode = e.value("mode", 0600u);
        if (e.contains("owner")) {
            auto owner = e["owner"].get<std::vector<uint32_t>>();
            if (owner.size() != 2)
                return Error::format("memory object {}: owner needs uid and gid", o.id);
            o.uid = owner[0];
            o.gid = owner[1];
        }
        o.seals = e.value("seals", 0u);
        uint64_t end = 0;
        for (auto const& x : e.value("extents", json::array())) {
            auto pair = x.get<std::vector<uint64_t>>();
            if (pair.size() != 2 || pair[0] < end || pair[1] == 0 || pair[0] + pair[1] < pair[0]
                || pair[0] + pair[1] > o.size)
                return Error::format("memory object {}: bad extent", o.id);
            o.extents.push_back({ pair[0], pair[1] });
            end = pair[0] + pair[1];
        }
        for (auto const& other : p.memory_objects)
            if (other.id == o.id || o.id == 0)
                return Error::format("memory object id {} is zero or appears twice", o.id);
        p.memory_objects.push_back(std::move(o));
    }
    auto const& areas = j.at("areas");
    for (size_t i = 0; i < p.areas.size() && i < areas.size(); ++i) {
        p.areas[i].object = areas[i].value("object", 0u);
        if (p.areas[i].object == 0)
            continue;
        bool known = std::any_of(p.memory_objects.begin(), p.memory_objects.end(),
                                 [&](MemoryObject const& o) { return o.id == p.areas[i].object; });
        if (!known)
            return Error::format("memory area {:#x}: memory object {} is not in the image", p.areas[i].start,
                                 p.areas[i].object);
    }
    return {};
}

} // namespace cryo::checkpoint
