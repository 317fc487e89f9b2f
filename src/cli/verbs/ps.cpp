// cryo ps: the container's processes: a JSON array of host pids, or `ps` output (default
// `ps -ef`, or the ps arguments given after the id) filtered to those pids, as runc does.
#include <algorithm>

#include "cli/options.h"
#include "cli/values.h"
#include "sys/spawn.h"

namespace cryo::cli {

namespace {

constexpr FlagSpec k_flags[] = {
    { .name = "format",
      .alias = "f",
      .kind = FlagKind::Value,
      .help = "select one of: table or json",
      .fallback = "\"table\"" },
};

std::vector<std::string_view> fields_of(std::string_view line)
{
    std::vector<std::string_view> fields;
    size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
            ++i;
        size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t')
            ++i;
        if (i > start)
            fields.push_back(line.substr(start, i - start));
    }
    return fields;
}

Result<int> run_ps(Invocation const& invocation)
{
    TRY(require_args(invocation, ArgCount::Min, 1));
    auto format = invocation.args.value_or("format", "table");
    if (format != "table" && format != "json")
        return Error::format("invalid format option \"{}\" (table or json)", format);
    auto id = TRY(container_id(invocation));
    auto pids = TRY(runtime::pids(invocation.context, id));

    if (format == "json") {
        std::string out = "[";
        for (size_t i = 0; i < pids.size(); ++i)
            out += fmt::format("{}{}", i ? "," : "", pids[i]);
        print_out(out + "]\n");
        return 0;
    }

    auto const& positionals = invocation.args.positionals();
    std::vector<std::string> command { "ps" };
    if (positionals.size() > 1)
        command.insert(command.end(), positionals.begin() + 1, positionals.end());
    else
        command.push_back("-ef");
    auto output = TRY(sys::run_capture(command));
    print_out(TRY(filter_ps_output(output, pids)));
    return 0;
}

} // namespace

Result<std::string> filter_ps_output(std::string_view text, std::vector<int> const& pids)
{
    auto header_end = text.find('\n');
    std::string_view header = text.substr(0, header_end);
    auto header_fields = fields_of(header);
    auto pid_column = std::find(header_fields.begin(), header_fields.end(), "PID");
    if (pid_column == header_fields.end())
        return Error::make("couldn't find PID field in ps output");
    size_t pid_index = static_cast<size_t>(pid_column - header_fields.begin());

    std::string out(header);
    out += '\n';
    text = header_end == std::string_view::npos ? std::string_view {} : text.substr(header_end + 1);
    while (!text.empty()) {
        auto end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view {} : text.substr(end + 1);
        auto fields = fields_of(line);
        if (fields.size() <= pid_index)
            continue;
        auto pid = parse_int(fields[pid_index]);
        if (pid && std::find(pids.begin(), pids.end(), pid.value()) != pids.end()) {
            out += line;
            out += '\n';
        }
    }
    return out;
}

extern constinit VerbSpec const verb_ps {
    .name = "ps",
    .summary = "ps displays the processes running inside a container",
    .usage = "[command options] <container-id> [ps options]",
    .flags = k_flags,
    .order = ArgOrder::FlagsFirst,
    .run = run_ps,
};

} // namespace cryo::cli
