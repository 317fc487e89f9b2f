// Command-line parsing with runc's semantics (urfave/cli v1 on top of Go's flag package):
// a flag is written with one or two dashes (`-no-subreaper` == `--no-subreaper`), a value
// follows as `--flag=value` or `--flag value`, booleans take no separate value, flags may
// repeat (list flags collect every value; other flags keep the last), `--` ends flags.
// Invariant: a ParsedArgs only holds flags named in the table it was parsed against, under
// their canonical (first) name, so verbs look values up by one name only.
//
// Why not CLI11 (STYLE.md names it): CLI11 treats `-no-subreaper` as the short flags
// `-n -o -- ...`, while containerd sends exactly that single-dash long form, and Go's flag
// package takes the next argument as a value even when it starts with '-' (`--resources -`).
// Matching those rules with CLI11 means fighting it; a table-driven parser of ~200 lines
// matches them directly, costs nothing at startup (the tables are constexpr data, no
// static constructors), and keeps CLI11's header-only weight out of every verb file.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"

namespace cryo::cli {

enum class FlagKind {
    Bool, // --detach, --detach=false
    Value, // --bundle B, --bundle=B; repeated: the last wins (Go flag)
    List, // --env A --env B: every value, in order
};

struct FlagSpec {
    std::string_view name; // canonical long name, without dashes
    std::string_view alias {}; // a second name (short "b" or a spelling like "cpu-share")
    FlagKind kind { FlagKind::Bool };
    std::string_view help {};
    std::string_view fallback {}; // shown in help as "(default: ...)"
};

// How flags and positional arguments mix after the verb.
enum class ArgOrder {
    // urfave/cli's reordering: flags anywhere until `--` (`delete ID --force` works).
    Interleaved,
    // Go flag: flags end at the first positional; the rest is positional even if it
    // looks like a flag (`exec ID sh -c x`, `ps ID -o pid`).
    FlagsFirst,
};

class ParsedArgs {
public:
    bool has(std::string_view name) const;
    // The last value given (Value flags), or nullopt.
    std::optional<std::string> value(std::string_view name) const;
    std::string value_or(std::string_view name, std::string_view fallback) const;
    // Every value given, in order (List flags; for others, each occurrence).
    std::vector<std::string> values(std::string_view name) const;
    // A Bool flag's final value (false when absent).
    bool flag(std::string_view name) const;
    bool help_requested() const { return m_help; }

    std::vector<std::string> const& positionals() const { return m_positionals; }

    void add(std::string_view name, std::string value) { m_values.emplace_back(name, std::move(value)); }
    void add_positional(std::string value) { m_positionals.push_back(std::move(value)); }
    void set_help() { m_help = true; }

private:
    std::vector<std::pair<std::string_view, std::string>> m_values;
    std::vector<std::string> m_positionals;
    bool m_help { false };
};

// Parses `args` (not including the program or verb name) against `flags`. `-h`, `-help`,
// `--help` set help_requested() instead of failing. Errors read like Go's flag package:
// "flag provided but not defined: -foo", "flag needs an argument: -bundle".
Result<ParsedArgs> parse_args(std::span<FlagSpec const> flags, std::span<std::string const> args, ArgOrder order);

// The global part of a command line: flags up to the first positional (the verb).
// `consumed` is the number of arguments that were flags, so args[consumed] is the verb.
struct GlobalParse {
    ParsedArgs args;
    size_t consumed { 0 };
};
Result<GlobalParse> parse_global_args(std::span<FlagSpec const> flags, std::span<std::string const> args);

// Go's strconv.ParseBool: 1 t T TRUE true True 0 f F FALSE false False.
std::optional<bool> parse_bool(std::string_view text);

} // namespace cryo::cli
