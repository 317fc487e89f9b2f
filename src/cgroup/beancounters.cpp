// The beancounter view (OpenVZ's /proc/user_beancounters for cgroups): rows derived from
// Stats, limit settings, cryo's own counts of files and sockets, disk space, and the previous
// sample (for rates and for maxheld of what no kernel file tracks). docs/beancounters.md maps
// every column to its source.
#include <algorithm>

#include <fmt/format.h>

#include "cgroup/backend.h"
#include "cgroup/parse.h"
#include "cgroup/stats.h"

namespace cryo::cgroup {

std::vector<Beancounter> beancounters(Stats const& stats)
{
    std::vector<Beancounter> rows;
    if (auto const& memory = stats.memory) {
        rows.push_back({ "memory", memory->usage.usage, memory->usage.max_usage, memory->barrier, memory->usage.limit,
                         memory->usage.failcnt });
        if (memory->swap.limit != 0 || memory->swap.usage != 0)
            rows.push_back({ "memory+swap", memory->swap.usage, memory->swap.max_usage, memory->swap.limit,
                             memory->swap.limit, memory->swap.failcnt });
        if (memory->kernel.limit != 0 || memory->kernel.usage != 0)
            rows.push_back({ "kmem", memory->kernel.usage, memory->kernel.max_usage, memory->kernel.limit,
                             memory->kernel.limit, memory->kernel.failcnt });
        if (memory->kernel_tcp.limit != 0 || memory->kernel_tcp.usage != 0)
            rows.push_back({ "kmem.tcp", memory->kernel_tcp.usage, memory->kernel_tcp.max_usage,
                             memory->kernel_tcp.limit, memory->kernel_tcp.limit, memory->kernel_tcp.failcnt });
    }
    if (auto const& pids = stats.pids) {
        auto limit = pids->limit == 0 ? unlimited : pids->limit;
        rows.push_back({ "pids", pids->current, std::max(pids->peak, pids->current), limit, limit, pids->failcnt });
    }
    for (auto const& [size, hugetlb] : stats.hugetlb)
        rows.push_back({ "hugetlb." + size, hugetlb.usage, std::max(hugetlb.max_usage, hugetlb.usage), hugetlb.limit,
                         hugetlb.limit, hugetlb.failcnt });
    return rows;
}

// --- limit settings ----------------------------------------------------------------------------

namespace {

std::string_view trim(std::string_view text)
{
    while (!text.empty() && (text.front() == ' ' || text.front() == '\n' || text.front() == '\t'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\n' || text.back() == '\t'))
        text.remove_suffix(1);
    return text;
}

std::vector<std::string_view> split(std::string_view text, char separator)
{
    std::vector<std::string_view> parts;
    size_t start = 0;
    while (start <= text.size()) {
        auto end = text.find(separator, start);
        if (end == std::string_view::npos)
            end = text.size();
        if (end > start)
            parts.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return parts;
}

} // namespace

void parse_v1_cpu_limit(std::string_view quota, std::string_view period, LimitSettings& out)
{
    auto period_value = parse_value(period);
    out.cpu_period_us = period_value && *period_value != unlimited ? *period_value : 0;
    auto quota_text = trim(quota);
    // -1 is v1's "no quota"; parse_value refuses the sign.
    auto quota_value = quota_text.starts_with('-') ? std::nullopt : parse_value(quota_text);
    if (quota_value && *quota_value != unlimited && out.cpu_period_us != 0)
        out.cpu_quota_us = *quota_value;
    else
        out.cpu_quota_us.reset();
}

void parse_v2_cpu_max(std::string_view cpu_max, LimitSettings& out)
{
    auto fields = split(trim(cpu_max), ' ');
    out.cpu_quota_us.reset();
    out.cpu_period_us = 0;
    if (fields.size() != 2)
        return;
    auto period = parse_value(fields[1]);
    out.cpu_period_us = period && *period != unlimited ? *period : 0;
    auto quota = parse_value(fields[0]);
    if (quota && *quota != unlimited && out.cpu_period_us != 0)
        out.cpu_quota_us = *quota;
}

void parse_v1_throttle(std::string_view text, std::string const& op, LimitSettings& out)
{
    for (auto line : split(text, '\n')) {
        auto fields = split(trim(line), ' ');
        if (fields.size() != 2)
            continue;
        auto device = parse_device(fields[0]);
        auto value = parse_value(fields[1]);
        if (device && value && *value != 0 && *value != unlimited)
            out.io_max.push_back({ .major = device->first, .minor = device->second, .op = op, .value = *value });
    }
}

void parse_v2_io_max(std::string_view text, LimitSettings& out)
{
    for (auto line : split(text, '\n')) {
        auto fields = split(trim(line), ' ');
        if (fields.empty())
            continue;
        auto device = parse_device(fields[0]);
        if (!device)
            continue;
        for (size_t i = 1; i < fields.size(); ++i) {
            auto equals = fields[i].find('=');
            if (equals == std::string_view::npos)
                continue;
            auto value = parse_value(fields[i].substr(equals + 1));
            if (value && *value != unlimited)
                out.io_max.push_back({ .major = device->first,
                                       .minor = device->second,
                                       .op = std::string(fields[i].substr(0, equals)),
                                       .value = *value });
        }
    }
}

Result<LimitSettings> read_limit_settings(Manager const& manager)
{
    LimitSettings settings;
    auto paths = manager.paths();
    auto read = [](std::string const& path) -> Result<std::string> {
        auto text = TRY(detail::read_if_exists(path));
        return text.value_or("");
    };
    if (manager.version() == Version::V2) {
        auto const& dir = paths[""];
        parse_v2_cpu_max(TRY(read(dir + "/cpu.max")), settings);
        parse_v2_io_max(TRY(read(dir + "/io.max")), settings);
        return settings;
    }
    if (auto cpu = paths.find("cpu"); cpu != paths.end()) {
        // One TRY per statement: a TRY that returns from inside a larger expression may skip
        // the destructors of what that expression already built (g++; LSan caught it in an
        // aggregate initializer of cli/verbs/checkpoint.cpp).
        auto quota = TRY(read(cpu->second + "/cpu.cfs_quota_us"));
        auto period = TRY(read(cpu->second + "/cpu.cfs_period_us"));
        parse_v1_cpu_limit(quota, period, settings);
    }
    if (auto blkio = paths.find("blkio"); blkio != paths.end()) {
        static constexpr std::pair<char const*, char const*> files[] = {
            { "blkio.throttle.read_bps_device", "rbps" },
            { "blkio.throttle.write_bps_device", "wbps" },
            { "blkio.throttle.read_iops_device", "riops" },
            { "blkio.throttle.write_iops_device", "wiops" },
        };
        for (auto const& [file, op] : files)
            parse_v1_throttle(TRY(read(blkio->second + "/" + file)), op, settings);
    }
    if (auto pids = paths.find("pids"); pids != paths.end())
        if (auto peak = parse_value(TRY(read(pids->second + "/pids.peak"))); peak && *peak != unlimited)
            settings.pids_peak = *peak;
    return settings;
}

// --- files and sockets -------------------------------------------------------------------------

void add_process_files(ProcessFiles& into, uint64_t files, uint64_t sockets, uint64_t soft, uint64_t hard)
{
    ++into.processes;
    into.files += files;
    into.sockets += sockets;
    // Compare files/soft without division: a*d > c*b, in 128 bits so huge limits cannot wrap.
    auto ratio_above = [](uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
        return static_cast<unsigned __int128>(a) * d > static_cast<unsigned __int128>(c) * b;
    };
    if (into.processes == 1 || ratio_above(files, soft, into.busiest_files, into.busiest_soft)) {
        into.busiest_files = files;
        into.busiest_soft = soft;
        into.busiest_hard = hard;
    }
}

std::optional<std::pair<uint64_t, uint64_t>> parse_nofile_limits(std::string_view proc_limits)
{
    for (auto line : split(proc_limits, '\n')) {
        if (!line.starts_with("Max open files"))
            continue;
        auto fields = split(trim(line.substr(std::string_view("Max open files").size())), ' ');
        if (fields.size() < 2)
            return std::nullopt;
        auto value = [](std::string_view text) -> std::optional<uint64_t> {
            if (text == "unlimited")
                return unlimited;
            return parse_value(text);
        };
        auto soft = value(fields[0]);
        auto hard = value(fields[1]);
        if (!soft || !hard)
            return std::nullopt;
        return std::pair { *soft, *hard };
    }
    return std::nullopt;
}

// --- samples -----------------------------------------------------------------------------------

std::string format_sample(BeancounterSample const& sample)
{
    std::string text = fmt::format("time_ns {}\n", sample.time_ns);
    for (auto const& [key, value] : sample.values)
        text += fmt::format("{} {}\n", key, value);
    return text;
}

std::optional<BeancounterSample> parse_sample(std::string_view text)
{
    auto values = parse_flat_keyed(text);
    auto time = values.find("time_ns");
    if (time == values.end() || time->second == 0)
        return std::nullopt;
    BeancounterSample sample { .time_ns = time->second };
    values.erase(time);
    sample.values = std::move(values);
    return sample;
}

// --- the view ----------------------------------------------------------------------------------

namespace {

// v1 reports "no limit" as PAGE_COUNTER_MAX pages in bytes (9223372036854771712 with 4 KiB
// pages); anything at or above 2^62 is no real limit.
uint64_t normalize_limit(uint64_t value)
{
    return value >= (uint64_t { 1 } << 62) ? unlimited : value;
}

class ViewBuilder {
public:
    explicit ViewBuilder(BeancounterInput const& input)
        : m_input(input)
    {
        m_view.sample.time_ns = input.now_ns;
        auto const& previous = input.previous;
        // A previous sample from another boot or the future is ignored; a recent one is kept
        // as the baseline (its counters carry over) so that rates cover at least
        // min_rate_interval_ns.
        m_use_previous_rates = previous && previous->time_ns < input.now_ns && previous->time_ns >= input.started_ns
            && input.now_ns - previous->time_ns >= min_rate_interval_ns;
        m_keep_previous_baseline = previous && previous->time_ns < input.now_ns && previous->time_ns >= input.started_ns
            && !m_use_previous_rates;
        if (m_keep_previous_baseline)
            m_view.sample.time_ns = previous->time_ns;
    }

    // A row whose maxheld also remembers what earlier samples saw.
    void add(Beancounter row)
    {
        auto key = "maxheld." + row.resource;
        if (m_input.previous)
            if (auto it = m_input.previous->values.find(key); it != m_input.previous->values.end())
                row.maxheld = std::max(row.maxheld, it->second);
        row.maxheld = std::max(row.maxheld, row.held);
        m_view.sample.values[key] = row.maxheld;
        m_view.rows.push_back(std::move(row));
    }

    // The rate of a cumulative counter per second, times `scale`: since the previous sample
    // when usable, else since the container started. Records the counter for the next call.
    uint64_t rate(std::string const& counter, uint64_t value, long double scale)
    {
        uint64_t since_value = 0;
        uint64_t since_time = m_input.started_ns;
        auto const& previous = m_input.previous;
        std::optional<uint64_t> previous_value;
        if (previous)
            if (auto it = previous->values.find(counter); it != previous->values.end())
                previous_value = it->second;
        // A counter that went down was reset (a new cgroup under the same id): start over.
        if (m_use_previous_rates && previous_value && *previous_value <= value) {
            since_value = *previous_value;
            since_time = previous->time_ns;
        }
        m_view.sample.values[counter]
            = m_keep_previous_baseline && previous_value && *previous_value <= value ? *previous_value : value;
        if (m_input.now_ns <= since_time)
            return 0;
        auto elapsed = static_cast<long double>(m_input.now_ns - since_time) / 1e9L;
        return static_cast<uint64_t>(static_cast<long double>(value - since_value) * scale / elapsed + 0.5L);
    }

    BeancounterView take() { return std::move(m_view); }

private:
    BeancounterInput const& m_input;
    BeancounterView m_view;
    bool m_use_previous_rates { false };
    bool m_keep_previous_baseline { false };
};

Beancounter uncounted(std::string resource, std::string unit, uint64_t held, uint64_t barrier, uint64_t limit)
{
    return { .resource = std::move(resource),
             .held = held,
             .maxheld = held,
             .barrier = barrier,
             .limit = limit,
             .failcnt = 0,
             .unit = std::move(unit),
             .failcnt_counted = false };
}

} // namespace

BeancounterView beancounters(BeancounterInput const& input)
{
    ViewBuilder view(input);
    auto const& stats = input.stats;
    for (auto row : beancounters(stats)) {
        row.unit = row.resource == "pids" ? "count" : "bytes";
        if (row.resource == "pids" && input.limits.pids_peak)
            row.maxheld = std::max(row.maxheld, *input.limits.pids_peak);
        row.barrier = normalize_limit(row.barrier);
        row.limit = normalize_limit(row.limit);
        view.add(std::move(row));
    }
    if (auto const& memory = stats.memory) {
        // v2 memory.events: oom (the limit could not be kept: OOM killer invoked), oom_kill;
        // v1 memory.oom_control: oom_kill only.
        auto const& events = memory->events;
        auto kills = events.contains("oom_kill") ? events.at("oom_kill") : 0;
        auto ooms = events.contains("oom") ? events.at("oom") : kills;
        view.add({ .resource = "oomkill",
                   .held = kills,
                   .maxheld = kills,
                   .barrier = unlimited,
                   .limit = unlimited,
                   .failcnt = ooms,
                   .unit = "count" });
    }
    if (auto const& cpu = stats.cpu) {
        auto limit = unlimited;
        if (input.limits.cpu_quota_us && input.limits.cpu_period_us != 0)
            limit = *input.limits.cpu_quota_us * 1000 / input.limits.cpu_period_us;
        // ns of CPU per second of wall time / 1e6 = ns per ns * 1000: thousandths of a CPU.
        auto mcpu = view.rate("total.cpu", cpu->usage.total, 1e-6L);
        view.add({ .resource = "cpu",
                   .held = mcpu,
                   .maxheld = mcpu,
                   .barrier = limit,
                   .limit = limit,
                   .failcnt = cpu->throttling.throttled_periods,
                   .unit = "mcpu" });
        view.add(uncounted("cputime", "ns", cpu->usage.total, unlimited, unlimited));
    }
    // io: per device, from the byte and operation counters and the throttles.
    struct Device {
        uint64_t rbytes { 0 }, wbytes { 0 }, rios { 0 }, wios { 0 };
        std::map<std::string, uint64_t> limits {};
    };
    std::map<std::pair<uint64_t, uint64_t>, Device> devices;
    if (auto const& blkio = stats.blkio) {
        for (auto const& entry : blkio->io_service_bytes_recursive) {
            auto& device = devices[{ entry.major, entry.minor }];
            if (entry.op == "Read")
                device.rbytes += entry.value;
            else if (entry.op == "Write")
                device.wbytes += entry.value;
        }
        for (auto const& entry : blkio->io_serviced_recursive) {
            auto& device = devices[{ entry.major, entry.minor }];
            if (entry.op == "Read")
                device.rios += entry.value;
            else if (entry.op == "Write")
                device.wios += entry.value;
        }
    }
    for (auto const& entry : input.limits.io_max)
        devices[{ entry.major, entry.minor }].limits[entry.op] = entry.value;
    for (auto const& [number, device] : devices) {
        if (device.rbytes == 0 && device.wbytes == 0 && device.rios == 0 && device.wios == 0 && device.limits.empty())
            continue;
        auto name = fmt::format("{}:{}", number.first, number.second);
        auto row = [&](char const* op, char const* unit, uint64_t counter) {
            auto limit = device.limits.contains(op) ? device.limits.at(op) : unlimited;
            auto resource = fmt::format("io.{}.{}", op, name);
            auto held = view.rate("total." + resource, counter, 1.0L);
            view.add(uncounted(resource, unit, held, limit, limit));
        };
        row("rbps", "B/s", device.rbytes);
        row("wbps", "B/s", device.wbytes);
        row("riops", "ops/s", device.rios);
        row("wiops", "ops/s", device.wios);
    }
    if (auto const& files = input.files) {
        view.add(uncounted("numproc", "count", files->processes, unlimited, unlimited));
        view.add(uncounted("numfile", "count", files->files, unlimited, unlimited));
        view.add(uncounted("numsock", "count", files->sockets, unlimited, unlimited));
        view.add(uncounted("nofile", "count", files->busiest_files, files->busiest_soft, files->busiest_hard));
    }
    if (auto const& disk = input.disk) {
        auto limit = disk->limit == 0 ? unlimited : disk->limit;
        view.add(uncounted("diskspace", "bytes", disk->used, limit, limit));
    }
    return view.take();
}

} // namespace cryo::cgroup
