// The cgroup v1 backend: one directory per controller hierarchy. On hybrid hosts the
// cgroup2 mount (e.g. /sys/fs/cgroup/unified) stands in for any controller that has no v1
// hierarchy; in practice hugetlb, written with v2 file names.
#include <algorithm>
#include <csignal>

#include "base/scope_guard.h"
#include "cgroup/backend.h"
#include "cgroup/parse.h"
#include "sys/file.h"

namespace cryo::cgroup::detail {

namespace {

std::string parent_of(std::string const& dir)
{
    return dir.substr(0, dir.find_last_of('/'));
}

std::string trimmed(std::string text)
{
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.pop_back();
    return text;
}

bool contains(std::vector<std::string> const& list, std::string const& item)
{
    return std::find(list.begin(), list.end(), item) != list.end();
}

// Controllers a container may be placed in (core + those its resources can ask for).
bool joinable(std::string const& controller)
{
    return contains(v1_core_controllers(), controller) || controller == "hugetlb" || controller == "net_cls"
        || controller == "net_prio";
}

// A new v1 cpuset cgroup starts with empty cpus and mems, and the kernel refuses to attach
// tasks to it until both are set. Copy them from the parent, filling an empty parent the
// same way first (up to the hierarchy root, which always has them).
Result<void> copy_cpuset(std::string const& root, std::string const& dir, bool cpus, bool mems)
{
    auto parent = parent_of(dir);
    for (auto [wanted, file] : { std::pair { cpus, "/cpuset.cpus" }, std::pair { mems, "/cpuset.mems" } }) {
        if (!wanted)
            continue;
        auto value = trimmed(TRY(sys::read_file(parent + file)));
        if (value.empty() && parent.size() > root.size()) {
            TRY(copy_cpuset(root, parent, true, true));
            value = trimmed(TRY(sys::read_file(parent + file)));
        }
        TRY(write_value(dir + file, value));
    }
    return {};
}

Result<void> fill_cpuset_if_empty(std::string const& root, std::string const& dir)
{
    auto cpus = trimmed(TRY(sys::read_file(dir + "/cpuset.cpus")));
    auto mems = trimmed(TRY(sys::read_file(dir + "/cpuset.mems")));
    if (cpus.empty() || mems.empty())
        TRY(copy_cpuset(root, dir, cpus.empty(), mems.empty()));
    return {};
}

class V1Manager final : public Manager {
public:
    V1Manager(std::string path, std::vector<Hierarchy> hierarchies)
        : m_path(std::move(path))
        , m_hierarchies(std::move(hierarchies))
    {
        for (size_t i = 0; i < m_hierarchies.size(); ++i) {
            auto const& hierarchy = m_hierarchies[i];
            if (hierarchy.version != Version::V1)
                continue;
            bool member = false;
            for (auto const& controller : hierarchy.controllers) {
                if (!joinable(controller))
                    continue;
                m_index.emplace(controller, i);
                member = true;
            }
            if (member)
                m_members.push_back(i);
        }
        // The unified mount of a hybrid host serves controllers v1 lacks.
        for (size_t i = 0; i < m_hierarchies.size(); ++i) {
            if (m_hierarchies[i].version != Version::V2)
                continue;
            bool member = false;
            for (auto const& controller : m_hierarchies[i].controllers) {
                if (joinable(controller) && m_index.emplace(controller, i).second)
                    member = true;
            }
            if (member)
                m_members.push_back(i);
        }
    }

    Version version() const override { return Version::V1; }
    std::string const& path() const override { return m_path; }
    std::vector<Hierarchy> const& hierarchies() const override { return m_hierarchies; }

    std::map<std::string, std::string> paths() const override
    {
        std::map<std::string, std::string> out;
        for (auto const& [controller, index] : m_index)
            out.emplace(controller, dir(index));
        return out;
    }

    Result<void> create(Resources const& resources) override;
    Result<void> add_process(pid_t pid) override;
    Result<void> update(Resources const& resources) override;
    Result<JoinHandles> open_join_handles() override;

    Result<void> freeze(std::chrono::milliseconds timeout) override
    {
        auto state = TRY(freezer_file());
        TRY(write_value(state, "FROZEN").context("freeze cgroup"));
        auto is_frozen = [&]() -> Result<bool> {
            auto text = TRY(sys::read_file(state));
            return parse_freezer_state(text) == FreezerState::Frozen;
        };
        auto frozen = TRY(poll_until(is_frozen, timeout).context("freeze cgroup {}", parent_of(state)));
        if (!frozen) {
            // Never leave a cgroup half frozen.
            (void)write_value(state, "THAWED");
            return Error::format("freeze cgroup {}: not frozen after {} ms", parent_of(state), timeout.count());
        }
        return {};
    }

    Result<void> thaw() override
    {
        auto state = TRY(freezer_file());
        return write_value(state, "THAWED").context("thaw cgroup");
    }

    Result<FreezerState> freezer_state() override
    {
        auto state = TRY(freezer_file());
        auto text = TRY(sys::read_file(state).context("freezer state"));
        if (auto parsed = parse_freezer_state(text))
            return *parsed;
        return Error::format("freezer state of {}: unknown \"{}\"", parent_of(state), trimmed(text));
    }

    Result<std::vector<pid_t>> pids() override
    {
        auto index = TRY(pids_hierarchy());
        std::vector<pid_t> out;
        TRY(collect_pids(dir(index), out).context("list processes of cgroup"));
        std::sort(out.begin(), out.end());
        return out;
    }

    Result<void> kill_all(int signal) override
    {
        // No cgroup, no processes: delete --force of a half-created container.
        if (auto index = pids_hierarchy(); !index || !sys::exists(dir(*index)))
            return {};
        // Frozen, no process can fork a child we would miss; SIGKILL lands on thaw.
        bool frozen = m_index.contains("freezer") && freeze(default_freeze_timeout).has_value();
        auto all = pids();
        auto sent = all ? signal_pids(*all, signal) : Result<void>(all.error());
        if (frozen)
            TRY(thaw());
        return sent;
    }

    Result<void> destroy() override
    {
        auto deadline = Clock::now() + remove_timeout;
        Result<void> result;
        // Try every hierarchy even after a failure, so one busy controller does not leave
        // the others behind; report the first failure.
        for (auto index : m_members) {
            auto removed = remove_tree(dir(index), deadline);
            if (removed.is_error() && result.has_value())
                result = std::move(removed);
            else if (removed)
                remove_relative_parent_if_empty(m_hierarchies[index].mount_point, m_path);
        }
        return std::move(result).context("remove cgroup");
    }

    Result<Stats> stats() override;

private:
    std::string dir(size_t index) const { return m_hierarchies[index].mount_point + m_path; }

    Result<size_t> index_of(std::string const& controller) const
    {
        auto it = m_index.find(controller);
        if (it == m_index.end())
            return Error::format("cgroup controller {} is not mounted under {}", controller,
                                 m_hierarchies.empty() ? std::string("?") : parent_of(m_hierarchies[0].mount_point));
        return it->second;
    }

    Result<std::string> freezer_file() const
    {
        auto index = TRY(index_of("freezer"));
        return dir(index) + "/freezer.state";
    }

    Result<size_t> pids_hierarchy() const
    {
        for (auto const* controller : { "pids", "freezer", "memory", "cpuacct", "cpu", "devices" })
            if (auto it = m_index.find(controller); it != m_index.end())
                return it->second;
        return Error::make("no cgroup hierarchy to list processes from");
    }

    bool hugetlb_v2() const
    {
        auto it = m_index.find("hugetlb");
        return it != m_index.end() && m_hierarchies[it->second].version == Version::V2;
    }

    std::optional<int64_t> current_memory_limit() const
    {
        auto it = m_index.find("memory");
        if (it == m_index.end())
            return std::nullopt;
        auto text = sys::read_file(dir(it->second) + "/memory.limit_in_bytes");
        if (text.is_error())
            return std::nullopt;
        auto value = parse_value(*text);
        if (!value || *value > static_cast<uint64_t>(INT64_MAX))
            return std::nullopt;
        return static_cast<int64_t>(*value);
    }

    Result<void> apply(WritePlan const& plan)
    {
        return apply_plan(
            plan, [&](std::string const& controller) -> Result<std::string> { return dir(TRY(index_of(controller))); });
    }

    std::string m_path;
    std::vector<Hierarchy> m_hierarchies;
    std::map<std::string, size_t> m_index; // controller -> hierarchy
    std::vector<size_t> m_members; // hierarchies a container may live in
};

bool sets_memory_and_swap(Resources const& resources)
{
    return resources.memory && resources.memory->limit && resources.memory->swap;
}

Result<void> V1Manager::create(Resources const& resources)
{
    // Plan first: a bad spec fails before any mkdir.
    auto plan = TRY(plan_v1(resources, { .hugetlb_v2 = hugetlb_v2() }));
    std::vector<size_t> needed;
    auto need = [&](size_t index) {
        if (std::find(needed.begin(), needed.end(), index) == needed.end())
            needed.push_back(index);
    };
    for (auto const& controller : v1_core_controllers())
        if (auto it = m_index.find(controller); it != m_index.end())
            need(it->second);
    for (auto const& controller : v1_extra_controllers(resources))
        need(TRY(index_of(controller)));

    std::vector<std::string> created;
    ArmedScopeGuard rollback([&] { remove_created(created); });
    bool memory_existed = false;
    for (auto index : needed) {
        auto const& hierarchy = m_hierarchies[index];
        auto leaf = dir(index);
        auto first_new = created.size();
        TRY(make_dirs(hierarchy.mount_point, leaf, created).context("create cgroup {}", leaf));
        bool leaf_existed = created.size() == first_new || created.back() != leaf;
        if (hierarchy.version == Version::V2) {
            TRY(enable_v2_controllers(hierarchy.mount_point, leaf, hierarchy.controllers)
                    .context("create cgroup {}", leaf));
            continue;
        }
        if (contains(hierarchy.controllers, "memory"))
            memory_existed = leaf_existed;
        if (!contains(hierarchy.controllers, "cpuset"))
            continue;
        auto const& cpu = resources.cpu;
        for (auto i = first_new; i < created.size(); ++i) {
            // The plan writes the leaf's own cpus/mems when the spec has them.
            bool is_leaf = created[i] == leaf;
            bool cpus = !(is_leaf && cpu && cpu->cpus && !cpu->cpus->empty());
            bool mems = !(is_leaf && cpu && cpu->mems && !cpu->mems->empty());
            TRY(copy_cpuset(hierarchy.mount_point, created[i], cpus, mems).context("create cgroup {}", created[i]));
        }
        if (leaf_existed)
            TRY(fill_cpuset_if_empty(hierarchy.mount_point, leaf).context("create cgroup {}", leaf));
    }
    // A reused memory cgroup has limits of its own, which decide the memsw order.
    if (memory_existed && sets_memory_and_swap(resources))
        plan = TRY(plan_v1(resources, { .current_memory_limit = current_memory_limit(), .hugetlb_v2 = hugetlb_v2() }));
    TRY(apply(plan).context("set limits of cgroup {}", m_path));
    rollback.disarm();
    return {};
}

Result<void> V1Manager::add_process(pid_t pid)
{
    auto value = std::to_string(pid);
    bool joined = false;
    for (auto index : m_members) {
        // Hierarchies the container was not created in (an unused hugetlb) are skipped.
        auto written = write_value(dir(index) + "/cgroup.procs", value);
        if (written.is_error()) {
            if (written.error().is_errno(ENOENT))
                continue;
            written.error().add_context(fmt::format("add process {} to cgroup", pid));
            return written;
        }
        joined = true;
    }
    if (!joined)
        return Error::from_errno(ENOENT, fmt::format("add process {} to cgroup {}", pid, m_path));
    return {};
}

Result<JoinHandles> V1Manager::open_join_handles()
{
    JoinHandles handles;
    bool any = false;
    // Opening fails with ENOENT where the cgroup was not created (an unused hugetlb).
    auto open_if_exists = [](std::string const& path, int flags) -> Result<Fd> {
        auto fd = sys::open(path, flags);
        if (fd.is_error() && fd.error().is_errno(ENOENT))
            return Fd();
        return std::move(fd).context("join cgroup");
    };
    for (auto index : m_members) {
        auto leaf = dir(index);
        if (m_hierarchies[index].version == Version::V1) {
            auto fd = TRY(open_if_exists(leaf + "/tasks", O_WRONLY | O_TRUNC));
            if (fd.valid()) {
                handles.tasks.push_back(std::move(fd));
                any = true;
            }
            continue;
        }
        handles.unified_procs = TRY(open_if_exists(leaf + "/cgroup.procs", O_WRONLY | O_TRUNC));
        if (handles.unified_procs.valid()) {
            handles.unified_dir = TRY(open_if_exists(leaf, O_PATH | O_DIRECTORY));
            any = true;
        }
    }
    if (!any)
        return Error::from_errno(ENOENT, fmt::format("join cgroup {}", m_path));
    return handles;
}

Result<void> V1Manager::update(Resources const& resources)
{
    V1PlanInput input { .hugetlb_v2 = hugetlb_v2() };
    if (sets_memory_and_swap(resources))
        input.current_memory_limit = current_memory_limit();
    if (resources.devices.empty() || !m_index.contains("devices")) {
        auto plan = TRY(plan_v1(resources, input));
        return apply(plan).context("update cgroup {}", m_path);
    }
    // Device rules of a running container: write only the difference (see plan.h).
    auto list = TRY(sys::read_file(dir(m_index.at("devices")) + "/devices.list").context("update cgroup {}", m_path));
    auto difference = TRY(plan_v1_device_update(resources.devices, list));
    if (!difference) {
        auto plan = TRY(plan_v1(resources, input));
        return apply(plan).context("update cgroup {}", m_path);
    }
    auto others = resources;
    others.devices.clear();
    auto plan = TRY(plan_v1(others, input));
    plan.insert(plan.end(), difference->begin(), difference->end());
    return apply(plan).context("update cgroup {}", m_path);
}

std::optional<uint64_t> read_number(std::string const& path)
{
    auto text = read_if_exists(path);
    if (text.is_error() || !*text)
        return std::nullopt;
    return parse_value(**text);
}

MemoryEntry read_memory_entry(std::string const& prefix)
{
    return MemoryEntry { .usage = read_number(prefix + "usage_in_bytes").value_or(0),
                         .max_usage = read_number(prefix + "max_usage_in_bytes").value_or(0),
                         .limit = read_number(prefix + "limit_in_bytes").value_or(0),
                         .failcnt = read_number(prefix + "failcnt").value_or(0) };
}

// The first of `names` that exists in `dir`, parsed as v1 blkio lines.
Result<std::vector<BlkioEntry>> read_blkio(std::string const& dir, std::initializer_list<char const*> names)
{
    for (auto const* name : names)
        if (auto text = TRY(read_if_exists(dir + "/" + name)))
            return parse_blkio_v1(*text);
    return std::vector<BlkioEntry> {};
}

Result<Stats> V1Manager::stats()
{
    Stats stats;
    auto dir_if = [&](char const* controller) -> std::optional<std::string> {
        auto it = m_index.find(controller);
        if (it == m_index.end())
            return std::nullopt;
        return dir(it->second);
    };
    auto any = TRY(pids_hierarchy());
    if (!sys::exists(dir(any)))
        return Error::from_errno(ENOENT, fmt::format("stats of cgroup {}", dir(any)));
    if (auto memory_dir = dir_if("memory"); memory_dir && sys::exists(*memory_dir)) {
        MemoryStats memory;
        auto prefix = *memory_dir + "/memory.";
        memory.usage = read_memory_entry(prefix);
        memory.swap = read_memory_entry(prefix + "memsw.");
        memory.kernel = read_memory_entry(prefix + "kmem.");
        memory.kernel_tcp = read_memory_entry(prefix + "kmem.tcp.");
        memory.barrier = read_number(prefix + "soft_limit_in_bytes").value_or(0);
        // oom_kill_disable, under_oom, oom_kill: v1's nearest thing to memory.events.
        if (auto text = TRY(read_if_exists(prefix + "oom_control")))
            memory.events = parse_flat_keyed(*text);
        if (auto text = TRY(read_if_exists(prefix + "stat"))) {
            memory.stats = parse_flat_keyed(*text);
            memory.cache = memory.stats["cache"];
        }
        stats.memory = std::move(memory);
    }
    if (auto cpuacct = dir_if("cpuacct"); cpuacct && sys::exists(*cpuacct)) {
        CpuStats cpu;
        auto prefix = *cpuacct + "/cpuacct.";
        cpu.usage.total = read_number(prefix + "usage").value_or(0);
        if (auto text = TRY(read_if_exists(prefix + "usage_percpu")))
            cpu.usage.percpu = parse_list(*text);
        if (auto text = TRY(read_if_exists(prefix + "usage_percpu_user")))
            cpu.usage.percpu_user = parse_list(*text);
        if (auto text = TRY(read_if_exists(prefix + "usage_percpu_sys")))
            cpu.usage.percpu_kernel = parse_list(*text);
        auto user = read_number(prefix + "usage_user");
        auto kernel = read_number(prefix + "usage_sys");
        if (user && kernel) {
            cpu.usage.user = *user;
            cpu.usage.kernel = *kernel;
        } else if (auto text = TRY(read_if_exists(prefix + "stat"))) {
            // cpuacct.stat counts USER_HZ (100 on Linux) ticks.
            auto ticks = parse_flat_keyed(*text);
            cpu.usage.user = ticks["user"] * 10'000'000;
            cpu.usage.kernel = ticks["system"] * 10'000'000;
        }
        stats.cpu = std::move(cpu);
    }
    if (auto cpu_dir = dir_if("cpu")) {
        if (auto text = TRY(read_if_exists(*cpu_dir + "/cpu.stat"))) {
            auto cpu_stat = parse_flat_keyed(*text);
            if (!stats.cpu)
                stats.cpu = CpuStats {};
            stats.cpu->throttling = CpuThrottling { .periods = cpu_stat["nr_periods"],
                                                    .throttled_periods = cpu_stat["nr_throttled"],
                                                    .throttled_time = cpu_stat["throttled_time"] };
        }
    }
    if (auto pids_dir = dir_if("pids")) {
        if (auto current = read_number(*pids_dir + "/pids.current")) {
            auto max = read_number(*pids_dir + "/pids.max").value_or(unlimited);
            stats.pids = PidsStats { .current = *current, .limit = max == unlimited ? 0 : max };
            if (auto text = TRY(read_if_exists(*pids_dir + "/pids.events")))
                stats.pids->failcnt = parse_flat_keyed(*text)["max"];
        }
    }
    if (auto blkio = dir_if("blkio"); blkio && sys::exists(*blkio)) {
        BlkioStats io;
        // CFQ's files, else BFQ's, else the throttle layer's (always there).
        io.io_service_bytes_recursive
            = TRY(read_blkio(*blkio,
                             { "blkio.io_service_bytes_recursive", "blkio.bfq.io_service_bytes_recursive",
                               "blkio.throttle.io_service_bytes_recursive" }));
        io.io_serviced_recursive = TRY(read_blkio(*blkio,
                                                  { "blkio.io_serviced_recursive", "blkio.bfq.io_serviced_recursive",
                                                    "blkio.throttle.io_serviced_recursive" }));
        stats.blkio = std::move(io);
    }
    if (auto hugetlb = dir_if("hugetlb")) {
        if (hugetlb_v2()) {
            TRY(read_v2_hugetlb_stats(*hugetlb, stats));
        } else if (auto names = sys::list_dir(*hugetlb)) {
            for (auto const& name : *names) {
                if (!name.ends_with(".usage_in_bytes") || name.find(".rsvd.") != std::string::npos)
                    continue;
                auto size = hugetlb_page_size(name);
                if (!size)
                    continue;
                auto prefix = *hugetlb + "/hugetlb." + *size + ".";
                stats.hugetlb[*size]
                    = HugetlbStats { .usage = read_number(prefix + "usage_in_bytes").value_or(0),
                                     .max_usage = read_number(prefix + "max_usage_in_bytes").value_or(0),
                                     .limit = read_number(prefix + "limit_in_bytes").value_or(0),
                                     .failcnt = read_number(prefix + "failcnt").value_or(0) };
            }
        }
    }
    return stats;
}

} // namespace

std::unique_ptr<Manager> make_v1(std::string path, std::vector<Hierarchy> hierarchies)
{
    return std::make_unique<V1Manager>(std::move(path), std::move(hierarchies));
}

} // namespace cryo::cgroup::detail
