// Background filling of restored processes' memory (restore side of pages.h). restore()
// submits a process's page file as soon as its areas are mapped and rebuilds the next
// processes while the pages go in; wait() for a process returns only once every page is in,
// the file's size and CRC-32C are verified and its userfaultfd ranges are unregistered, so a
// process is touched again (protections, files, threads, registers) and let run only after
// its memory is complete and checked. Raw page files are cut into kStreamChunk chunks taken,
// oldest job first, by one worker thread and by whichever thread waits (two threads: the
// machine's cores; the one that would wait works instead). Compressed files are filled at
// submit, as restore_pages does.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "base/error.h"
#include "checkpoint/image.h"
#include "checkpoint/model.h"
#include "checkpoint/pages.h"

namespace cryo::checkpoint {

class PageFiller {
public:
    PageFiller();
    PageFiller(PageFiller const&) = delete;
    PageFiller& operator=(PageFiller const&) = delete;
    // Stops the worker after the chunk it is copying; jobs not waited for are dropped (their
    // processes are killed by the failed restore, never run).
    ~PageFiller();

    // Starts filling `runs` of process `pid` (host pid) from `sources` (open_page_files),
    // through `uffd` for the runs inside its ranges. Returns the job to wait() for. Errors
    // found at once (a size that does not match the page index) are returned here.
    Result<size_t> submit(int pid, std::vector<PageRun> runs, std::vector<FileSource> sources,
                          std::optional<UffdFill> uffd);
    // Helps with the job's chunks, waits until all are in, then checks the CRC and
    // unregisters the userfaultfd: the first error of the job, or success. Once per job.
    Result<void> wait(size_t job);

    struct Job;

private:
    // Copies one chunk of the oldest job at or before `limit` that has chunks left; false
    // when there is none. Called with m_mutex held in `lock`, which it releases while copying.
    bool copy_next_chunk(std::unique_lock<std::mutex>& lock, size_t limit);
    void work();

    std::mutex m_mutex;
    std::condition_variable m_changed;
    std::vector<std::unique_ptr<Job>> m_jobs;
    size_t m_oldest_open { 0 }; // no job before this one has chunks left to take
    bool m_stop { false };
    std::thread m_worker; // started with the first raw job
};

} // namespace cryo::checkpoint
