// cryo list: the containers under --root, as runc's table (or JSON, or ids only).
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
    { .name = "quiet", .alias = "q", .help = "display only container IDs" },
};

} // namespace

// runc prints through Go's tabwriter (minwidth 12, padding 3): every column but the last
// is as wide as its widest cell plus 3, at least 12.
std::string list_table(std::vector<runtime::ContainerSummary> const& containers)
{
    std::vector<std::vector<std::string>> rows;
    rows.push_back({ "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER" });
    for (auto const& c : containers)
        rows.push_back({ c.id, std::to_string(c.pid), c.status, c.bundle, c.created, c.owner });
    size_t const columns = rows[0].size();
    std::vector<size_t> widths(columns, 12);
    for (auto const& row : rows) {
        for (size_t i = 0; i + 1 < columns; ++i)
            widths[i] = std::max(widths[i], row[i].size() + 3);
    }
    std::string out;
    for (auto const& row : rows) {
        for (size_t i = 0; i + 1 < columns; ++i)
            out += fmt::format("{:<{}}", row[i], widths[i]);
        out += row.back();
        out += '\n';
    }
    return out;
}

std::string list_json(std::vector<runtime::ContainerSummary> const& containers)
{
    std::string out = "[";
    for (auto const& c : containers) {
        if (out.size() > 1)
            out += ',';
        out += fmt::format(R"({{"id":"{}","pid":{},"status":"{}","bundle":"{}","created":"{}","owner":"{}"}})",
                           log::json_escape(c.id), c.pid, log::json_escape(c.status), log::json_escape(c.bundle),
                           log::json_escape(c.created), log::json_escape(c.owner));
    }
    out += "]\n";
    return out;
}

namespace {

Result<int> run_list(Invocation const& invocation)
{
    TRY(require_args(invocation, ArgCount::Exact, 0));
    auto format = invocation.args.value_or("format", "table");
    bool quiet = invocation.args.flag("quiet");
    if (format != "table" && format != "json")
        return Error::format("invalid format option \"{}\" (table or json)", format);
    auto containers = TRY(runtime::list(invocation.context));
    if (quiet) {
        std::string out;
        for (auto const& c : containers)
            out += c.id + '\n';
        print_out(out);
    } else if (format == "json") {
        print_out(list_json(containers));
    } else {
        print_out(list_table(containers));
    }
    return 0;
}

} // namespace

extern constinit VerbSpec const verb_list {
    .name = "list",
    .summary = "lists containers started by cryo with the given root",
    .usage = "[command options]",
    .flags = k_flags,
    .run = run_list,
};

} // namespace cryo::cli
