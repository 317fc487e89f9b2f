// runtime::beancounters: gathers what cgroup::beancounters needs for each container (cgroup
// stats and limits, open files and sockets of its processes, disk space of its writable
// layer, the previous sample) and keeps the new sample in the state dir.
#include <ctime>
#include <unistd.h>

#include "base/log.h"
#include "cgroup/manager.h"
#include "runtime/api.h"
// Disk space of the writable layer comes from the image extras (--image, --disk-limit), which
// another part of the tree provides; without that header there is no diskspace row.
#if __has_include("runtime/extras_image.h")
#include "runtime/extras_image.h"
#define CRYO_HAVE_DISK_USAGE 1
#endif
#include "runtime/state_store.h"
#include "sys/file.h"

namespace cryo::runtime {

namespace {

constexpr char sample_file[] = "beancounters.sample";

uint64_t boottime_ns()
{
    timespec now {};
    ::clock_gettime(CLOCK_BOOTTIME, &now);
    return static_cast<uint64_t>(now.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(now.tv_nsec);
}

// One process's open fds and sockets; nullopt when it exited meanwhile (not an error).
struct FdCount {
    uint64_t files { 0 };
    uint64_t sockets { 0 };
};
std::optional<FdCount> count_fds(pid_t pid)
{
    auto dir = fmt::format("/proc/{}/fd", pid);
    auto names = sys::list_dir(dir);
    if (!names)
        return std::nullopt;
    FdCount count { .files = names->size() };
    for (auto const& name : *names) {
        // An fd closed between list_dir and readlink just does not count as a socket.
        if (auto target = sys::readlink(dir + "/" + name); target && target->starts_with("socket:"))
            ++count.sockets;
    }
    return count;
}

cgroup::ProcessFiles count_process_files(std::vector<pid_t> const& pids)
{
    cgroup::ProcessFiles files;
    for (auto pid : pids) {
        auto count = count_fds(pid);
        auto limits = sys::read_file(fmt::format("/proc/{}/limits", pid));
        if (!count || !limits)
            continue;
        auto nofile
            = cgroup::parse_nofile_limits(*limits).value_or(std::pair<uint64_t, uint64_t> { UINT64_MAX, UINT64_MAX });
        cgroup::add_process_files(files, count->files, count->sockets, nofile.first, nofile.second);
    }
    return files;
}

Result<ContainerBeancounters> container_beancounters(Container const& container)
{
    auto const& state = container.state();
    auto status = container.status();
    ContainerBeancounters out { .id = state.id, .status = std::string(status_name(status)), .rows = {} };
    if (state.cgroup_path.empty())
        return out;
    auto manager = TRY(cgroup::Manager::open({ .path = state.cgroup_path }));
    cgroup::BeancounterInput input;
    auto stats = manager->stats();
    if (stats.is_error()) {
        // A stopped container's cgroup may be gone already: nothing is held any more.
        if (status == Status::Stopped || status == Status::Creating)
            return out;
        return stats.release_error().add_context("stats");
    }
    input.stats = stats.release_value();
    input.limits = TRY(cgroup::read_limit_settings(*manager).context("limits"));
    if (auto pids = manager->pids(); pids && !pids->empty())
        input.files = count_process_files(*pids);
#ifdef CRYO_HAVE_DISK_USAGE
    // Only containers made from an image have a writable layer of their own to measure.
    if (auto use = read_image_use(container.dir()); use && *use) {
        if (auto disk = container_disk_usage(container.dir()))
            input.disk = cgroup::DiskSpace { .used = disk->used_bytes, .limit = disk->limit_bytes };
        else
            log::warn("beancounters {}: disk space: {}", state.id, disk.error().message());
    }
#endif
    input.now_ns = boottime_ns();
    auto ticks = ::sysconf(_SC_CLK_TCK);
    if (ticks > 0)
        input.started_ns = state.init_start_time * (1'000'000'000 / static_cast<uint64_t>(ticks));
    auto sample_path = container.dir() + "/" + sample_file;
    if (auto text = sys::read_file(sample_path))
        input.previous = cgroup::parse_sample(*text);
    auto view = cgroup::beancounters(input);
    // Best effort: a lost sample only shortens the history maxheld and rates look back on.
    if (auto saved = replace_file(sample_path, cgroup::format_sample(view.sample), 0600); saved.is_error())
        log::debug("beancounters {}: keep sample: {}", state.id, saved.error().message());
    out.rows = std::move(view.rows);
    return out;
}

} // namespace

Result<std::vector<ContainerBeancounters>> beancounters(Context const& ctx, std::string const& id)
{
    StateStore store(ctx.root);
    std::vector<ContainerBeancounters> out;
    if (!id.empty()) {
        // Shared: delete (exclusive) cannot remove the dir while the sample is written.
        auto container = TRY(store.open(id, LockMode::Shared));
        out.push_back(TRY(container_beancounters(container).context("beancounters {}", id)));
        return out;
    }
    auto ids = TRY(store.ids().context("list containers in {}", ctx.root));
    for (auto const& each : ids) {
        auto container = store.open(each, LockMode::Shared);
        if (container.is_error())
            continue; // deleted since ids() read the directory
        auto rows = container_beancounters(*container);
        if (rows.is_error()) {
            log::warn("beancounters {}: {}", each, rows.error().message());
            continue;
        }
        out.push_back(rows.release_value());
    }
    return out;
}

} // namespace cryo::runtime
