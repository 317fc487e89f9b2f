#include "checkpoint/progress.h"

#include <cstdio>
#include <cstdlib>
#include <unistd.h>

namespace cryo::checkpoint {

Progress::Progress(std::string label, uint64_t total)
    : m_label(std::move(label))
    , m_total(total)
    , m_enabled(total > 0 && ::isatty(STDERR_FILENO) == 1 && std::getenv("CRYO_NO_PROGRESS") == nullptr)
    , m_start(std::chrono::steady_clock::now())
{
}

Progress::~Progress()
{
    if (m_enabled && m_drawn) {
        // Erase the line: "\r", clear to end of line.
        std::fputs("\r\033[K", stderr);
        std::fflush(stderr);
    }
}

void Progress::add(uint64_t bytes)
{
    uint64_t done = m_done.fetch_add(bytes, std::memory_order_relaxed) + bytes;
    if (!m_enabled)
        return;
    auto now_ms
        = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - m_start).count();
    int64_t last = m_last_draw_ms.load(std::memory_order_relaxed);
    // One thread wins the right to draw each 100 ms slot; the others skip.
    if (now_ms - last < 100 || !m_last_draw_ms.compare_exchange_strong(last, now_ms))
        return;
    draw(done);
}

void Progress::draw(uint64_t done)
{
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
    double rate = seconds > 0 ? static_cast<double>(done) / seconds / 1e6 : 0;
    std::fprintf(stderr, "\r\033[K%s: %.0f / %.0f MiB (%.0f%%), %.0f MB/s", m_label.c_str(),
                 static_cast<double>(done) / (1 << 20), static_cast<double>(m_total) / (1 << 20),
                 100.0 * static_cast<double>(done) / static_cast<double>(m_total), rate);
    std::fflush(stderr);
    m_drawn = true;
}

} // namespace cryo::checkpoint
