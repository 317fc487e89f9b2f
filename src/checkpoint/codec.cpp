#include "checkpoint/codec.h"

#include <nlohmann/json.hpp>

#include "checkpoint/files_codec.h"
#include "checkpoint/task_state_codec.h"

namespace cryo::checkpoint {

using nlohmann::json;

namespace {

// Register names in user_regs_struct order; the model and the JSON keys follow it.
constexpr char const* kRegisterNames[]
    = { "r15", "r14",      "r13", "r12", "rbp",    "rbx", "r11", "r10",     "r9",      "r8", "rax", "rcx", "rdx", "rsi",
        "rdi", "orig_rax", "rip", "cs",  "eflags", "rsp", "ss",  "fs_base", "gs_base", "ds", "es",  "fs",  "gs" };
static_assert(sizeof(X86Registers) == std::size(kRegisterNames) * sizeof(uint64_t));

uint64_t* register_slots(X86Registers& regs)
{
    // SAFETY: X86Registers is a standard-layout struct of uint64_t only (asserted above).
    return reinterpret_cast<uint64_t*>(&regs);
}

json encode_registers(X86Registers regs)
{
    json j = json::object();
    uint64_t* slots = register_slots(regs);
    for (size_t i = 0; i < std::size(kRegisterNames); ++i)
        j[kRegisterNames[i]] = slots[i];
    return j;
}

X86Registers decode_registers(json const& j)
{
    X86Registers regs {};
    uint64_t* slots = register_slots(regs);
    for (size_t i = 0; i < std::size(kRegisterNames); ++i)
        slots[i] = j.value(kRegisterNames[i], uint64_t { 0 });
    return regs;
}

AreaKind area_kind_from(std::string const& s)
{
    for (auto k : { AreaKind::Anonymous, AreaKind::SharedAnonymous, AreaKind::FilePrivate, AreaKind::FileShared,
                    AreaKind::Vdso, AreaKind::Vvar, AreaKind::VvarVclock, AreaKind::Vsyscall })
        if (s == to_string(k))
            return k;
    throw std::runtime_error("unknown memory area kind \"" + s + "\"");
}

} // namespace

std::string to_hex(std::vector<uint8_t> const& bytes)
{
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (uint8_t b : bytes) {
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 15]);
    }
    return out;
}

Result<std::vector<uint8_t>> from_hex(std::string_view text)
{
    if (text.size() % 2 != 0)
        return Error::make("odd-length hex string");
    auto digit = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; };
    std::vector<uint8_t> out(text.size() / 2);
    for (size_t i = 0; i < out.size(); ++i) {
        int hi = digit(text[2 * i]), lo = digit(text[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return Error::make("bad hex digit");
        out[i] = static_cast<uint8_t>(hi << 4 | lo);
    }
    return out;
}

std::string encode_process(Process const& p)
{
    json j;
    j["schema"] = kProcessSchema;
    j["pid"] = p.pid;
    j["ppid"] = p.ppid;
    j["pgid"] = p.pgid;
    j["sid"] = p.sid;
    j["comm"] = p.comm;
    j["umask"] = p.umask;
    j["cwd"] = p.cwd;
    j["root"] = p.root;
    auto const& c = p.credentials;
    j["credentials"] = { { "uid", c.uid },
                         { "gid", c.gid },
                         { "groups", c.groups },
                         { "cap_inheritable", c.cap_inheritable },
                         { "cap_permitted", c.cap_permitted },
                         { "cap_effective", c.cap_effective },
                         { "cap_bounding", c.cap_bounding },
                         { "cap_ambient", c.cap_ambient },
                         { "no_new_privs", c.no_new_privs } };
    auto const& mm = p.mm;
    j["mm"] = { { "start_code", mm.start_code },
                { "end_code", mm.end_code },
                { "start_data", mm.start_data },
                { "end_data", mm.end_data },
                { "start_brk", mm.start_brk },
                { "brk", mm.brk },
                { "start_stack", mm.start_stack },
                { "arg_start", mm.arg_start },
                { "arg_end", mm.arg_end },
                { "env_start", mm.env_start },
                { "env_end", mm.env_end },
                { "auxv", mm.auxv },
                { "exe", mm.exe_path } };
    json areas = json::array();
    for (auto const& a : p.areas) {
        areas.push_back({ { "start", a.start },
                          { "end", a.end },
                          { "prot", std::string(a.read ? "r" : "-") + (a.write ? "w" : "-") + (a.exec ? "x" : "-") },
                          { "kind", to_string(a.kind) },
                          { "name", a.name },
                          { "offset", a.file_offset },
                          { "growsdown", a.growsdown },
                          { "huge", a.huge } });
        // An optional key (schema 2 evolution rules: no bump): absent means no guard pages,
        // which is what every older image meant.
        if (!a.guards.empty()) {
            json guards = json::array();
            for (auto const& g : a.guards)
                guards.push_back({ g.start, g.end });
            areas.back()["guards"] = std::move(guards);
        }
    }
    j["areas"] = areas;
    json pages = json::array();
    for (auto const& r : p.pages)
        pages.push_back({ r.address, r.pages });
    j["page_runs"] = pages;
    json threads = json::array();
    for (auto const& t : p.threads)
        threads.push_back(
            { { "tid", t.tid },
              { "regs", encode_registers(t.regs) },
              { "xstate", to_hex(t.xstate) },
              { "sigmask", t.sigmask },
              { "clear_child_tid", t.clear_child_tid },
              { "rseq",
                { { "address", t.rseq_address }, { "size", t.rseq_size }, { "signature", t.rseq_signature } } } });
    j["threads"] = threads;
    json actions = json::array();
    for (auto const& a : p.signal_actions)
        actions.push_back({ { "signal", a.signal },
                            { "handler", a.handler },
                            { "flags", a.flags },
                            { "restorer", a.restorer },
                            { "mask", a.mask } });
    j["signal_actions"] = actions;
    json limits = json::array();
    for (auto const& l : p.rlimits)
        limits.push_back({ { "resource", l.resource }, { "soft", l.soft }, { "hard", l.hard } });
    j["rlimits"] = limits;
    encode_open_files(p, j);
    encode_task_state(p, j);
    return j.dump(1) + "\n";
}

Result<Process> decode_process(std::string_view text)
{
    try {
        json j = json::parse(text);
        int schema = j.at("schema").get<int>();
        if (schema > kProcessSchema || schema < 1)
            return Error::format("process schema {} is not supported (this cryo reads 1 to {})", schema,
                                 kProcessSchema);
        Process p;
        p.pid = j.at("pid").get<int>();
        p.ppid = j.value("ppid", 0);
        p.pgid = j.value("pgid", p.pid);
        p.sid = j.value("sid", p.pid);
        p.comm = j.value("comm", "");
        p.umask = j.value("umask", 022u);
        p.cwd = j.value("cwd", "/");
        p.root = j.value("root", "/");
        if (j.contains("credentials")) {
            auto const& c = j["credentials"];
            auto uid = c.at("uid").get<std::vector<uint32_t>>();
            auto gid = c.at("gid").get<std::vector<uint32_t>>();
            if (uid.size() != 4 || gid.size() != 4)
                return Error::make("credentials: uid and gid need 4 entries");
            std::copy(uid.begin(), uid.end(), p.credentials.uid);
            std::copy(gid.begin(), gid.end(), p.credentials.gid);
            p.credentials.groups = c.value("groups", std::vector<uint32_t> {});
            p.credentials.cap_inheritable = c.value("cap_inheritable", uint64_t { 0 });
            p.credentials.cap_permitted = c.value("cap_permitted", uint64_t { 0 });
            p.credentials.cap_effective = c.value("cap_effective", uint64_t { 0 });
            p.credentials.cap_bounding = c.value("cap_bounding", uint64_t { 0 });
            p.credentials.cap_ambient = c.value("cap_ambient", uint64_t { 0 });
            p.credentials.no_new_privs = c.value("no_new_privs", false);
        }
        auto const& mm = j.at("mm");
        p.mm.start_code = mm.at("start_code").get<uint64_t>();
        p.mm.end_code = mm.at("end_code").get<uint64_t>();
        p.mm.start_data = mm.at("start_data").get<uint64_t>();
        p.mm.end_data = mm.at("end_data").get<uint64_t>();
        p.mm.start_brk = mm.at("start_brk").get<uint64_t>();
        p.mm.brk = mm.at("brk").get<uint64_t>();
        p.mm.start_stack = mm.at("start_stack").get<uint64_t>();
        p.mm.arg_start = mm.at("arg_start").get<uint64_t>();
        p.mm.arg_end = mm.at("arg_end").get<uint64_t>();
        p.mm.env_start = mm.at("env_start").get<uint64_t>();
        p.mm.env_end = mm.at("env_end").get<uint64_t>();
        p.mm.auxv = mm.value("auxv", std::vector<uint64_t> {});
        p.mm.exe_path = mm.value("exe", "");
        for (auto const& a : j.at("areas")) {
            MemoryArea area;
            area.start = a.at("start").get<uint64_t>();
            area.end = a.at("end").get<uint64_t>();
            auto prot = a.at("prot").get<std::string>();
            if (prot.size() != 3)
                return Error::format("memory area {:#x}: bad prot {:?}", area.start, prot);
            area.read = prot[0] == 'r';
            area.write = prot[1] == 'w';
            area.exec = prot[2] == 'x';
            area.kind = area_kind_from(a.at("kind").get<std::string>());
            area.name = a.value("name", "");
            area.file_offset = a.value("offset", uint64_t { 0 });
            area.growsdown = a.value("growsdown", false);
            area.huge = a.value("huge", false);
            if (area.start >= area.end || area.start % 4096 || area.end % 4096)
                return Error::format("memory area {:#x}-{:#x}: not page-aligned or empty", area.start, area.end);
            if (a.contains("guards"))
                for (auto const& g : a.at("guards")) {
                    auto pair = g.get<std::vector<uint64_t>>();
                    uint64_t floor = area.guards.empty() ? area.start : area.guards.back().end;
                    if (pair.size() != 2 || pair[0] % 4096 || pair[1] % 4096 || pair[0] >= pair[1] || pair[0] < floor
                        || pair[1] > area.end)
                        return Error::format("memory area {:#x}-{:#x}: bad guard range", area.start, area.end);
                    area.guards.push_back({ pair[0], pair[1] });
                }
            p.areas.push_back(std::move(area));
        }
        for (auto const& r : j.at("page_runs")) {
            auto pair = r.get<std::vector<uint64_t>>();
            if (pair.size() != 2 || pair[0] % 4096)
                return Error::make("bad page run");
            p.pages.push_back({ pair[0], pair[1] });
        }
        for (auto const& t : j.at("threads")) {
            Thread thread;
            thread.tid = t.at("tid").get<int>();
            thread.regs = decode_registers(t.at("regs"));
            thread.xstate = TRY(from_hex(t.value("xstate", "")).context("thread {} xstate", thread.tid));
            thread.sigmask = t.value("sigmask", uint64_t { 0 });
            thread.clear_child_tid = t.value("clear_child_tid", uint64_t { 0 });
            if (t.contains("rseq")) {
                auto const& r = t["rseq"];
                thread.rseq_address = r.value("address", uint64_t { 0 });
                thread.rseq_size = r.value("size", 0u);
                thread.rseq_signature = r.value("signature", 0u);
            }
            p.threads.push_back(std::move(thread));
        }
        if (p.threads.empty())
            return Error::format("process {} has no threads", p.pid);
        for (auto const& a : j.value("signal_actions", json::array()))
            p.signal_actions.push_back({ a.at("signal").get<int>(), a.at("handler").get<uint64_t>(),
                                         a.at("flags").get<uint64_t>(), a.value("restorer", uint64_t { 0 }),
                                         a.value("mask", uint64_t { 0 }) });
        for (auto const& l : j.value("rlimits", json::array()))
            p.rlimits.push_back(
                { l.at("resource").get<int>(), l.at("soft").get<uint64_t>(), l.at("hard").get<uint64_t>() });
        TRY(decode_open_files(j, p).context("process {} files", p.pid));
        TRY(decode_task_state(j, p).context("process {}", p.pid));
        return p;
    } catch (std::exception const& e) {
        return Error::format("bad process metadata: {}", e.what());
    }
}

} // namespace cryo::checkpoint
