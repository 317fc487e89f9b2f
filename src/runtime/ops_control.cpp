// runtime::pause, resume, update and events: operations on a live container's cgroup,
// each taking the container's lock (events reads without holding it) and keeping the saved
// status in step with the freezer.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/log.h"
#include "cgroup/manager.h"
#include "runtime/ops.h"
#include "runtime/plan.h"
#include "sys/file.h"

namespace cryo::runtime {

namespace {

using Json = nlohmann::ordered_json;

Result<std::unique_ptr<cgroup::Manager>> open_manager(Container const& container)
{
    auto const& path = container.state().cgroup_path;
    if (path.empty())
        return Error::format("container {} has no cgroup", container.id());
    return cgroup::Manager::open({ .path = path });
}

// Go's encoding/json "omitempty" for numbers: absent when zero.
void put_nonzero(Json& object, char const* key, uint64_t value)
{
    if (value != 0)
        object[key] = value;
}

Json memory_entry_json(cgroup::MemoryEntry const& entry)
{
    Json out = Json::object();
    out["limit"] = entry.limit;
    put_nonzero(out, "usage", entry.usage);
    put_nonzero(out, "max", entry.max_usage);
    out["failcnt"] = entry.failcnt;
    return out;
}

Json blkio_entries_json(std::vector<cgroup::BlkioEntry> const& entries)
{
    Json out = Json::array();
    for (auto const& entry : entries) {
        Json item = Json::object();
        put_nonzero(item, "major", entry.major);
        put_nonzero(item, "minor", entry.minor);
        if (!entry.op.empty())
            item["op"] = entry.op;
        put_nonzero(item, "value", entry.value);
        out.push_back(std::move(item));
    }
    return out;
}

// OOM kills so far: v2 memory.events (oom_kill), else v1 memory.oom_control's oom_kill line.
// nullopt where neither is available (then no OOM events are reported).
std::optional<uint64_t> oom_kills(cgroup::Manager& manager, cgroup::Stats const& stats)
{
    if (stats.memory) {
        if (auto it = stats.memory->events.find("oom_kill"); it != stats.memory->events.end())
            return it->second;
    }
    auto paths = manager.paths();
    auto memory = paths.find("memory");
    if (memory == paths.end())
        return std::nullopt;
    auto text = sys::read_file(memory->second + "/memory.oom_control");
    if (text.is_error())
        return std::nullopt;
    std::string_view rest = *text;
    while (!rest.empty()) {
        auto end = rest.find('\n');
        std::string_view line = rest.substr(0, end);
        rest = end == std::string_view::npos ? std::string_view {} : rest.substr(end + 1);
        if (line.starts_with("oom_kill "))
            return std::strtoull(std::string(line.substr(9)).c_str(), nullptr, 10);
    }
    return std::nullopt;
}

template<typename T>
void take(std::optional<T>& into, std::optional<T> const& from)
{
    if (from)
        into = from;
}

template<typename T>
void take_list(std::vector<T>& into, std::vector<T> const& from)
{
    if (!from.empty())
        into = from;
}

std::string resources_path(Container const& container)
{
    return container.dir() + "/resources.json";
}

} // namespace

std::string stats_json(cgroup::Stats const& stats)
{
    Json data = Json::object();

    // cpu (types.Cpu): usage.total/percpu* omitempty, kernel/user always; throttling omitempty.
    cgroup::CpuStats const cpu = stats.cpu.value_or(cgroup::CpuStats {});
    Json usage = Json::object();
    put_nonzero(usage, "total", cpu.usage.total);
    if (!cpu.usage.percpu.empty())
        usage["percpu"] = cpu.usage.percpu;
    if (!cpu.usage.percpu_kernel.empty())
        usage["percpu_kernel"] = cpu.usage.percpu_kernel;
    if (!cpu.usage.percpu_user.empty())
        usage["percpu_user"] = cpu.usage.percpu_user;
    usage["kernel"] = cpu.usage.kernel;
    usage["user"] = cpu.usage.user;
    Json throttling = Json::object();
    put_nonzero(throttling, "periods", cpu.throttling.periods);
    put_nonzero(throttling, "throttledPeriods", cpu.throttling.throttled_periods);
    put_nonzero(throttling, "throttledTime", cpu.throttling.throttled_time);
    data["cpu"] = Json { { "usage", std::move(usage) }, { "throttling", std::move(throttling) } };
    data["cpuset"] = Json::object();

    // memory (types.Memory)
    cgroup::MemoryStats const memory = stats.memory.value_or(cgroup::MemoryStats {});
    Json memory_json = Json::object();
    put_nonzero(memory_json, "cache", memory.cache);
    memory_json["usage"] = memory_entry_json(memory.usage);
    memory_json["swap"] = memory_entry_json(memory.swap);
    memory_json["kernel"] = memory_entry_json(memory.kernel);
    memory_json["kernelTCP"] = memory_entry_json(memory.kernel_tcp);
    if (!memory.stats.empty()) {
        Json raw = Json::object();
        for (auto const& [key, value] : memory.stats)
            raw[key] = value;
        memory_json["raw"] = std::move(raw);
    }
    data["memory"] = std::move(memory_json);

    // pids (types.Pids): both omitempty; limit 0 = unlimited.
    cgroup::PidsStats const pids = stats.pids.value_or(cgroup::PidsStats {});
    Json pids_json = Json::object();
    put_nonzero(pids_json, "current", pids.current);
    put_nonzero(pids_json, "limit", pids.limit);
    data["pids"] = std::move(pids_json);

    // blkio (types.Blkio): every list omitempty.
    Json blkio = Json::object();
    if (stats.blkio) {
        if (!stats.blkio->io_service_bytes_recursive.empty())
            blkio["ioServiceBytesRecursive"] = blkio_entries_json(stats.blkio->io_service_bytes_recursive);
        if (!stats.blkio->io_serviced_recursive.empty())
            blkio["ioServicedRecursive"] = blkio_entries_json(stats.blkio->io_serviced_recursive);
    }
    data["blkio"] = std::move(blkio);

    // hugetlb: page size -> {usage, max (omitempty), failcnt}; always an object.
    Json hugetlb = Json::object();
    for (auto const& [size, entry] : stats.hugetlb) {
        Json item = Json::object();
        put_nonzero(item, "usage", entry.usage);
        put_nonzero(item, "max", entry.max_usage);
        item["failcnt"] = entry.failcnt;
        hugetlb[size] = std::move(item);
    }
    data["hugetlb"] = std::move(hugetlb);
    data["intel_rdt"] = Json::object();
    data["network_interfaces"] = nullptr;
    return data.dump();
}

std::string stats_event_json(std::string_view id, cgroup::Stats const& stats)
{
    return fmt::format(R"({{"type":"stats","id":"{}","data":{}}})", log::json_escape(id), stats_json(stats));
}

std::string oom_event_json(std::string_view id)
{
    return fmt::format(R"({{"type":"oom","id":"{}"}})", log::json_escape(id));
}

void merge_resources(oci::Resources& base, oci::Resources const& update)
{
    take_list(base.devices, update.devices);
    if (update.memory) {
        auto& into = base.memory ? *base.memory : base.memory.emplace();
        auto const& from = *update.memory;
        take(into.limit, from.limit);
        take(into.reservation, from.reservation);
        take(into.swap, from.swap);
        take(into.kernel, from.kernel);
        take(into.kernel_tcp, from.kernel_tcp);
        take(into.swappiness, from.swappiness);
        take(into.disable_oom_killer, from.disable_oom_killer);
        take(into.use_hierarchy, from.use_hierarchy);
        take(into.check_before_update, from.check_before_update);
    }
    if (update.cpu) {
        auto& into = base.cpu ? *base.cpu : base.cpu.emplace();
        auto const& from = *update.cpu;
        take(into.shares, from.shares);
        take(into.quota, from.quota);
        take(into.burst, from.burst);
        take(into.period, from.period);
        take(into.realtime_runtime, from.realtime_runtime);
        take(into.realtime_period, from.realtime_period);
        take(into.cpus, from.cpus);
        take(into.mems, from.mems);
        take(into.idle, from.idle);
    }
    if (update.pids) {
        auto& into = base.pids ? *base.pids : base.pids.emplace();
        take(into.limit, update.pids->limit);
    }
    if (update.block_io) {
        auto& into = base.block_io ? *base.block_io : base.block_io.emplace();
        auto const& from = *update.block_io;
        take(into.weight, from.weight);
        take(into.leaf_weight, from.leaf_weight);
        take_list(into.weight_device, from.weight_device);
        take_list(into.throttle_read_bps_device, from.throttle_read_bps_device);
        take_list(into.throttle_write_bps_device, from.throttle_write_bps_device);
        take_list(into.throttle_read_iops_device, from.throttle_read_iops_device);
        take_list(into.throttle_write_iops_device, from.throttle_write_iops_device);
    }
    for (auto const& limit : update.hugepage_limits) {
        auto it = std::find_if(base.hugepage_limits.begin(), base.hugepage_limits.end(),
                               [&](auto const& existing) { return existing.page_size == limit.page_size; });
        if (it != base.hugepage_limits.end())
            *it = limit;
        else
            base.hugepage_limits.push_back(limit);
    }
    if (update.network) {
        auto& into = base.network ? *base.network : base.network.emplace();
        take(into.class_id, update.network->class_id);
        take_list(into.priorities, update.network->priorities);
    }
    for (auto const& [key, value] : update.rdma)
        base.rdma[key] = value;
    for (auto const& [key, value] : update.unified)
        base.unified[key] = value;
}

Result<std::optional<oci::Resources>> load_updated_resources(Container const& container)
{
    auto path = resources_path(container);
    auto text = sys::read_file(path);
    if (text.is_error()) {
        if (text.error().is_errno(ENOENT))
            return std::optional<oci::Resources> {};
        return text.release_error();
    }
    auto resources = TRY(oci::parse_resources(*text).context("{}", path));
    return std::optional<oci::Resources>(std::move(resources));
}

Result<void> pause(Context const& ctx, std::string const& id)
{
    StateStore store(ctx.root);
    auto container = TRY(store.open(id, LockMode::Exclusive));
    TRY(container.require_status("pause", { Status::Running }));
    auto manager = TRY(open_manager(container).context("pause {}", id));
    TRY(manager->freeze().context("pause {}", id));
    container.state().status = Status::Paused;
    auto saved = container.save();
    if (saved.is_error()) {
        // A frozen container whose state says "running" could never be resumed: undo.
        (void)manager->thaw();
        return saved.release_error().add_context(fmt::format("pause {}", id));
    }
    return {};
}

Result<void> resume(Context const& ctx, std::string const& id)
{
    StateStore store(ctx.root);
    auto container = TRY(store.open(id, LockMode::Exclusive));
    TRY(container.require_status("resume", { Status::Paused }));
    auto manager = TRY(open_manager(container).context("resume {}", id));
    TRY(manager->thaw().context("resume {}", id));
    container.state().status = Status::Running;
    TRY(container.save().context("resume {}", id));
    return {};
}

Result<void> update(Context const& ctx, std::string const& id, std::string const& resources_json)
{
    auto resources = TRY(oci::parse_resources(resources_json).context("update {}", id));
    StateStore store(ctx.root);
    auto container = TRY(store.open(id, LockMode::Exclusive));
    TRY(container.require_status("update", { Status::Created, Status::Running, Status::Paused }));
    auto manager = TRY(open_manager(container).context("update {}", id));
    TRY(manager->update(to_cgroup_resources(resources)).context("update {}", id));

    // Keep what the container now has, so that checkpoint (and a later restore) apply the
    // limits in effect rather than the ones config.json started with.
    auto current = TRY(load_updated_resources(container).context("update {}", id));
    if (!current) {
        current.emplace();
        if (auto spec = oci::load_spec(container.state().bundle); spec && spec->linux_config.resources)
            *current = *spec->linux_config.resources;
    }
    merge_resources(*current, resources);
    TRY(sys::write_file_atomic(resources_path(container), oci::to_json(*current), 0600)
            .context("update {}: save resources", id));
    return {};
}

Result<void> events(Context const& ctx, EventsOptions const& options,
                    std::function<void(std::string const&)> const& emit)
{
    StateStore store(ctx.root);
    std::unique_ptr<cgroup::Manager> manager;
    {
        // Read what we need and drop the lock: an events stream may run for hours and must
        // not hold off delete or update.
        auto container = TRY(store.open(options.id, LockMode::Shared));
        if (container.status() == Status::Stopped)
            return Error::format("events {}: container is not running", options.id);
        manager = TRY(open_manager(container).context("events {}", options.id));
    }

    if (options.stats) {
        auto stats = TRY(manager->stats().context("events {}", options.id));
        emit(stats_event_json(options.id, stats));
        return {};
    }

    // OOM kills are counted by the cgroup; an increase between two looks is an "oom" event.
    // The first look only sets the baseline (kills before `events` started are old news).
    std::optional<uint64_t> oom_seen;
    auto look = [&]() -> std::optional<cgroup::Stats> {
        auto stats = manager->stats();
        if (stats.is_error()) {
            log::warn("events {}: {}", options.id, stats.error().message());
            return std::nullopt;
        }
        auto kills = oom_kills(*manager, *stats);
        if (kills && oom_seen && *kills > *oom_seen)
            emit(oom_event_json(options.id));
        if (kills)
            oom_seen = kills;
        return stats.release_value();
    };
    for (;;) {
        if (auto stats = look())
            emit(stats_event_json(options.id, *stats));
        std::this_thread::sleep_for(options.interval);

        auto container = store.open(options.id, LockMode::None);
        if (container.is_error() || container->status() == Status::Stopped) {
            // One last look: the OOM kill of the init is what stopped many a container.
            if (container.has_value())
                (void)look();
            return {};
        }
    }
}

} // namespace cryo::runtime
