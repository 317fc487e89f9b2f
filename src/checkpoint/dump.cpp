#include "checkpoint/dump.h"

#include <chrono>

#include "base/log.h"
#include "checkpoint/codec.h"
#include "checkpoint/collect.h"
#include "checkpoint/files_collect.h"
#include "checkpoint/freeze.h"
#include "checkpoint/image.h"
#include "checkpoint/memory_objects.h"
#include "checkpoint/pages.h"
#include "checkpoint/pidns.h"

namespace cryo::checkpoint {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

} // namespace

Result<DumpStats> dump(DumpOptions const& options, WhileFrozen const& while_frozen)
{
    DumpStats stats;
    auto start = Clock::now();
    // Create the (temporary) image directory before freezing: a bad -D fails with the tree
    // never touched.
    auto writer = TRY(ImageWriter::create(options.images_dir));

    auto frozen_at = Clock::now();
    auto tree = TRY(freeze_tree(options.pid).context("freeze tree of {}", options.pid));
    stats.freeze_ms = ms_since(frozen_at);

    auto t = Clock::now();
    ProcessTree model;
    model.root_pid = options.pid;
    for (auto& frozen : tree.processes()) {
        model.processes.push_back(TRY(collect_process(frozen, { .inject_failure = options.inject_failure }).context("collect process {}", frozen.pid)));
        stats.threads += static_cast<int>(frozen.threads.size());
    }
    // Shared file descriptions across processes, socket peers, and unread pipe/socket data
    // (copied without being consumed), before any page is written.
    TRY(finish_open_files(model, writer).context("collect files of tree {}", options.pid));
    TRY(finish_memory_objects(model, writer).context("save shared memory of tree {}", options.pid));
    stats.collect_ms = ms_since(t);

    t = Clock::now();
    Manifest manifest;
    manifest.root_pid = options.pid;
    for (auto& p : model.processes) {
        auto sink = TRY(writer.create_file(page_file_name(p.pid)));
        p.pages = TRY(dump_pages(p.pid, p.areas, sink).context("dump memory of {}", p.pid));
        stats.bytes += sink.size();
        TRY(writer.close_file(std::move(sink)));
        if (options.inject_failure == "pages")
            return Error::make("injected failure after writing pages");
        stats.pages += p.page_count();
        manifest.pids.push_back(p.pid);
    }
    stats.pages_ms = ms_since(t);
    for (auto const& p : model.processes)
        TRY(writer.write_file(process_file_name(p.pid), encode_process(p)));
    // Ids inside the tree's own pid namespace, for a restore into a new one (containers).
    auto ns_pids = TRY(collect_ns_pids(model));
    TRY(writer.write_file(kNsPidsName, encode_ns_pids(ns_pids)));
    if (while_frozen)
        TRY(while_frozen(writer));
    TRY(writer.commit(manifest).context("write image {}", options.images_dir));

    if (options.leave_running)
        TRY(tree.thaw().context("resume tree of {}", options.pid));
    else
        TRY(tree.kill_all());
    stats.frozen_ms = ms_since(frozen_at);
    stats.processes = static_cast<int>(model.processes.size());
    stats.total_ms = ms_since(start);
    return stats;
}

} // namespace cryo::checkpoint
