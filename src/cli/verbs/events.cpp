// cryo events: container statistics as JSON lines: one with --stats, otherwise one every
// --interval until the container stops (plus OOM events where the cgroup reports them).
#include "cli/options.h"
#include "cli/values.h"

namespace cryo::cli {

namespace {

constexpr FlagSpec k_flags[] = {
    { .name = "interval", .kind = FlagKind::Value, .help = "set the stats collection interval", .fallback = "5s" },
    { .name = "stats", .help = "display the container's stats then exit" },
};

Result<int> run_events(Invocation const& invocation)
{
    auto options = TRY(events_options(invocation));
    TRY(runtime::events(invocation.context, options, [](std::string const& line) {
        // One write per event so that a reader on a pipe sees whole lines as they happen.
        print_out(line.ends_with('\n') ? line : line + '\n');
    }));
    return 0;
}

} // namespace

Result<runtime::EventsOptions> events_options(Invocation const& invocation)
{
    TRY(require_args(invocation, ArgCount::Exact, 1));
    runtime::EventsOptions options {
        .id = TRY(container_id(invocation)),
        .stats = invocation.args.flag("stats"),
        .interval = std::chrono::milliseconds(5000),
    };
    if (auto text = invocation.args.value("interval")) {
        auto interval = TRY(parse_duration(*text).context("--interval"));
        if (interval.count() <= 0)
            return Error::make("--interval: duration value must be greater than 0");
        // Round up so that "500us" does not become a busy loop of 0 ms.
        options.interval = std::chrono::ceil<std::chrono::milliseconds>(interval);
    }
    return options;
}

extern constinit VerbSpec const verb_events {
    .name = "events",
    .summary = "display container events such as OOM notifications, cpu, memory, and IO usage statistics",
    .usage = "[command options] <container-id>",
    .flags = k_flags,
    .run = run_events,
};

} // namespace cryo::cli
