#include "checkpoint/dump.h"

#include <chrono>
#include <cstring>
#include <csignal>
#include <cstdlib>
#include <memory>

#include "base/log.h"
#include "sys/file.h"
#include "sys/procfs.h"
#include "checkpoint/codec.h"
#include "checkpoint/collect.h"
#include "checkpoint/files_collect.h"
#include "checkpoint/files_tcp.h"
#include "checkpoint/freeze.h"
#include "checkpoint/image.h"
#include "checkpoint/memory_objects.h"
#include "checkpoint/kill_point.h"
#include "checkpoint/pages.h"
#include "checkpoint/progress.h"
#include "checkpoint/pidns.h"
#include "checkpoint/task_state_codec.h"

namespace cryo::checkpoint {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// Private memory of the tree, from /proc/PID/smaps_rollup (before it is frozen): how much
// buffer a --leave-running dump faults in beforehand. An estimate; the copy allocates more if
// the tree grew meanwhile.
uint64_t estimate_tree_bytes(int root)
{
    uint64_t total = 0;
    std::vector<int> todo { root };
    for (size_t i = 0; i < todo.size() && i < 4096; ++i) {
        int pid = todo[i];
        auto text = sys::read_file(fmt::format("/proc/{}/smaps_rollup", pid));
        total += kPageChunk; // each process's last chunk is partial
        if (text) {
            auto pos = text->find("\nAnonymous:");
            if (pos != std::string::npos)
                total += std::strtoull(text->c_str() + pos + 12, nullptr, 10) * 1024;
        }
        auto tids = sys::list_threads(pid);
        if (!tids)
            continue;
        for (int tid : *tids)
            if (auto children = sys::list_children(pid, tid))
                todo.insert(todo.end(), children->begin(), children->end());
    }
    return total;
}

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

} // namespace

Result<DumpStats> dump(DumpOptions const& options, WhileFrozen const& while_frozen)
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

    // --leave-running copies every page into memory while frozen and writes after the thaw:
    // fault that memory in now, before the freeze, so the frozen copy is a plain copy. Only
    // if it fits comfortably; otherwise pages are written while frozen, as without the flag.
    ChunkPool pool;
    bool buffer_all = false;
    if (options.leave_running) {
        uint64_t estimate = estimate_tree_bytes(options.pid);
        buffer_all = estimate < available_memory() / 2;
        if (buffer_all)
            TRY(pool.reserve(estimate / kPageChunk + 1).context("reserve memory for the dump"));
        else
            log::info("dump {}: {} MiB of memory do not fit in memory twice; writing while frozen", options.pid,
                estimate >> 20);
    }

    TcpDumpScope tcp_scope(options.tcp_established); // files_tcp.h
    kill_point("freeze");
    auto frozen_at = Clock::now();
    auto tree = TRY(freeze_tree(options.pid).context("freeze tree of {}", options.pid));
    stats.freeze_ms = ms_since(frozen_at);
    kill_point("frozen");

    auto t = Clock::now();
    ProcessTree model;
    model.root_pid = options.pid;
    for (auto& frozen : tree.processes()) {
        model.processes.push_back(TRY(collect_process(frozen, { .inject_failure = options.inject_failure }).context("collect process {}", frozen.pid)));
        if (!options.file_locks)
            TRY(refuse_file_locks(model.processes.back()));
        stats.threads += static_cast<int>(frozen.threads.size());
    }
    TRY(check_shell_job(model.processes, options.shell_job));
    // Shared file descriptions across processes, socket peers, and unread pipe/socket data
    // (copied without being consumed), before any page is written.
    TRY(finish_open_files(model, writer, options.ext_unix_sk).context("collect files of tree {}", options.pid));
    TRY(finish_memory_objects(model, writer).context("save shared memory of tree {}", options.pid));
    // No more remote syscalls: put every thread's registers back now, so that if cryo dies
    // from here on, the kernel's automatic detach lets each thread go where it was.
    for (auto& frozen : tree.processes())
        for (auto& thread : frozen.threads)
            TRY(thread.put_back_registers().context("process {}", frozen.pid));
    stats.collect_ms = ms_since(t);
    kill_point("collected");

    t = Clock::now();
    Manifest manifest;
    manifest.root_pid = options.pid;
    std::vector<PagePlan> plans;
    uint64_t total_bytes = 0;
    for (auto& p : model.processes) {
        plans.push_back(TRY(plan_pages(p.pid, p.areas).context("dump memory of {}", p.pid)));
        p.pages = plans.back().runs;
        total_bytes += plans.back().bytes;
        manifest.pids.push_back(p.pid);
    }
    Progress progress("dump", total_bytes);
    PageFileWriter::Options writer_options { .compression = *compression, .deferred = buffer_all, .progress = &progress };
    // Streaming: each process's pages are written as they are copied. Buffered: all are
    // copied first, their writers wait for the thaw.
    std::vector<std::unique_ptr<PageFileWriter>> page_writers;
    auto write_pages = [&](PageFileWriter& w, Process const& p) -> Result<void> {
        auto sink = TRY(w.finish().context("dump memory of {}", p.pid));
        stats.bytes += sink.size();
        TRY(writer.close_file(std::move(sink)));
        if (options.inject_failure == "pages")
            return Error::make("injected failure after writing pages");
        return {};
    };
    for (size_t i = 0; i < model.processes.size(); ++i) {
        auto const& p = model.processes[i];
        auto sink = TRY(writer.create_file(page_file_name(p.pid)));
        page_writers.push_back(std::make_unique<PageFileWriter>(std::move(sink), pool, writer_options));
        TRY(copy_pages(p.pid, plans[i], pool, *page_writers.back()).context("dump memory of {}", p.pid));
        stats.pages += p.page_count();
        kill_point("pages");
        if (!buffer_all) {
            TRY(write_pages(*page_writers.back(), p));
            page_writers.back().reset();
        }
    }
    stats.copy_ms = ms_since(t);
    for (auto const& p : model.processes)
        TRY(writer.write_file(process_file_name(p.pid), encode_process(p)));
    // Ids inside the tree's own pid namespace, for a restore into a new one (containers).
    auto ns_pids = TRY(collect_ns_pids(model));
    TRY(writer.write_file(kNsPidsName, encode_ns_pids(ns_pids)));
    if (while_frozen)
        TRY(while_frozen(writer));

    if (buffer_all) {
        // Every page is in memory: the tree runs on while the image is written.
        TRY(tree.thaw().context("resume tree of {}", options.pid));
        stats.frozen_ms = ms_since(frozen_at);
        kill_point("thawed");
        for (size_t i = 0; i < model.processes.size(); ++i) {
            TRY(write_pages(*page_writers[i], model.processes[i]));
            page_writers[i].reset();
        }
    }
    stats.pages_ms = ms_since(t);
    kill_point("written");
    TRY(writer.commit(manifest).context("write image {}", options.images_dir));

    if (!buffer_all) {
        if (options.leave_running)
            TRY(tree.thaw().context("resume tree of {}", options.pid));
        else {
            TRY(tcp_scope.before_kill()); // their close sends nothing to the (killed) peers
            TRY(tree.kill_all());
        }
        stats.frozen_ms = ms_since(frozen_at);
    }
    stats.processes = static_cast<int>(model.processes.size());
    stats.total_ms = ms_since(start);
    return stats;
}

} // namespace cryo::checkpoint
