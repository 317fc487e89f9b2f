// The cgroup v2 backend: one directory in the unified hierarchy.
#include <algorithm>
#include <csignal>

#include "base/scope_guard.h"
#include "cgroup/backend.h"
#include "cgroup/device_program.h"
#include "cgroup/parse.h"
#include "sys/cgroupfs.h"
#include "sys/file.h"

namespace cryo::cgroup::detail {

namespace {

class V2Manager final : public Manager {
public:
    V2Manager(std::string path, Hierarchy root)
        : m_path(std::move(path))
        , m_hierarchies { std::move(root) }
        , m_root(m_hierarchies[0].mount_point)
        , m_dir(m_root + m_path)
    {
    }

    Version version() const override { return Version::V2; }
    std::string const& path() const override { return m_path; }
    std::map<std::string, std::string> paths() const override { return { { "", m_dir } }; }
    std::vector<Hierarchy> const& hierarchies() const override { return m_hierarchies; }

    Result<void> create(Resources const& resources) override
    {
        // Validate before touching anything: a bad spec leaves no cgroup behind.
        auto plan = TRY(plan_v2(resources));
        std::vector<std::string> created;
        TRY(make_dirs(m_root, m_dir, created).context("create cgroup {}", m_dir));
        ArmedScopeGuard rollback([&] { remove_created(created); });
        TRY(enable_v2_controllers(m_root, m_dir, v2_controllers(resources)).context("create cgroup {}", m_dir));
        // A fresh cgroup has no device program: rules that restrict nothing need none.
        if (device_rules_restrict(resources.devices))
            TRY(set_device_rules(resources.devices, false).context("set device rules of cgroup {}", m_dir));
        TRY(apply(plan).context("set limits of cgroup {}", m_dir));
        rollback.disarm();
        return {};
    }

    Result<void> add_process(pid_t pid) override
    {
        return write_value(m_dir + "/cgroup.procs", std::to_string(pid)).context("add process {} to cgroup", pid);
    }

    Result<JoinHandles> open_join_handles() override
    {
        JoinHandles handles;
        handles.unified_dir = TRY(sys::open(m_dir, O_PATH | O_DIRECTORY).context("join cgroup"));
        handles.unified_procs = TRY(sys::open(m_dir + "/cgroup.procs", O_WRONLY | O_TRUNC).context("join cgroup"));
        return handles;
    }

    Result<void> update(Resources const& resources) override
    {
        auto plan = TRY(plan_v2(resources));
        if (!resources.devices.empty())
            TRY(set_device_rules(resources.devices, true).context("update cgroup {}", m_dir));
        return apply(plan).context("update cgroup {}", m_dir);
    }

    Result<void> freeze(std::chrono::milliseconds timeout) override
    {
        TRY(write_value(m_dir + "/cgroup.freeze", "1").context("freeze cgroup"));
        auto check = [&] { return is_frozen(); };
        auto frozen = TRY(poll_until(check, timeout).context("freeze cgroup {}", m_dir));
        if (!frozen) {
            (void)write_value(m_dir + "/cgroup.freeze", "0");
            return Error::format("freeze cgroup {}: not frozen after {} ms", m_dir, timeout.count());
        }
        return {};
    }

    Result<void> thaw() override { return write_value(m_dir + "/cgroup.freeze", "0").context("thaw cgroup"); }

    Result<FreezerState> freezer_state() override
    {
        auto wanted = TRY(sys::read_file(m_dir + "/cgroup.freeze").context("freezer state"));
        if (parse_value(wanted).value_or(0) == 0)
            return FreezerState::Thawed;
        return TRY(is_frozen()) ? FreezerState::Frozen : FreezerState::Freezing;
    }

    Result<std::vector<pid_t>> pids() override
    {
        std::vector<pid_t> out;
        TRY(collect_pids(m_dir, out).context("list processes of cgroup"));
        std::sort(out.begin(), out.end());
        return out;
    }

    Result<void> kill_all(int signal) override
    {
        // No cgroup, no processes: delete --force of a half-created container.
        if (!sys::exists(m_dir))
            return {};
        // cgroup.kill (5.14+) kills the whole subtree atomically, forks included.
        if (signal == SIGKILL) {
            auto killed = write_value(m_dir + "/cgroup.kill", "1");
            if (killed || !killed.error().is_errno(ENOENT))
                return std::move(killed).context("kill cgroup");
        }
        // Frozen, no process can fork a child we would miss; if freezing fails (an old
        // kernel), signal anyway rather than not at all.
        bool frozen = freeze(default_freeze_timeout).has_value();
        auto all = pids();
        auto sent = all ? signal_pids(*all, signal) : Result<void>(all.error());
        if (frozen)
            TRY(thaw());
        return sent;
    }

    Result<void> destroy() override
    {
        TRY(remove_tree(m_dir, Clock::now() + remove_timeout).context("remove cgroup"));
        remove_relative_parent_if_empty(m_root, m_path);
        return {};
    }

    Result<Stats> stats() override;

private:
    // Attaches the program for `rules` (when they restrict anything), then detaches the
    // programs attached before (`replace`), so there is no moment without rules.
    Result<void> set_device_rules(std::vector<DeviceRule> const& rules, bool replace)
    {
        auto dir = TRY(sys::open(m_dir, O_RDONLY | O_DIRECTORY));
        std::vector<Fd> previous;
        if (replace) {
            for (auto id : TRY(sys::bpf_device_program_ids(dir)))
                previous.push_back(TRY(sys::bpf_program_by_id(id)));
        }
        if (device_rules_restrict(rules)) {
            auto program = TRY(device_program(rules));
            auto loaded = TRY(sys::bpf_load_device_program(program));
            TRY(sys::bpf_attach_device_program(dir, loaded));
        }
        for (auto const& old : previous)
            TRY(sys::bpf_detach_device_program(dir, old));
        return {};
    }

    Result<void> apply(WritePlan const& plan)
    {
        return apply_plan(plan, [&](std::string const&) -> Result<std::string> { return m_dir; });
    }

    Result<bool> is_frozen()
    {
        auto events = TRY(sys::read_file(m_dir + "/cgroup.events"));
        return parse_flat_keyed(events)["frozen"] == 1;
    }

    std::optional<uint64_t> read_number(char const* file)
    {
        auto text = read_if_exists(m_dir + "/" + file);
        if (text.is_error() || !*text)
            return std::nullopt;
        return parse_value(**text);
    }

    std::string m_path;
    std::vector<Hierarchy> m_hierarchies;
    std::string m_root;
    std::string m_dir;
};

Result<Stats> V2Manager::stats()
{
    Stats stats;
    if (!sys::exists(m_dir))
        return Error::from_errno(ENOENT, fmt::format("stats of cgroup {}", m_dir));
    if (auto current = read_number("memory.current")) {
        MemoryStats memory;
        memory.usage.usage = *current;
        memory.usage.max_usage = read_number("memory.peak").value_or(0);
        memory.usage.limit = read_number("memory.max").value_or(unlimited);
        memory.barrier = read_number("memory.high").value_or(unlimited);
        if (auto text = TRY(read_if_exists(m_dir + "/memory.events"))) {
            memory.events = parse_flat_keyed(*text);
            memory.usage.failcnt = memory.events["max"];
        }
        if (auto text = TRY(read_if_exists(m_dir + "/memory.stat"))) {
            memory.stats = parse_flat_keyed(*text);
            memory.cache = memory.stats["file"];
        }
        // runc reports swap as memory+swap, the v1 meaning.
        if (auto swap = read_number("memory.swap.current")) {
            memory.swap.usage = *swap + *current;
            auto swap_max = read_number("memory.swap.max").value_or(unlimited);
            memory.swap.limit
                = swap_max == unlimited || memory.usage.limit == unlimited ? unlimited : swap_max + memory.usage.limit;
            if (auto peak = read_number("memory.swap.peak"))
                memory.swap.max_usage = *peak + memory.usage.max_usage;
        }
        stats.memory = std::move(memory);
    }
    if (auto text = TRY(read_if_exists(m_dir + "/cpu.stat"))) {
        auto cpu_stat = parse_flat_keyed(*text);
        CpuStats cpu;
        cpu.usage.total = cpu_stat["usage_usec"] * 1000;
        cpu.usage.user = cpu_stat["user_usec"] * 1000;
        cpu.usage.kernel = cpu_stat["system_usec"] * 1000;
        cpu.throttling.periods = cpu_stat["nr_periods"];
        cpu.throttling.throttled_periods = cpu_stat["nr_throttled"];
        cpu.throttling.throttled_time = cpu_stat["throttled_usec"] * 1000;
        stats.cpu = std::move(cpu);
    }
    if (auto current = read_number("pids.current")) {
        PidsStats pids { .current = *current };
        pids.peak = read_number("pids.peak").value_or(0);
        auto max = read_number("pids.max").value_or(unlimited);
        pids.limit = max == unlimited ? 0 : max;
        if (auto text = TRY(read_if_exists(m_dir + "/pids.events")))
            pids.failcnt = parse_flat_keyed(*text)["max"];
        stats.pids = pids;
    }
    if (auto text = TRY(read_if_exists(m_dir + "/io.stat")))
        stats.blkio = parse_io_stat(*text);
    TRY(read_v2_hugetlb_stats(m_dir, stats));
    return stats;
}

} // namespace

std::unique_ptr<Manager> make_v2(std::string path, Hierarchy root)
{
    return std::make_unique<V2Manager>(std::move(path), std::move(root));
}

} // namespace cryo::cgroup::detail
