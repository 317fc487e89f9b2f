// cryo top: the container's processes with the pids they have inside it (what `ps` shows
// when run in the container), next to their host pids, user and command; orphans adopted
// by the container's init are included. Table for people, --format json for scripts.
#include <algorithm>

#include <fmt/format.h>

#include "base/log.h"
#include "cli/options.h"

namespace cryo::cli {

namespace {

constexpr FlagSpec k_flags[] = {
    { .name = "format",
      .alias = "f",
      .kind = FlagKind::Value,
      .help = "select one of: table or json",
      .fallback = "\"table\"" },
};

std::string top_table(std::vector<runtime::ProcessEntry> const& entries)
{
    std::vector<std::vector<std::string>> rows;
    rows.push_back({ "PID", "PPID", "HOST PID", "USER", "STAT", "COMMAND" });
    for (auto const& e : entries)
        rows.push_back({ std::to_string(e.pid), std::to_string(e.ppid), std::to_string(e.host_pid), e.user,
                         std::string(1, e.state), e.command });
    std::vector<size_t> widths(rows[0].size(), 0);
    for (auto const& row : rows)
        for (size_t i = 0; i + 1 < row.size(); ++i)
            widths[i] = std::max(widths[i], row[i].size());
    std::string out;
    for (auto const& row : rows) {
        for (size_t i = 0; i + 1 < row.size(); ++i) {
            // Numbers right-aligned as ps does, text left-aligned.
            if (i < 3)
                out += fmt::format("{:>{}}  ", row[i], widths[i]);
            else
                out += fmt::format("{:<{}}  ", row[i], widths[i]);
        }
        out += row.back();
        out += '\n';
    }
    return out;
}

std::string top_json(std::vector<runtime::ProcessEntry> const& entries)
{
    std::string out = "[";
    for (auto const& e : entries) {
        if (out.size() > 1)
            out += ',';
        out += fmt::format(R"({{"pid":{},"ppid":{},"host_pid":{},"uid":{},"user":"{}","state":"{}","command":"{}"}})",
                           e.pid, e.ppid, e.host_pid, e.uid, log::json_escape(e.user),
                           log::json_escape(std::string(1, e.state)), log::json_escape(e.command));
    }
    return out + "]\n";
}

Result<int> run_top(Invocation const& invocation)
{
    TRY(require_args(invocation, ArgCount::Exact, 1));
    auto format = invocation.args.value_or("format", "table");
    if (format != "table" && format != "json")
        return Error::format("invalid format option \"{}\" (table or json)", format);
    auto id = TRY(container_id(invocation));
    auto entries = TRY(runtime::top(invocation.context, id).context("top {}", id));
    print_out(format == "json" ? top_json(entries) : top_table(entries));
    return 0;
}

} // namespace

extern constinit VerbSpec const verb_top {
    .name = "top",
    .summary = "top lists a container's processes with their pids inside the container",
    .usage = "[command options] <container-id>",
    .description = "Shows PID and PPID as seen inside the container (orphans adopted by its init included),\n"
                   "   the host pid, user (from the container's /etc/passwd), state and command.",
    .flags = k_flags,
    .run = run_top,
};

} // namespace cryo::cli
