#include "checkpoint/pidns.h"

#include <set>

#include <nlohmann/json.hpp>

#include "sys/file.h"
#include "sys/procfs.h"

namespace cryo::checkpoint {

Result<NsPids> collect_ns_pids(ProcessTree const& tree)
{
    NsPids out;
    for (auto const& p : tree.processes) {
        for (auto const& t : p.threads) {
            auto text = TRY(sys::read_file(fmt::format("/proc/{}/task/{}/status", p.pid, t.tid)));
            auto status = TRY(sys::parse_status(text).context("status of {}/{}", p.pid, t.tid));
            // Kernels without NSpid (before 4.1) see one namespace: the id is the id.
            out.inner[t.tid] = status.ns_pid.empty() ? t.tid : status.ns_pid.back();
        }
        if (!out.inner.contains(p.pid))
            return Error::format("process {}: its leader thread was not collected", p.pid);
    }
    return out;
}

std::string encode_ns_pids(NsPids const& pids)
{
    auto j = nlohmann::json::object();
    auto& map = j["inner"] = nlohmann::json::object();
    for (auto const& [outer, inner] : pids.inner)
        map[std::to_string(outer)] = inner;
    return j.dump(1) + "\n";
}

Result<NsPids> decode_ns_pids(std::string_view text)
{
    try {
        auto j = nlohmann::json::parse(text);
        NsPids out;
        for (auto const& [key, value] : j.at("inner").items()) {
            size_t used = 0;
            int outer = std::stoi(key, &used);
            int inner = value.get<int>();
            if (used != key.size() || outer <= 0 || inner <= 0)
                return Error::format("{}: invalid entry {:?}", kNsPidsName, key);
            out.inner[outer] = inner;
        }
        return out;
    } catch (std::exception const& e) {
        return Error::format("{}: {}", kNsPidsName, e.what());
    }
}

Result<void> to_namespace_ids(std::vector<Process>& processes, NsPids const& pids)
{
    for (auto& p : processes) {
        int pid = pids.of(p.pid);
        if (!pid)
            return Error::format("{}: process {} is missing", kNsPidsName, p.pid);
        for (auto& t : p.threads) {
            t.tid = pids.of(t.tid);
            if (!t.tid)
                return Error::format("{}: a thread of process {} is missing", kNsPidsName, p.pid);
        }
        p.pid = pid;
        p.ppid = pids.of(p.ppid);
        p.pgid = pids.of(p.pgid);
        p.sid = pids.of(p.sid);
    }
    return {};
}

Result<void> check_shell_job(std::vector<Process> const& processes, bool shell_job)
{
    if (shell_job)
        return {};
    std::set<int> pids;
    for (auto const& p : processes)
        pids.insert(p.pid);
    for (auto const& p : processes) {
        if (!pids.contains(p.sid))
            return Error::format("process {} is in session {} whose leader is not in the dumped tree (a shell job): "
                                 "needs --shell-job",
                                 p.pid, p.sid);
        if (!pids.contains(p.pgid))
            return Error::format("process {} is in process group {} whose leader is not in the dumped tree (a shell "
                                 "job): needs --shell-job",
                                 p.pid, p.pgid);
    }
    return {};
}

} // namespace cryo::checkpoint
