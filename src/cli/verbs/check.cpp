// cryo check: probes the kernel features the checkpoint engine needs (like `criu check`).
// Exit status 1 when a required one is missing.
#include "checkpoint/check.h"
#include "cli/options.h"

namespace cryo::cli {

namespace {

Result<int> run_check(Invocation const& invocation)
{
    TRY(require_args(invocation, ArgCount::Exact, 0));
    bool missing = false;
    std::string out;
    for (auto const& probe : checkpoint::probe_kernel()) {
        out += fmt::format("{:<18} {:<8} {}\n", probe.name, probe.ok ? "ok" : (probe.required ? "MISSING" : "missing"),
                           probe.detail);
        missing |= !probe.ok && probe.required;
    }
    out += missing ? "Some features the checkpoint engine needs are missing.\n" : "Looks good.\n";
    print_out(out);
    return missing ? 1 : 0;
}

} // namespace

extern constinit VerbSpec const verb_check {
    .name = "check",
    .summary = "check the kernel features checkpoint/restore needs",
    .usage = "",
    .flags = {},
    .run = run_check,
};

} // namespace cryo::cli
