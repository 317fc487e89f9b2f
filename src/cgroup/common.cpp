#include <algorithm>
#include <cerrno>
#include <csignal>
#include <thread>

#include "cgroup/backend.h"
#include "cgroup/parse.h"
#include "sys/cgroupfs.h"
#include "sys/file.h"
#include "sys/process.h"

namespace cryo::cgroup::detail {

namespace {

std::string parent_of(std::string const& dir)
{
    auto slash = dir.find_last_of('/');
    return slash == std::string::npos || slash == 0 ? std::string("/") : dir.substr(0, slash);
}

bool has_token(std::string_view list, std::string_view token)
{
    size_t pos = 0;
    while ((pos = list.find(token, pos)) != std::string_view::npos) {
        size_t end = pos + token.size();
        bool starts = pos == 0 || list[pos - 1] == ' ';
        bool ends = end == list.size() || list[end] == ' ' || list[end] == '\n';
        if (starts && ends)
            return true;
        pos = end;
    }
    return false;
}

struct OpenFile {
    std::string key {}; // dir + "/" + Write::file
    std::string path; // the file actually opened (the fallback, maybe)
    bool fallback { false };
    Fd fd {};
};

} // namespace

Result<void> write_value(std::string const& path, std::string_view value)
{
    auto fd = TRY(sys::open(path, O_WRONLY | O_TRUNC));
    auto written = sys::write(fd, value.data(), value.size());
    if (written.is_error())
        return Error::from_errno(written.error().code(), fmt::format("write \"{}\" to {}", value, path));
    return {};
}

Result<void> apply_plan(WritePlan const& plan, DirOf const& dir_of)
{
    std::vector<OpenFile> files;
    for (auto const& write : plan) {
        auto dir = TRY(dir_of(write.controller));
        auto key = dir + "/" + write.file;
        auto it = std::find_if(files.begin(), files.end(), [&](auto const& f) { return f.key == key; });
        if (it == files.end()) {
            OpenFile file { .key = key, .path = key };
            // O_TRUNC is a no-op on cgroupfs and makes fixture files hold exactly what was
            // written; repeated writes on the cached fd then append, one per write(2).
            auto fd = sys::open(file.path, O_WRONLY | O_TRUNC);
            if (fd.is_error() && fd.error().is_errno(ENOENT) && !write.fallback_file.empty()) {
                file.path = dir + "/" + write.fallback_file;
                file.fallback = true;
                fd = sys::open(file.path, O_WRONLY | O_TRUNC);
            }
            if (fd.is_error()) {
                if (write.skip_if_missing && fd.error().is_errno(ENOENT))
                    continue;
                return Error::from_errno(fd.error().code(), fmt::format("open {}", file.path));
            }
            file.fd = fd.release_value();
            files.push_back(std::move(file));
            it = files.end() - 1;
        }
        auto const& value = it->fallback && !write.fallback_value.empty() ? write.fallback_value : write.value;
        auto written = sys::write(it->fd, value.data(), value.size());
        if (written.is_error()) {
            if (write.skip_if_missing && written.error().is_errno(EOPNOTSUPP))
                continue;
            return Error::from_errno(written.error().code(), fmt::format("write \"{}\" to {}", value, it->path));
        }
    }
    return {};
}

Result<void> make_dirs(std::string const& root, std::string const& dir, std::vector<std::string>& created)
{
    auto made = sys::mkdir(dir, 0755);
    if (made) {
        created.push_back(dir);
        return {};
    }
    if (made.error().is_errno(EEXIST))
        return {};
    auto parent = parent_of(dir);
    if (!made.error().is_errno(ENOENT) || parent.size() <= root.size())
        return made.release_error();
    TRY(make_dirs(root, parent, created));
    auto again = sys::mkdir(dir, 0755);
    if (again)
        created.push_back(dir);
    else if (!again.error().is_errno(EEXIST))
        return again.release_error();
    return {};
}

void remove_created(std::vector<std::string> const& created)
{
    for (auto it = created.rbegin(); it != created.rend(); ++it)
        (void)sys::rmdir(*it);
}

void remove_relative_parent_if_empty(std::string const& mount_point, std::string const& path)
{
    std::string_view parent = relative_parent;
    if (path.size() > parent.size() && path.starts_with(parent) && path[parent.size()] == '/')
        (void)::rmdir((mount_point + relative_parent).c_str()); // EBUSY/ENOTEMPTY: in use, keep it
}

Result<void> remove_tree(std::string const& dir, Clock::time_point deadline)
{
    auto pause = std::chrono::microseconds(100);
    for (;;) {
        auto removed = sys::rmdir(dir);
        if (removed || removed.error().is_errno(ENOENT))
            return {};
        if (!removed.error().is_errno(EBUSY) && !removed.error().is_errno(ENOTEMPTY))
            return removed.release_error();
        // Busy: sub-cgroups made inside the container, or processes not yet gone.
        auto subdirs = sys::list_subdirs(dir);
        if (subdirs.is_error()) {
            if (subdirs.error().is_errno(ENOENT))
                return {};
            return subdirs.release_error();
        }
        for (auto const& name : *subdirs)
            TRY(remove_tree(dir + "/" + name, deadline));
        if (!subdirs->empty())
            continue;
        if (Clock::now() >= deadline) {
            std::vector<pid_t> left;
            (void)collect_pids(dir, left);
            return Error::from_errno(EBUSY, fmt::format("rmdir {} ({} processes still in it)", dir, left.size()));
        }
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::microseconds(20000));
    }
}

Result<void> collect_pids(std::string const& dir, std::vector<pid_t>& out)
{
    auto procs = TRY(sys::read_file(dir + "/cgroup.procs"));
    for (auto pid : parse_list(procs))
        out.push_back(static_cast<pid_t>(pid));
    for (auto const& name : TRY(sys::list_subdirs(dir)))
        TRY(collect_pids(dir + "/" + name, out));
    return {};
}

Result<void> signal_pids(std::vector<pid_t> const& pids, int signal)
{
    for (auto pid : pids) {
        auto sent = sys::kill(pid, signal);
        if (sent.is_error() && !sent.error().is_errno(ESRCH)) {
            sent.error().add_context(fmt::format("signal process {}", pid));
            return sent;
        }
    }
    return {};
}

Result<bool> poll_until(std::function<Result<bool>()> const& done, std::chrono::milliseconds timeout)
{
    auto deadline = Clock::now() + timeout;
    auto pause = std::chrono::microseconds(50);
    for (;;) {
        if (TRY(done()))
            return true;
        if (Clock::now() >= deadline)
            return false;
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::microseconds(10000));
    }
}

Result<std::optional<std::string>> read_if_exists(std::string const& path)
{
    auto text = sys::read_file(path);
    if (text.is_error()) {
        if (text.error().is_errno(ENOENT))
            return std::optional<std::string> {};
        return text.release_error();
    }
    return std::optional<std::string>(text.release_value());
}

Result<void> enable_v2_controllers(std::string const& root, std::string const& dir,
                                   std::vector<std::string> const& controllers)
{
    auto offered_by = [&](std::string const& level) -> Result<std::string> {
        auto available = TRY(sys::read_file(level + "/cgroup.controllers"));
        std::string line;
        for (auto const& name : controllers)
            if (has_token(available, name))
                line += (line.empty() ? "+" : " +") + name;
        return line;
    };
    // What the root offers bounds every level below it; a level offering less (restricted
    // by its own parent) is asked only when the write there fails.
    auto line = TRY(offered_by(root));
    if (line.empty())
        return {};
    std::vector<std::string> levels { root };
    for (size_t pos = root.size() + 1; (pos = dir.find('/', pos)) != std::string::npos; ++pos)
        levels.push_back(dir.substr(0, pos));
    for (auto const& level : levels) {
        auto written = write_value(level + "/cgroup.subtree_control", line);
        if (written.is_error() && written.error().is_errno(ENOENT)) {
            line = TRY(offered_by(level));
            if (line.empty())
                return {};
            written = write_value(level + "/cgroup.subtree_control", line);
        }
        if (written.is_error()) {
            written.error().add_context("enable cgroup controllers");
            return written;
        }
    }
    return {};
}

Result<void> read_v2_hugetlb_stats(std::string const& dir, Stats& stats)
{
    auto names = sys::list_dir(dir);
    if (names.is_error()) {
        if (names.error().is_errno(ENOENT))
            return {};
        return names.release_error();
    }
    for (auto const& name : *names) {
        if (!name.ends_with(".current") || name.find(".rsvd.") != std::string::npos)
            continue;
        auto size = hugetlb_page_size(name);
        if (!size)
            continue;
        auto prefix = dir + "/hugetlb." + *size;
        HugetlbStats entry;
        if (auto text = TRY(read_if_exists(prefix + ".current")))
            entry.usage = parse_value(*text).value_or(0);
        if (auto text = TRY(read_if_exists(prefix + ".max")))
            entry.limit = parse_value(*text).value_or(0);
        if (auto text = TRY(read_if_exists(prefix + ".events"))) {
            auto events = parse_flat_keyed(*text);
            entry.failcnt = events["max"];
        }
        stats.hugetlb[*size] = entry;
    }
    return {};
}

} // namespace cryo::cgroup::detail
