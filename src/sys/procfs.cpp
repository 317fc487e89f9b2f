#include "sys/procfs.h"

#include <algorithm>
#include <charconv>

#include "sys/file.h"
#include "sys/task_stat.h"
#include "sys/text.h"

namespace cryo::sys {

namespace {

template<typename F>
void for_each_line(std::string_view text, F f)
{
    while (!text.empty()) {
        size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        f(line);
        if (nl == std::string_view::npos)
            break;
        text.remove_prefix(nl + 1);
    }
}

} // namespace

bool MapsEntry::deleted() const
{
    constexpr std::string_view suffix = " (deleted)";
    return path.size() > suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Result<std::vector<MapsEntry>> parse_maps(std::string_view text)
{
    std::vector<MapsEntry> out;
    size_t line_no = 0;
    std::optional<Error> error;
    for_each_line(text, [&](std::string_view line) {
        ++line_no;
        if (error || trim(line).empty())
            return;
        // start-end perms offset dev inode [path]; the path may contain spaces, so take the
        // first five fields by position and the rest of the line as the path.
        MapsEntry e;
        std::string_view rest = line;
        std::string_view fields[5];
        for (auto& field : fields) {
            while (!rest.empty() && rest.front() == ' ')
                rest.remove_prefix(1);
            size_t sp = rest.find(' ');
            field = rest.substr(0, sp);
            rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp);
        }
        size_t dash = fields[0].find('-');
        size_t colon = fields[3].find(':');
        bool ok = dash != std::string_view::npos && colon != std::string_view::npos && fields[1].size() == 4
            && parse_number(fields[0].substr(0, dash), e.start, 16)
            && parse_number(fields[0].substr(dash + 1), e.end, 16) && parse_number(fields[2], e.offset, 16)
            && parse_number(fields[3].substr(0, colon), e.dev_major, 16)
            && parse_number(fields[3].substr(colon + 1), e.dev_minor, 16) && parse_number(fields[4], e.inode)
            && e.start < e.end;
        if (!ok) {
            error = Error::format("parse maps line {}: {:?}", line_no, std::string(line));
            return;
        }
        e.read = fields[1][0] == 'r';
        e.write = fields[1][1] == 'w';
        e.exec = fields[1][2] == 'x';
        e.shared = fields[1][3] == 's';
        while (!rest.empty() && rest.front() == ' ')
            rest.remove_prefix(1);
        e.path = std::string(rest);
        out.push_back(std::move(e));
    });
    if (error)
        return *error;
    return out;
}

Result<std::vector<SmapsEntry>> parse_smaps(std::string_view text)
{
    std::vector<SmapsEntry> out;
    std::optional<Error> error;
    for_each_line(text, [&](std::string_view line) {
        if (error || line.empty())
            return;
        size_t colon = line.find(':');
        size_t dash = line.find('-');
        // An area header starts with "start-end " (hex, no colon before the first space).
        size_t space = line.find(' ');
        if (dash != std::string_view::npos && space != std::string_view::npos && dash < space
            && (colon == std::string_view::npos || colon > space)) {
            auto header = parse_maps(line);
            if (!header || header->size() != 1) {
                error = Error::format("parse smaps: bad header {:?}", std::string(line));
                return;
            }
            SmapsEntry e;
            e.area = std::move(header->front());
            e.start = e.area.start;
            out.push_back(std::move(e));
            return;
        }
        if (out.empty() || colon == std::string_view::npos)
            return;
        std::string_view key = line.substr(0, colon);
        std::string_view value = trim(line.substr(colon + 1));
        if (key == "AnonHugePages") {
            auto parts = split_ws(value);
            if (parts.empty() || !parse_number(parts[0], out.back().anon_huge_kib))
                error = Error::format("parse smaps: bad AnonHugePages {:?}", std::string(value));
        } else if (key == "VmFlags") {
            for (auto flag : split_ws(value))
                out.back().vm_flags.emplace_back(flag);
        }
    });
    if (error)
        return *error;
    return out;
}

Result<StatInfo> parse_stat(std::string_view text)
{
    auto head = TRY(parse_stat_head(text)); // task_stat.h: comm may hold spaces and ')'
    StatInfo s;
    if (!parse_number(head.pid, s.pid))
        return Error::make("parse stat: bad pid");
    s.comm = std::string(head.comm);
    s.state = head.state;
    auto f = split_ws(trim(head.rest));
    // f[0] is field 4 (ppid); field n is f[n - 4].
    if (f.size() < 49)
        return Error::format("parse stat: {} fields, expected at least 52", f.size() + 3);
    auto field = [&](int n) { return f[static_cast<size_t>(n - 4)]; };
    bool ok = parse_number(field(4), s.ppid) && parse_number(field(5), s.pgid) && parse_number(field(6), s.sid)
        && parse_number(field(19), s.nice) && parse_number(field(20), s.num_threads)
        && parse_number(field(22), s.start_time) && parse_number(field(26), s.start_code)
        && parse_number(field(27), s.end_code) && parse_number(field(28), s.start_stack)
        && parse_number(field(45), s.start_data) && parse_number(field(46), s.end_data)
        && parse_number(field(47), s.start_brk) && parse_number(field(48), s.arg_start)
        && parse_number(field(49), s.arg_end) && parse_number(field(50), s.env_start)
        && parse_number(field(51), s.env_end) && parse_number(field(52), s.exit_code);
    if (!ok)
        return Error::make("parse stat: bad number");
    return s;
}

Result<StatusInfo> parse_status(std::string_view text)
{
    StatusInfo s;
    std::optional<Error> error;
    for_each_line(text, [&](std::string_view line) {
        if (error)
            return;
        size_t colon = line.find(':');
        if (colon == std::string_view::npos)
            return;
        std::string_view key = line.substr(0, colon);
        std::string_view value = trim(line.substr(colon + 1));
        auto fail = [&] { error = Error::format("parse status: bad {} {:?}", std::string(key), std::string(value)); };
        auto hex = [&](uint64_t& out) {
            if (!parse_number(value, out, 16))
                fail();
        };
        auto ids = [&](uint32_t(&out)[4]) {
            auto parts = split_ws(value);
            if (parts.size() != 4)
                return fail();
            for (size_t i = 0; i < 4; ++i)
                if (!parse_number(parts[i], out[i]))
                    return fail();
        };
        if (key == "Name")
            s.name = std::string(value);
        else if (key == "Tgid" && !parse_number(value, s.tgid))
            fail();
        else if (key == "PPid" && !parse_number(value, s.ppid))
            fail();
        else if (key == "Umask" && !parse_number(value, s.umask, 8))
            fail();
        else if (key == "Uid")
            ids(s.uid);
        else if (key == "Gid")
            ids(s.gid);
        else if (key == "Groups") {
            for (auto g : split_ws(value)) {
                uint32_t gid = 0;
                if (!parse_number(g, gid))
                    return fail();
                s.groups.push_back(gid);
            }
        } else if (key == "NSpid") {
            for (auto p : split_ws(value)) {
                pid_t pid = 0;
                if (!parse_number(p, pid))
                    return fail();
                s.ns_pid.push_back(pid);
            }
        } else if (key == "SigPnd")
            hex(s.sig_pending);
        else if (key == "ShdPnd")
            hex(s.shared_pending);
        else if (key == "SigBlk")
            hex(s.sig_blocked);
        else if (key == "SigIgn")
            hex(s.sig_ignored);
        else if (key == "SigCgt")
            hex(s.sig_caught);
        else if (key == "CapInh")
            hex(s.cap_inh);
        else if (key == "CapPrm")
            hex(s.cap_prm);
        else if (key == "CapEff")
            hex(s.cap_eff);
        else if (key == "CapBnd")
            hex(s.cap_bnd);
        else if (key == "CapAmb")
            hex(s.cap_amb);
        else if (key == "NoNewPrivs" && !parse_number(value, s.no_new_privs))
            fail();
        else if (key == "Seccomp" && !parse_number(value, s.seccomp))
            fail();
    });
    if (error)
        return *error;
    if (s.tgid == 0)
        return Error::make("parse status: no Tgid");
    return s;
}

Result<FdInfo> parse_fdinfo(std::string_view text)
{
    FdInfo info;
    bool have_pos = false;
    bool have_flags = false;
    std::optional<Error> error;
    for_each_line(text, [&](std::string_view line) {
        if (error)
            return;
        size_t colon = line.find(':');
        if (colon == std::string_view::npos)
            return;
        std::string key(trim(line.substr(0, colon)));
        std::string_view value = trim(line.substr(colon + 1));
        if (key == "pos") {
            have_pos = parse_number(value, info.pos);
            if (!have_pos)
                error = Error::make("parse fdinfo: bad pos");
        } else if (key == "flags") {
            have_flags = parse_number(value, info.flags, 8);
            if (!have_flags)
                error = Error::make("parse fdinfo: bad flags");
        } else if (key == "mnt_id") {
            if (!parse_number(value, info.mnt_id))
                error = Error::make("parse fdinfo: bad mnt_id");
        } else if (!info.extra.contains(key)) {
            info.extra.emplace(key, std::string(value));
        } else {
            // Repeated keys (epoll tfd lines, inotify wd lines) are kept in order.
            info.extra[key] += "\n" + std::string(value);
        }
    });
    if (error)
        return *error;
    if (!have_pos || !have_flags)
        return Error::make("parse fdinfo: missing pos or flags");
    return info;
}

Result<std::vector<MapsEntry>> read_maps(pid_t pid)
{
    auto text = TRY(read_file(fmt::format("/proc/{}/maps", pid)));
    return TRY(parse_maps(text).context("/proc/{}/maps", pid));
}

Result<std::vector<SmapsEntry>> read_smaps(pid_t pid)
{
    auto text = TRY(read_file(fmt::format("/proc/{}/smaps", pid)));
    return TRY(parse_smaps(text).context("/proc/{}/smaps", pid));
}

Result<StatInfo> read_stat(pid_t pid)
{
    auto text = TRY(read_file(fmt::format("/proc/{}/stat", pid)));
    return TRY(parse_stat(text).context("/proc/{}/stat", pid));
}

Result<StatusInfo> read_status(pid_t pid)
{
    auto text = TRY(read_file(fmt::format("/proc/{}/status", pid)));
    return TRY(parse_status(text).context("/proc/{}/status", pid));
}

Result<FdInfo> read_fdinfo(pid_t pid, int fd)
{
    auto text = TRY(read_file(fmt::format("/proc/{}/fdinfo/{}", pid, fd)));
    return TRY(parse_fdinfo(text).context("/proc/{}/fdinfo/{}", pid, fd));
}

namespace {

template<typename T>
Result<std::vector<T>> numeric_entries(std::string const& dir)
{
    auto names = TRY(list_dir(dir));
    std::vector<T> out;
    for (auto const& name : names) {
        T value {};
        if (parse_number(name, value))
            out.push_back(value);
    }
    std::sort(out.begin(), out.end());
    return out;
}

} // namespace

Result<std::vector<pid_t>> list_threads(pid_t pid)
{
    return numeric_entries<pid_t>(fmt::format("/proc/{}/task", pid));
}

Result<std::vector<pid_t>> list_children(pid_t pid, pid_t tid)
{
    auto text = TRY(read_file(fmt::format("/proc/{}/task/{}/children", pid, tid)));
    std::vector<pid_t> out;
    for (auto part : split_ws(trim(text))) {
        pid_t child = 0;
        if (!parse_number(part, child))
            return Error::format("parse /proc/{}/task/{}/children", pid, tid);
        out.push_back(child);
    }
    return out;
}

Result<std::vector<int>> list_fds(pid_t pid)
{
    return numeric_entries<int>(fmt::format("/proc/{}/fd", pid));
}

} // namespace cryo::sys
