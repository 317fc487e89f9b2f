// cryo spec: write a starter config.json (runc's default spec) into the bundle directory.
#include <fcntl.h>

#include "cli/options.h"
#include "sys/file.h"

namespace cryo::cli {

namespace {

constexpr FlagSpec k_flags[] = {
    { .name = "bundle", .alias = "b", .kind = FlagKind::Value, .help = "path to the root of the bundle directory" },
    { .name = "rootless", .help = "generate a configuration for a rootless container" },
};

Result<int> run_spec(Invocation const& invocation)
{
    TRY(require_args(invocation, ArgCount::Exact, 0));
    auto bundle = invocation.args.value_or("bundle", "");
    std::string path = bundle.empty() ? "config.json" : bundle + "/config.json";
    auto json = oci::to_json(oci::default_spec(invocation.args.flag("rootless")));
    if (json.empty() || json.back() != '\n')
        json += '\n';
    // O_EXCL, not a check then a write: an existing config.json is never overwritten.
    auto file = sys::open(path, O_WRONLY | O_CREAT | O_EXCL, 0666);
    if (file.is_error() && file.error().is_errno(EEXIST))
        return Error::make("File config.json exists. Remove it first");
    auto fd = TRY(std::move(file).context("spec"));
    TRY(sys::write_all(fd.ref(), json).context("write {}", path));
    return 0;
}

} // namespace

extern constinit VerbSpec const verb_spec {
    .name = "spec",
    .summary = "create a new specification file",
    .usage = "[command options]",
    .description = "Writes config.json for a container that runs `sh` with a terminal in ./rootfs;\n"
                   "   edit it to taste. An existing config.json is never overwritten.",
    .flags = k_flags,
    .run = run_spec,
};

} // namespace cryo::cli
