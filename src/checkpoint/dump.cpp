#include "checkpoint/dump.h"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <memory>
#include <optional>
#include <thread>
#include <unistd.h>
#include <unordered_map>

#include "base/log.h"
#include "checkpoint/codec.h"
#include "checkpoint/collect.h"
#include "checkpoint/files_collect.h"
#include "checkpoint/files_tcp.h"
#include "checkpoint/freeze.h"
#include "checkpoint/image.h"
#include "checkpoint/kill_point.h"
#include "checkpoint/memory_objects.h"
#include "checkpoint/pages.h"
#include "checkpoint/pidns.h"
#include "checkpoint/progress.h"
#include "checkpoint/socket_options.h"
#include "checkpoint/task_state_codec.h"
#include "checkpoint/test_hooks.h"
#include "checkpoint/wp_snapshot.h"
#include "sys/file.h"
#include "sys/procfs.h"

namespace cryo::checkpoint {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// The processes of the tree rooted at `root` as /proc shows them now, not frozen (so a
// snapshot that can be stale; at most 4096): root first, then breadth first (freeze.h TreeWalk,
// the freeze's own walk).
std::vector<int> tree_pids_unfrozen(int root)
{
    TreeWalk walk(root);
    for (size_t i = 0; i < walk.pids().size() && walk.pids().size() < 4096; ++i)
        if (auto tids = sys::list_threads(walk.pids()[i]))
            walk.add_children(walk.pids()[i], *tids);
    return walk.pids();
}

// Private memory of the tree, from /proc/PID/smaps_rollup (before it is frozen): how much
// buffer a --leave-running dump faults in beforehand. An estimate; the copy allocates more if
// the tree grew meanwhile.
uint64_t estimate_tree_bytes(int root)
{
    uint64_t total = 0;
    for (int pid : tree_pids_unfrozen(root)) {
        auto text = sys::read_file(fmt::format("/proc/{}/smaps_rollup", pid));
        total += kPageChunk; // each process's last chunk is partial
        if (text) {
            auto pos = text->find("\nAnonymous:");
            if (pos != std::string::npos)
                total += std::strtoull(text->c_str() + pos + 12, nullptr, 10) * 1024;
        }
    }
    return total;
}

using SmapsByPid = std::unordered_map<int, std::vector<sys::SmapsEntry>>;

// /proc/PID/smaps of every process of the tree, read before the freeze (collect.h,
// CollectOptions::smaps_before_freeze). A process that cannot be read is simply absent.
SmapsByPid smaps_before_freeze(int root)
{
    SmapsByPid out;
    for (int pid : tree_pids_unfrozen(root))
        if (auto smaps = sys::read_smaps(pid))
            out.emplace(pid, std::move(*smaps));
    return out;
}

// /proc/PID/smaps of the frozen processes, read on a thread of its own while the pages are
// copied (collect.h, CollectOptions::smaps_later): the walk of every page table (about 25 ms
// for 2 GiB) then shares the time of the copy instead of coming before it.
class SmapsBesideCopy {
public:
    explicit SmapsBesideCopy(std::vector<int> pids)
        : m_thread([this, pids = std::move(pids)] {
            for (int pid : pids) {
                auto smaps = sys::read_smaps(pid);
                if (!smaps) {
                    m_error = smaps.release_error().add_context(fmt::format("process {}", pid));
                    return;
                }
                m_smaps.emplace(pid, std::move(*smaps));
            }
        })
    {
    }
    SmapsBesideCopy(SmapsBesideCopy const&) = delete;
    SmapsBesideCopy& operator=(SmapsBesideCopy const&) = delete;
    ~SmapsBesideCopy()
    {
        if (m_thread.joinable())
            m_thread.join();
    }

    // Sets each process's smaps flags (collect.h apply_smaps); once.
    Result<void> apply(std::vector<Process>& processes)
    {
        m_thread.join();
        if (m_error)
            return *m_error;
        for (auto& p : processes)
            if (auto it = m_smaps.find(p.pid); it != m_smaps.end())
                apply_smaps(p.areas, it->second);
        return {};
    }

private:
    SmapsByPid m_smaps;
    std::optional<Error> m_error;
    std::thread m_thread; // last: starts once the members it fills exist
};

uint64_t available_memory()
{
    auto text = sys::read_file("/proc/meminfo");
    if (!text)
        return 0;
    auto pos = text->find("MemAvailable:");
    return pos == std::string::npos ? 0 : std::strtoull(text->c_str() + pos + 13, nullptr, 10) * 1024;
}

// Without --file-locks a lock is not silently dropped (its holder would run on without it
// after a restore): the first one found is named.
Result<void> refuse_file_locks(Process const& p)
{
    if (p.state.file_locks.empty())
        return {};
    auto const& l = p.state.file_locks.front();
    return Error::format("process {} holds a file lock ({} {} on fd {}): needs --file-locks", p.pid,
                         lock_kind_name(l.kind), l.write ? "write" : "read", l.fd);
}

// Test hook and measuring switch: CRYO_DUMP_SNAPSHOT=0 (test_hooks.h) makes --leave-running
// copy every page while frozen, as before write-protect snapshots (bench/cr.sh compares both).
bool snapshots_enabled()
{
    return test_hooks().dump_snapshot;
}

// Test hook CRYO_TEST_SNAPSHOT_HOLD=PATH (test_hooks.h), so the workload can unmap memory under
// its snapshot at a known moment (tests/cr/cr_wp_snapshot.sh, "broken").
void test_hold_after_thaw()
{
    auto const& hold = test_hooks().snapshot_hold;
    if (!hold)
        return;
    (void)sys::open(*hold + ".thawed", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    auto const go = *hold + ".go";
    for (auto ms = kSnapshotHoldLimit.count(); ms > 0 && ::access(go.c_str(), F_OK) != 0; --ms)
        ::usleep(1000);
}

// One attempt. `use_snapshot`: --leave-running thaws right after collection and copies the
// pages of the running tree through write-protect snapshots (wp_snapshot.h). If a snapshot
// breaks (the process unmapped memory not yet copied), `snapshot_failed` is set: the caller
// dumps again without snapshots.
Result<DumpStats> dump_once(DumpOptions const& options, WhileFrozen const& while_frozen, bool use_snapshot,
                            bool& snapshot_failed, double& frozen_ms)
{
    DumpStats stats;
    auto start = Clock::now();
    auto compression = parse_compression(options.compression);
    if (!compression)
        return Error::format("unknown compression {:?} (zstd, lz4 or none)", options.compression);
    if (*compression != Compression::None)
        TRY(load_compression(*compression));
    // Create the (temporary) image directory before freezing: a bad -D fails with the tree
    // never touched.
    auto writer = TRY(ImageWriter::create(options.images_dir, options.sync ? Durability::Synced : Durability::Atomic));

    // --leave-running without snapshots copies every page into memory while frozen and
    // writes after the thaw: fault that memory in now, before the freeze, so the frozen copy
    // is a plain copy. Only if it fits comfortably; otherwise pages are written while frozen,
    // as without the flag. Snapshots need no such pool: the pages are read after the thaw
    // (a process whose snapshot cannot be made is copied into buffers allocated then).
    ChunkPool pool;
    bool buffer_all = false;
    if (options.leave_running && !use_snapshot) {
        uint64_t estimate = estimate_tree_bytes(options.pid);
        buffer_all = estimate < available_memory() / 2;
        if (buffer_all)
            TRY(pool.reserve(estimate / kPageChunk + 1).context("reserve memory for the dump"));
        else
            log::info("dump {}: {} MiB of memory do not fit in memory twice; writing while frozen", options.pid,
                      estimate >> 20);
    }
    bool const thaw_early = buffer_all || use_snapshot;

    TcpDumpScope tcp_scope(options.tcp_established); // files_tcp.h
    // smaps: a dump that thaws the tree reads it before the freeze (its frozen time counts);
    // one that kills the tree, beside the page copy (its total time counts).
    bool const smaps_later = !options.leave_running;
    auto early_smaps = smaps_later ? SmapsByPid {} : smaps_before_freeze(options.pid);
    kill_point("freeze");
    auto frozen_at = Clock::now();
    auto tree = TRY(freeze_tree(options.pid).context("freeze tree of {}", options.pid));
    stats.freeze_ms = ms_since(frozen_at);
    kill_point("frozen");

    auto t = Clock::now();
    ProcessTree model;
    model.root_pid = options.pid;
    SocketDefaults socket_defaults; // one fresh socket per namespace and kind for the whole tree
    for (auto& frozen : tree.processes()) {
        auto early = early_smaps.find(frozen.pid);
        CollectOptions collect_options { .inject_failure = options.inject_failure,
                                         .smaps_before_freeze = early == early_smaps.end() ? nullptr : &early->second,
                                         .smaps_later = smaps_later,
                                         .runtime_stdio = options.runtime_stdio ? &*options.runtime_stdio : nullptr };
        model.processes.push_back(
            TRY(collect_process(frozen, socket_defaults, collect_options).context("collect process {}", frozen.pid)));
        if (!options.file_locks)
            TRY(refuse_file_locks(model.processes.back()));
        stats.threads += static_cast<int>(frozen.threads.size());
    }
    TRY(check_shell_job(model.processes, options.shell_job));
    // Shared file descriptions across processes, socket peers, and unread pipe/socket data
    // (copied without being consumed), before any page is written.
    TRY(finish_open_files(model, writer, options.ext_unix_sk).context("collect files of tree {}", options.pid));
    TRY(finish_memory_objects(model, writer).context("save shared memory of tree {}", options.pid));
    stats.collect_ms = ms_since(t);

    t = Clock::now();
    Manifest manifest;
    manifest.root_pid = options.pid;
    std::vector<PagePlan> plans;
    uint64_t total_bytes = 0;
    for (auto& p : model.processes) {
        plans.push_back(TRY(plan_pages(p.pid, p.areas).context("dump memory of {}", p.pid)));
        p.pages = plans.back().runs;
        record_guards(p.areas, plans.back()); // guard pages: not data, re-installed on restore
        total_bytes += plans.back().bytes;
        manifest.pids.push_back(p.pid);
    }
    log::debug("dump {}: pages planned in {:.1f} ms", options.pid, ms_since(t));
    // Snapshots are made with remote syscalls, so before the registers are put back. Declared
    // after `tree`: on any error they are dropped (protection removed) before it thaws.
    std::vector<std::unique_ptr<WpSnapshot>> snapshots(model.processes.size());
    if (use_snapshot)
        for (size_t i = 0; i < model.processes.size(); ++i) {
            auto& frozen = tree.processes()[i];
            if (!frozen.zombie && plans[i].bytes > 0)
                snapshots[i] = WpSnapshot::create(frozen.threads.at(0), model.processes[i].areas, plans[i],
                                                  model.processes[i].threads);
            if (snapshots[i]) {
                ++stats.snapshot_processes;
                stats.snapshot_pages_frozen += snapshots[i]->pages_copied_frozen();
            }
        }
    // No more remote syscalls: put every thread's registers back now, so that if cryo dies
    // from here on, the kernel's automatic detach lets each thread go where it was.
    for (auto& frozen : tree.processes())
        for (auto& thread : frozen.threads)
            TRY(thread.put_back_registers().context("process {}", frozen.pid));
    kill_point("collected");
    // Started after the last remote syscall: a walk of smaps holds the process's mmap lock for
    // reading, so a remote mmap (collect_from_inside's scratch page) would wait for it.
    std::optional<SmapsBesideCopy> late_smaps;
    if (smaps_later) {
        std::vector<int> pids;
        for (auto const& frozen : tree.processes())
            if (!frozen.zombie)
                pids.push_back(frozen.pid);
        late_smaps.emplace(std::move(pids));
    }

    Progress progress("dump", total_bytes);
    // Streaming: each process's pages are written as they are copied. Buffered: all are
    // copied first, their writers wait for the thaw. Snapshot: copied and written after the
    // thaw, each chunk patched by the process's snapshot.
    std::vector<std::unique_ptr<PageFileWriter>> page_writers;
    auto write_pages = [&](PageFileWriter& w, Process const& p) -> Result<void> {
        for (auto& sink : TRY(w.finish().context("dump memory of {}", p.pid))) {
            stats.bytes += sink.size();
            TRY(writer.close_file(std::move(sink)));
        }
        if (options.inject_failure == "pages")
            return Error::make("injected failure after writing pages");
        return {};
    };
    for (size_t i = 0; i < model.processes.size(); ++i) {
        auto const& p = model.processes[i];
        // Raw pages go into one file per part of their stripe layout; compressed, one file.
        uint32_t parts = *compression == Compression::None ? stripe_layout_for(plans[i].bytes).stripes : 1;
        std::vector<FileSink> sinks;
        for (uint32_t part = 0; part < parts; ++part)
            sinks.push_back(TRY(writer.create_file(page_file_name(p.pid, part))));
        PageFileWriter::Options writer_options { .compression = *compression,
                                                 .deferred = thaw_early && !snapshots[i],
                                                 .progress = &progress,
                                                 .snapshot = snapshots[i].get() };
        page_writers.push_back(std::make_unique<PageFileWriter>(std::move(sinks), pool, writer_options));
        if (snapshots[i])
            continue; // copied after the thaw
        TRY(copy_pages(p.pid, plans[i], pool, *page_writers.back()).context("dump memory of {}", p.pid));
        stats.pages += p.page_count();
        kill_point("pages");
        if (!thaw_early) {
            TRY(write_pages(*page_writers.back(), p));
            page_writers.back().reset();
        }
    }
    stats.copy_ms = ms_since(t);
    if (late_smaps)
        TRY(late_smaps->apply(model.processes).context("read smaps of tree {}", options.pid));
    // A SIGCONT since the freeze ended a group stop: the image must not say stopped (freeze.h).
    TRY(tree.recheck_group_stops());
    std::map<int, int> stop_signals; // pid -> its group stop's signal now (0: running)
    for (auto const& frozen : tree.processes())
        stop_signals[frozen.pid] = frozen.stop_signal;
    for (auto& p : model.processes) {
        auto it = stop_signals.find(p.pid);
        if (it == stop_signals.end())
            return Error::format("process {} of the image is not in the frozen tree", p.pid);
        p.state.stop_signal = it->second;
    }
    for (auto const& p : model.processes)
        TRY(writer.write_file(process_file_name(p.pid), encode_process(p)));
    // Ids inside the tree's own pid namespace, for a restore into a new one (containers).
    auto ns_pids = TRY(collect_ns_pids(model));
    TRY(writer.write_file(kNsPidsName, encode_ns_pids(ns_pids)));
    if (while_frozen)
        TRY(while_frozen(writer));

    if (thaw_early) {
        // Every page is in memory or under a snapshot: the tree runs on while the image is
        // written.
        TRY(tree.thaw().context("resume tree of {}", options.pid));
        stats.frozen_ms = frozen_ms = ms_since(frozen_at);
        kill_point("thawed");
        if (options.inject_failure == "snapshot" && use_snapshot)
            return Error::make("injected failure with the snapshots in place");
        if (use_snapshot)
            test_hold_after_thaw();
        for (size_t i = 0; i < model.processes.size(); ++i) {
            auto const& p = model.processes[i];
            if (auto& snapshot = snapshots[i]) {
                auto copied = copy_pages(p.pid, plans[i], pool, *page_writers[i]);
                // Released as soon as its pages are read: the process runs unhindered again.
                auto finished = snapshot->finish();
                stats.snapshot_pages_saved += snapshot->pages_saved();
                snapshot.reset();
                if (!copied || !finished) {
                    // A broken snapshot, or a read that failed while the process lives on
                    // (memory it unmapped meanwhile): worth one more dump without snapshots.
                    snapshot_failed = !finished || sys::exists(fmt::format("/proc/{}", p.pid));
                    return (copied ? finished.release_error() : copied.release_error())
                        .add_context(fmt::format("dump memory of {}", p.pid));
                }
                stats.pages += p.page_count();
                kill_point("pages");
            }
            TRY(write_pages(*page_writers[i], p));
            page_writers[i].reset();
        }
    }
    stats.pages_ms = ms_since(t);
    kill_point("written");
    TRY(writer.commit(manifest).context("write image {}", options.images_dir));

    if (!thaw_early) {
        if (options.leave_running)
            TRY(tree.thaw().context("resume tree of {}", options.pid));
        else {
            TRY(tcp_scope.before_kill()); // their close sends nothing to the (killed) peers
            auto killed_at = Clock::now();
            TRY(tree.kill_all());
            stats.kill_ms = ms_since(killed_at);
        }
        stats.frozen_ms = ms_since(frozen_at);
    }
    stats.processes = static_cast<int>(model.processes.size());
    stats.total_ms = ms_since(start);
    return stats;
}

} // namespace

void log_dump_stats(std::string_view what, DumpStats const& stats)
{
    auto message = fmt::format(
        "{}: {} process(es), {} pages ({} bytes); frozen {:.1f} ms (freeze {:.1f}, collect {:.1f}, memory copy {:.1f}, "
        "pages written {:.1f}, kill {:.1f}), total {:.1f} ms; snapshot: {} process(es), {} pages saved on write, {} "
        "copied while frozen",
        what, stats.processes, stats.pages, stats.bytes, stats.frozen_ms, stats.freeze_ms, stats.collect_ms,
        stats.copy_ms, stats.pages_ms, stats.kill_ms, stats.total_ms, stats.snapshot_processes,
        stats.snapshot_pages_saved, stats.snapshot_pages_frozen);
    auto count = [](auto n) { return static_cast<double>(n); };
    log::stats(log::Level::Info, message,
               { { "processes", count(stats.processes) },
                 { "threads", count(stats.threads) },
                 { "pages", count(stats.pages) },
                 { "bytes", count(stats.bytes) },
                 { "frozen_ms", stats.frozen_ms },
                 { "freeze_ms", stats.freeze_ms },
                 { "collect_ms", stats.collect_ms },
                 { "memory_copy_ms", stats.copy_ms },
                 { "pages_written_ms", stats.pages_ms },
                 { "kill_ms", stats.kill_ms },
                 { "total_ms", stats.total_ms },
                 { "snapshot_processes", count(stats.snapshot_processes) },
                 { "snapshot_pages_saved", count(stats.snapshot_pages_saved) },
                 { "snapshot_pages_frozen", count(stats.snapshot_pages_frozen) } });
}

Result<DumpStats> dump(DumpOptions const& options, WhileFrozen const& while_frozen)
{
    // Snapshots for the raw default; compressed dumps keep the copy made while frozen (their
    // chunks are compressed after the thaw from buffers, at compression speed).
    bool use_snapshot = options.leave_running && options.compression == "none" && snapshots_enabled();
    bool snapshot_failed = false;
    double first_frozen_ms = 0;
    auto stats = dump_once(options, while_frozen, use_snapshot, snapshot_failed, first_frozen_ms);
    if (!stats && snapshot_failed) {
        log::info("dump {}: {}; dumping again with the memory copied while frozen", options.pid,
                  stats.error().message());
        snapshot_failed = false;
        double frozen_ms = 0;
        stats = dump_once(options, while_frozen, false, snapshot_failed, frozen_ms);
        // The tree was frozen twice: both count.
        if (stats)
            stats->frozen_ms += first_frozen_ms;
    }
    return stats;
}

} // namespace cryo::checkpoint
