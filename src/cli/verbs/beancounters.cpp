// cryo beancounters [ID]: for each container (all when no ID) and each resource, what it
// holds, the most it held, its barrier and limit, and how often the limit refused, as
// OpenVZ's /proc/user_beancounters shows them. Column sources: docs/beancounters.md.
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

std::string number_or(uint64_t value, char const* unlimited_text)
{
    return value == UINT64_MAX ? unlimited_text : std::to_string(value);
}

std::string beancounters_table(std::vector<runtime::ContainerBeancounters> const& containers)
{
    std::vector<std::vector<std::string>> rows;
    rows.push_back({ "ID", "RESOURCE", "UNIT", "HELD", "MAXHELD", "BARRIER", "LIMIT", "FAILCNT" });
    for (auto const& container : containers) {
        for (auto const& row : container.rows)
            rows.push_back({ container.id, row.resource, row.unit, std::to_string(row.held),
                             std::to_string(row.maxheld), number_or(row.barrier, "max"), number_or(row.limit, "max"),
                             row.failcnt_counted ? std::to_string(row.failcnt) : "-" });
    }
    // Text columns to the left, numbers to the right, 2 spaces apart.
    size_t const columns = rows[0].size();
    std::vector<size_t> widths(columns, 0);
    for (auto const& row : rows)
        for (size_t i = 0; i < columns; ++i)
            widths[i] = std::max(widths[i], row[i].size());
    std::string out;
    for (auto const& row : rows) {
        std::string line;
        for (size_t i = 0; i < columns; ++i) {
            if (i > 0)
                line += "  ";
            line += i < 3 ? fmt::format("{:<{}}", row[i], widths[i]) : fmt::format("{:>{}}", row[i], widths[i]);
        }
        while (!line.empty() && line.back() == ' ')
            line.pop_back();
        out += line + '\n';
    }
    return out;
}

// Unlimited barrier/limit and uncounted failcnt are null, so scripts can test for them.
std::string beancounters_json(std::vector<runtime::ContainerBeancounters> const& containers)
{
    std::string out = "[";
    for (auto const& container : containers) {
        if (out.size() > 1)
            out += ',';
        out += fmt::format(R"({{"id":"{}","status":"{}","resources":[)", log::json_escape(container.id),
                           log::json_escape(container.status));
        bool first = true;
        for (auto const& row : container.rows) {
            if (!first)
                out += ',';
            first = false;
            out += fmt::format(
                R"({{"resource":"{}","unit":"{}","held":{},"maxheld":{},"barrier":{},"limit":{},"failcnt":{}}})",
                log::json_escape(row.resource), log::json_escape(row.unit), row.held, row.maxheld,
                number_or(row.barrier, "null"), number_or(row.limit, "null"),
                row.failcnt_counted ? std::to_string(row.failcnt) : "null");
        }
        out += "]}";
    }
    out += "]\n";
    return out;
}

Result<int> run_beancounters(Invocation const& invocation)
{
    TRY(require_args(invocation, ArgCount::Max, 1));
    auto format = invocation.args.value_or("format", "table");
    if (format != "table" && format != "json")
        return Error::format("invalid format option \"{}\" (table or json)", format);
    std::string id;
    if (!invocation.args.positionals().empty())
        id = TRY(container_id(invocation));
    auto containers = TRY(runtime::beancounters(invocation.context, id));
    print_out(format == "json" ? beancounters_json(containers) : beancounters_table(containers));
    return 0;
}

} // namespace

extern constinit VerbSpec const verb_beancounters {
    .name = "beancounters",
    .summary = "show every resource's held, maxheld, barrier, limit and failcnt (OpenVZ style)",
    .usage = "[command options] [<container-id>]",
    .description = "Without an id, every container under --root. Rates (cpu in thousandths of a CPU, io)\n"
                   "   are averaged since the previous call at least 1s ago, else since the container started.",
    .flags = k_flags,
    .run = run_beancounters,
};

} // namespace cryo::cli
