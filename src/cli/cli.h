// cryo's command line: global flags, then a verb from the verb table with its own flags.
// cryo_main is the whole program; parse_command_line is its pure front half (unit-tested
// against the exact argv lines podman, containerd and docker send).
#pragma once

#include <span>
#include <string>

#include "base/error.h"
#include "base/log.h"
#include "cli/verb.h"

namespace cryo::cli {

struct CommandLine {
    enum class Action {
        Run, // run invocation.verb
        ProgramHelp, // `cryo`, `cryo --help`, `cryo help`
        VerbHelp, // `cryo <verb> --help`, `cryo help <verb>`
        Version, // `cryo --version`
    };
    Action action { Action::Run };
    Invocation invocation;
    log::Config log; // from --log, --log-format, --debug
};

// args excludes argv[0]. Errors are usage errors ("unknown command \"x\"", "create: flag
// provided but not defined: -foo"); the caller prints them and exits 1. `log_config`, if
// given, receives the logging flags as soon as they are parsed, even if a later part fails.
Result<CommandLine> parse_command_line(std::span<std::string const> args, log::Config* log_config = nullptr);

// The program: returns the process exit status.
int cryo_main(int argc, char** argv);

} // namespace cryo::cli
