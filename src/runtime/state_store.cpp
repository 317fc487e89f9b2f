#include "runtime/state_store.h"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "oci/names.h"
#include "sys/file.h"
#include "sys/process.h"
#include "sys/procfs.h"

namespace cryo::runtime {

namespace {

nlohmann::json hooks_to_json(std::vector<oci::Hook> const& hooks)
{
    auto out = nlohmann::json::array();
    for (auto const& h : hooks) {
        nlohmann::json j { { "path", h.path }, { "args", h.args }, { "env", h.env } };
        if (h.timeout)
            j["timeout"] = *h.timeout;
        out.push_back(std::move(j));
    }
    return out;
}

std::vector<oci::Hook> hooks_from_json(nlohmann::json const& array)
{
    std::vector<oci::Hook> out;
    for (auto const& j : array) {
        oci::Hook h;
        h.path = j.at("path").get<std::string>();
        h.args = j.value("args", std::vector<std::string> {});
        h.env = j.value("env", std::vector<std::string> {});
        if (j.contains("timeout"))
            h.timeout = j["timeout"].get<int32_t>();
        out.push_back(std::move(h));
    }
    return out;
}

constexpr std::string_view k_status_names[] = { "creating", "created", "running", "paused", "stopped" };

} // namespace

std::string_view status_name(Status status)
{
    return k_status_names[static_cast<size_t>(status)];
}

std::optional<Status> parse_status(std::string_view name)
{
    for (size_t i = 0; i < std::size(k_status_names); ++i)
        if (k_status_names[i] == name)
            return static_cast<Status>(i);
    return std::nullopt;
}

Status derive_status(Status saved, bool init_alive)
{
    if (!init_alive)
        return Status::Stopped;
    return saved;
}

Result<void> require_status(std::string_view verb, std::string_view id, Status status,
                            std::initializer_list<Status> allowed)
{
    if (std::find(allowed.begin(), allowed.end(), status) != allowed.end())
        return {};
    return Error::format("cannot {} container {} in state {}", verb, id, status_name(status));
}

std::string saved_state_to_json(SavedState const& state)
{
    nlohmann::json j;
    j["id"] = state.id;
    j["bundle"] = state.bundle;
    j["rootfs"] = state.rootfs;
    j["status"] = status_name(state.status);
    j["init_pid"] = state.init_pid;
    j["init_start_time"] = state.init_start_time;
    j["created"] = state.created;
    j["owner"] = state.owner;
    j["oci_version"] = state.oci_version;
    j["annotations"] = state.annotations;
    j["cgroup_path"] = state.cgroup_path;
    j["systemd_cgroup"] = state.systemd_cgroup;
    j["namespaces"] = state.namespaces;
    if (!state.poststart.empty())
        j["poststart"] = hooks_to_json(state.poststart);
    if (!state.poststop.empty())
        j["poststop"] = hooks_to_json(state.poststop);
    if (state.stdio) {
        auto& stdio = j["stdio"] = nlohmann::json::array();
        for (auto const& file : *state.stdio)
            stdio.push_back({ file.device, file.inode });
    }
    return j.dump();
}

Result<SavedState> parse_saved_state(std::string_view json)
{
    auto j = nlohmann::json::parse(json, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        return Error::make("state.json: invalid JSON");
    SavedState s;
    try {
        s.id = j.at("id").get<std::string>();
        s.bundle = j.value("bundle", "");
        s.rootfs = j.value("rootfs", "");
        auto status = parse_status(j.at("status").get<std::string>());
        if (!status)
            return Error::format("state.json: unknown status {}", j.at("status").dump());
        s.status = *status;
        s.init_pid = j.value("init_pid", 0);
        s.init_start_time = j.value("init_start_time", uint64_t { 0 });
        s.created = j.value("created", "");
        s.owner = j.value("owner", "");
        s.oci_version = j.value("oci_version", "");
        if (j.contains("annotations"))
            s.annotations = j["annotations"].get<std::map<std::string, std::string>>();
        s.cgroup_path = j.value("cgroup_path", "");
        s.systemd_cgroup = j.value("systemd_cgroup", false);
        if (j.contains("namespaces"))
            s.namespaces = j["namespaces"].get<std::map<std::string, std::string>>();
        if (j.contains("poststart"))
            s.poststart = hooks_from_json(j["poststart"]);
        if (j.contains("poststop"))
            s.poststop = hooks_from_json(j["poststop"]);
        if (j.contains("stdio")) {
            auto files = j["stdio"].get<std::vector<std::array<uint64_t, 2>>>();
            if (files.size() != 3)
                return Error::format("state.json: stdio needs 3 files, not {}", files.size());
            s.stdio.emplace();
            for (size_t k = 0; k < 3; ++k)
                (*s.stdio)[k] = { files[k][0], files[k][1] };
        }
    } catch (nlohmann::json::exception const& e) {
        return Error::format("state.json: {}", e.what());
    }
    return s;
}

Result<uint64_t> process_start_time(pid_t pid)
{
    auto line = TRY(sys::read_file(fmt::format("/proc/{}/stat", pid)));
    auto stat = TRY(sys::parse_stat(line));
    return stat.start_time;
}

Result<void> replace_file(std::string const& path, std::string_view data, mode_t mode)
{
    auto temp = fmt::format("{}.tmp{}", path, ::getpid());
    {
        auto fd = TRY(sys::open(temp, O_WRONLY | O_CREAT | O_TRUNC, mode));
        auto written = sys::write_all(fd, data);
        if (!written) {
            (void)sys::unlink(temp);
            return written.release_error().add_context(fmt::format("write {}", temp));
        }
    }
    if (::rename(temp.c_str(), path.c_str()) < 0) {
        auto error = Error::from_errno(fmt::format("rename {} to {}", temp, path));
        (void)sys::unlink(temp);
        return error;
    }
    return {};
}

Result<void> Container::save() const
{
    return replace_file(m_dir + "/state.json", saved_state_to_json(m_state), 0600)
        .context("save state of {}", m_state.id);
}

bool Container::init_alive() const
{
    if (m_state.init_pid <= 0)
        return false;
    // One read of /proc/PID/stat answers both questions (every command derives status).
    auto stat = sys::read_file(fmt::format("/proc/{}/stat", m_state.init_pid));
    if (!stat)
        return false;
    auto parsed = sys::parse_stat(*stat);
    if (!parsed || parsed->start_time != m_state.init_start_time)
        return false;
    // A zombie init (exited, not yet reaped by its parent) is stopped too.
    return parsed->state != 'Z';
}

Status Container::status() const
{
    return derive_status(m_state.status, init_alive());
}

Result<void> Container::require_status(std::string_view verb, std::initializer_list<Status> allowed) const
{
    return runtime::require_status(verb, m_state.id, status(), allowed);
}

Result<Fd> Container::open_init_pidfd() const
{
    if (m_state.init_pid <= 0)
        return Error::format("container {} is not running", m_state.id);
    auto pidfd = sys::pidfd_open(m_state.init_pid);
    if (!pidfd)
        return Error::format("container {} is not running", m_state.id);
    // Checked after opening: if the start time still matches now, the pidfd refers to the
    // init (a pidfd pins its process; a later recycle cannot change what it names).
    if (!init_alive())
        return Error::format("container {} is not running", m_state.id);
    return pidfd;
}

oci::State Container::oci_state() const
{
    auto live = status();
    oci::State s;
    s.oci_version = m_state.oci_version;
    s.id = m_state.id;
    s.status = std::string(status_name(live));
    s.pid = live == Status::Stopped ? 0 : m_state.init_pid;
    s.bundle = m_state.bundle;
    s.annotations = m_state.annotations;
    s.rootfs = m_state.rootfs;
    s.created = m_state.created;
    s.owner = m_state.owner;
    return s;
}

Result<void> Container::destroy()
{
    TRY(sys::remove_all(m_dir).context("remove state dir {}", m_dir));
    m_dir_fd.reset();
    m_lock.reset();
    return {};
}

namespace {

Result<Fd> lock_dir(std::string const& dir, LockMode mode)
{
    if (mode == LockMode::None)
        return Fd {};
    auto fd = TRY(sys::open(dir + "/lock", O_RDWR | O_CREAT, 0600));
    // An open-file-description lock: like flock(2) it belongs to this fd, is released when
    // every fd sharing that description closes; children must close their copy early.
    struct flock lock { };
    lock.l_type = mode == LockMode::Exclusive ? F_WRLCK : F_RDLCK;
    lock.l_whence = SEEK_SET;
    while (::fcntl(fd.get(), F_OFD_SETLKW, &lock) < 0) {
        if (errno != EINTR)
            return Error::from_errno(fmt::format("lock {}/lock", dir));
    }
    return fd;
}

// True if nobody holds the dir's lock (a create in progress holds it until it saves).
bool is_stale(std::string const& dir)
{
    auto fd = sys::open(dir + "/lock", O_RDWR);
    if (!fd)
        return fd.error().is_errno(ENOENT);
    struct flock lock { };
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    return ::fcntl(fd->get(), F_OFD_SETLK, &lock) == 0;
}

} // namespace

Result<Container> StateStore::create(std::string const& id) const
{
    TRY(oci::validate_container_id(id));
    TRY(sys::mkdir_all(m_root, 0700).context("create state root {}", m_root));
    Container c;
    c.m_dir = m_root + "/" + id;
    if (::mkdir(c.m_dir.c_str(), 0700) < 0) {
        if (errno != EEXIST)
            return Error::from_errno(fmt::format("mkdir {}", c.m_dir));
        // A dir without state.json whose lock nobody holds is what a killed create leaves:
        // take it over instead of refusing the id forever.
        if (sys::exists(c.m_dir + "/state.json") || !is_stale(c.m_dir))
            return Error::format("container {} already exists", id);
        (void)sys::remove_all(c.m_dir);
        if (::mkdir(c.m_dir.c_str(), 0700) < 0)
            return Error::format("container {} already exists", id);
    }
    c.m_dir_fd = TRY(sys::open(c.m_dir, O_PATH | O_DIRECTORY));
    c.m_lock = TRY(lock_dir(c.m_dir, LockMode::Exclusive));
    c.m_state.id = id;
    c.m_state.status = Status::Creating;
    return c;
}

Result<Container> StateStore::open(std::string const& id, LockMode mode) const
{
    TRY(oci::validate_container_id(id));
    Container c;
    c.m_dir = m_root + "/" + id;
    auto dir_fd = sys::open(c.m_dir, O_PATH | O_DIRECTORY);
    if (!dir_fd) {
        if (dir_fd.error().is_errno(ENOENT))
            return Error::format("container {} does not exist", id);
        return dir_fd.release_error();
    }
    c.m_dir_fd = dir_fd.release_value();
    auto lock = lock_dir(c.m_dir, mode);
    if (!lock) {
        if (lock.error().is_errno(ENOENT))
            return Error::format("container {} does not exist", id);
        return lock.release_error();
    }
    c.m_lock = lock.release_value();
    // Read after locking: a concurrent delete may have removed the dir while we waited,
    // and a create in progress has no state.json yet.
    auto json = sys::read_file(c.m_dir + "/state.json");
    if (!json) {
        if (json.error().is_errno(ENOENT))
            return Error::format("container {} does not exist", id);
        return json.release_error();
    }
    c.m_state = TRY(parse_saved_state(*json).context("container {}", id));
    return c;
}

Result<std::vector<std::string>> StateStore::ids() const
{
    auto entries = sys::list_dir(m_root);
    if (!entries) {
        if (entries.error().is_errno(ENOENT))
            return std::vector<std::string> {};
        return entries.release_error();
    }
    std::vector<std::string> out;
    for (auto& name : *entries)
        if (sys::exists(m_root + "/" + name + "/state.json"))
            out.push_back(name);
    std::sort(out.begin(), out.end());
    return out;
}

} // namespace cryo::runtime
