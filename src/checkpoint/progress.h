// A one-line progress report (bytes done / total, rate) on stderr while memory is dumped or
// restored, only when stderr is a terminal (and CRYO_NO_PROGRESS is unset); silent otherwise.
// add() is thread-safe and cheap: it redraws at most every 100 ms. The line is erased when the
// Progress is dropped, so later log lines start clean.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace cryo::checkpoint {

class Progress {
public:
    Progress(std::string label, uint64_t total);
    Progress(Progress const&) = delete;
    Progress& operator=(Progress const&) = delete;
    ~Progress();

    void add(uint64_t bytes);
    bool enabled() const { return m_enabled; }

private:
    void draw(uint64_t done);

    std::string m_label;
    uint64_t m_total;
    bool m_enabled;
    std::chrono::steady_clock::time_point m_start;
    std::atomic<uint64_t> m_done { 0 };
    std::atomic<int64_t> m_last_draw_ms { -1000 };
    std::atomic<bool> m_drawn { false };
};

} // namespace cryo::checkpoint
