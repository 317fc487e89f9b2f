#include "checkpoint/test_hooks.h"

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <string_view>

#include "base/log.h"
#include "sys/text.h"

namespace cryo::checkpoint {

namespace {

class Parser {
public:
    Parser(std::function<char const*(char const*)> const& lookup, std::vector<std::string>& warnings)
        : m_lookup(lookup)
        , m_warnings(warnings)
    {
    }

    // "0" or "1"; unset or invalid: `value` stays as it is (the default).
    void on_off(char const* name, bool& value)
    {
        char const* text = m_lookup(name);
        if (!text)
            return;
        std::string_view v = text;
        if (v == "0" || v == "1")
            value = v == "1";
        else
            ignore(name, text, "not 0 or 1");
    }

    void non_empty(char const* name, std::optional<std::string>& value)
    {
        char const* text = m_lookup(name);
        if (!text)
            return;
        if (*text)
            value = text;
        else
            ignore(name, text, "empty");
    }

    void signal_number(char const* name, std::optional<int>& value)
    {
        char const* text = m_lookup(name);
        if (!text)
            return;
        int n = 0;
        if (!sys::parse_whole_number(text, n) || n < 1 || n >= _NSIG)
            ignore(name, text, fmt::format("not a signal number (1 to {})", _NSIG - 1));
        else
            value = n;
    }

private:
    void ignore(char const* name, char const* text, std::string_view why)
    {
        m_warnings.push_back(fmt::format("ignoring {}={:?}: {}", name, text, why));
    }

    std::function<char const*(char const*)> const& m_lookup;
    std::vector<std::string>& m_warnings;
};

std::atomic<TestHooks const*> g_override { nullptr };

} // namespace

ParsedTestHooks parse_test_hooks(std::function<char const*(char const*)> const& lookup)
{
    ParsedTestHooks parsed;
    auto& h = parsed.hooks;
    Parser p(lookup, parsed.warnings);
    p.on_off("CRYO_PAGEMAP_SCAN", h.pagemap_scan);
    p.on_off("CRYO_DUMP_SNAPSHOT", h.dump_snapshot);
    p.non_empty("CRYO_TEST_KILL_AT", h.kill_at);
    p.signal_number("CRYO_TEST_SIGNAL_AT_RELEASE", h.signal_at_release);
    p.non_empty("CRYO_TEST_SNAPSHOT_HOLD", h.snapshot_hold);
    p.on_off("CRYO_TEST_SNAPSHOT_PROTECT_FUTEX", h.snapshot_protect_futex);
    p.on_off("CRYO_TEST_SNAPSHOT_NO_PATCH", h.snapshot_no_patch);
    return parsed;
}

TestHooks const& test_hooks()
{
    if (auto const* hooks = g_override.load())
        return *hooks;
    // A function-local static: parsed once, thread-safe, on first use (after the CLI has
    // configured the log, so the warnings go where the user asked).
    static TestHooks const from_environment = [] {
        auto parsed = parse_test_hooks([](char const* name) { return std::getenv(name); });
        for (auto const& w : parsed.warnings)
            log::warn("{}", w);
        return parsed.hooks;
    }();
    return from_environment;
}

TestHooksOverride::TestHooksOverride(TestHooks hooks)
    : m_hooks(std::move(hooks))
    , m_previous(g_override.exchange(&m_hooks))
{
}

TestHooksOverride::~TestHooksOverride()
{
    g_override.store(m_previous);
}

} // namespace cryo::checkpoint
