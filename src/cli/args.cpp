#include "cli/args.h"

#include <algorithm>

namespace cryo::cli {

bool ParsedArgs::has(std::string_view name) const
{
    return std::any_of(m_values.begin(), m_values.end(), [&](auto const& entry) { return entry.first == name; });
}

std::optional<std::string> ParsedArgs::value(std::string_view name) const
{
    for (auto it = m_values.rbegin(); it != m_values.rend(); ++it) {
        if (it->first == name)
            return it->second;
    }
    return std::nullopt;
}

std::string ParsedArgs::value_or(std::string_view name, std::string_view fallback) const
{
    auto found = value(name);
    return found ? std::move(*found) : std::string(fallback);
}

std::vector<std::string> ParsedArgs::values(std::string_view name) const
{
    std::vector<std::string> out;
    for (auto const& [key, text] : m_values) {
        if (key == name)
            out.push_back(text);
    }
    return out;
}

bool ParsedArgs::flag(std::string_view name) const
{
    auto found = value(name);
    // Stored Bool values were validated at parse time and normalised to "true"/"false".
    return found && *found == "true";
}

std::optional<bool> parse_bool(std::string_view text)
{
    for (std::string_view yes : { "1", "t", "T", "TRUE", "true", "True" }) {
        if (text == yes)
            return true;
    }
    for (std::string_view no : { "0", "f", "F", "FALSE", "false", "False" }) {
        if (text == no)
            return false;
    }
    return std::nullopt;
}

namespace {

FlagSpec const* find_flag(std::span<FlagSpec const> flags, std::string_view name)
{
    for (auto const& spec : flags) {
        if (spec.name == name || (!spec.alias.empty() && spec.alias == name))
            return &spec;
    }
    return nullptr;
}

enum class Step { Flag, Positional, EndOfFlags };

// Go's flag.FlagSet.parseOne for args[index]; advances index past what it consumed.
Result<Step> parse_one(std::span<FlagSpec const> flags, std::span<std::string const> args, size_t& index,
                       ParsedArgs& out)
{
    std::string_view arg = args[index];
    if (arg.size() < 2 || arg[0] != '-')
        return Step::Positional; // "-" alone is a value (stdin), as in Go
    size_t dashes = arg[1] == '-' ? 2 : 1;
    if (dashes == 2 && arg.size() == 2) {
        ++index;
        return Step::EndOfFlags;
    }
    std::string_view body = arg.substr(dashes);
    if (body.empty() || body[0] == '-' || body[0] == '=')
        return Error::format("bad flag syntax: {}", arg);

    std::string_view name = body;
    std::optional<std::string_view> inline_value;
    if (auto eq = body.find('='); eq != std::string_view::npos) {
        name = body.substr(0, eq);
        inline_value = body.substr(eq + 1);
    }
    ++index;

    FlagSpec const* spec = find_flag(flags, name);
    if (!spec) {
        if (name == "help" || name == "h") {
            out.set_help();
            return Step::Flag;
        }
        return Error::format("flag provided but not defined: -{}", name);
    }

    if (spec->kind == FlagKind::Bool) {
        bool on = true;
        if (inline_value) {
            auto parsed = parse_bool(*inline_value);
            if (!parsed)
                return Error::format("invalid boolean value \"{}\" for -{}", *inline_value, name);
            on = *parsed;
        }
        out.add(spec->name, on ? "true" : "false");
        return Step::Flag;
    }

    if (inline_value) {
        out.add(spec->name, std::string(*inline_value));
        return Step::Flag;
    }
    // Go's flag package takes the next argument as the value whatever it looks like, so
    // `--resources -` (stdin) and `--cwd -weird` work.
    if (index >= args.size())
        return Error::format("flag needs an argument: -{}", name);
    out.add(spec->name, args[index]);
    ++index;
    return Step::Flag;
}

} // namespace

Result<ParsedArgs> parse_args(std::span<FlagSpec const> flags, std::span<std::string const> args, ArgOrder order)
{
    ParsedArgs out;
    size_t index = 0;
    while (index < args.size()) {
        auto step = TRY(parse_one(flags, args, index, out));
        if (step == Step::Flag)
            continue;
        if (step == Step::EndOfFlags || order == ArgOrder::FlagsFirst)
            break;
        out.add_positional(args[index]);
        ++index;
    }
    for (; index < args.size(); ++index)
        out.add_positional(args[index]);
    return out;
}

Result<GlobalParse> parse_global_args(std::span<FlagSpec const> flags, std::span<std::string const> args)
{
    GlobalParse out;
    size_t index = 0;
    while (index < args.size()) {
        auto step = TRY(parse_one(flags, args, index, out.args));
        if (step != Step::Flag)
            break;
    }
    out.consumed = index;
    return out;
}

} // namespace cryo::cli
