// What a CLI verb is: its name, help text, flag table and entry point. Every verb file in
// cli/verbs/ defines one `VerbSpec const verb_<name>` and is listed once in cli/verbs.def;
// that is all it takes to add a verb. Specs are constant data (no static constructors), so
// startup stays at a few microseconds however many verbs exist.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "base/error.h"
#include "cli/args.h"
#include "runtime/api.h"

namespace cryo::cli {

struct VerbSpec;

// One parsed command line, as a verb sees it.
struct Invocation {
    runtime::Context context; // from the global flags
    ParsedArgs args; // the verb's flags and positional arguments
    VerbSpec const* verb { nullptr };
};

struct VerbSpec {
    std::string_view name {};
    std::string_view summary {}; // one line, for `cryo --help`
    std::string_view usage {}; // after "cryo <verb> ": "[command options] <container-id>"
    std::string_view description {}; // longer text for `cryo <verb> --help` (may be empty)
    std::span<FlagSpec const> flags {};
    ArgOrder order { ArgOrder::Interleaved };
    // Returns the process exit status (0 for most verbs; run/exec: the container process's).
    Result<int> (*run)(Invocation const& invocation) { nullptr };
    bool hidden { false }; // accepted but not listed in `cryo --help`
};

// All verbs, in the order of cli/verbs.def.
std::span<VerbSpec const* const> all_verbs();
VerbSpec const* find_verb(std::string_view name);

// runc's checkArgs: `"create" requires exactly 1 argument(s)`.
enum class ArgCount { Exact, Min, Max };
Result<void> require_args(Invocation const& invocation, ArgCount kind, size_t count);

// The container id (first positional), validated with runc's rule.
Result<std::string> container_id(Invocation const& invocation);

// Help text for one verb (`cryo create --help`) and for the program (`cryo --help`).
std::string verb_help(VerbSpec const& verb);
std::string program_help();
std::string version_text();

// Writes text to stdout completely (retrying short writes); output errors are ignored,
// as with printf, because there is nobody left to tell.
void print_out(std::string_view text);

} // namespace cryo::cli
