// cryo checkpoint inspect DIR [--format json]: print an image for people or scripts.
// Checkpointing containers (runc's `checkpoint <container-id>`) is not implemented here yet.
#include "checkpoint/inspect.h"
#include "cli/options.h"

namespace cryo::cli {

namespace {

constexpr FlagSpec k_flags[] = {
    { .name = "format", .alias = "f", .kind = FlagKind::Value, .help = "text or json", .fallback = "text" },
};

Result<int> run_checkpoint(Invocation const& invocation)
{
    auto const& positionals = invocation.args.positionals();
    if (positionals.empty() || positionals[0] != "inspect")
        return Error::make(
            "checkpoint: checkpointing containers is not supported yet; `cryo checkpoint inspect DIR` prints an image");
    if (positionals.size() != 2)
        return Error::make("checkpoint inspect: exactly one image directory is required");
    auto format = invocation.args.value_or("format", "text");
    if (format != "text" && format != "json")
        return Error::format("invalid format option \"{}\" (text or json)", format);
    auto text = TRY(checkpoint::inspect_image(positionals[1],
        format == "json" ? checkpoint::InspectFormat::Json : checkpoint::InspectFormat::Text));
    print_out(text);
    return 0;
}

} // namespace

extern constinit VerbSpec const verb_checkpoint {
    .name = "checkpoint",
    .summary = "inspect checkpoint images (checkpoint inspect DIR)",
    .usage = "inspect DIR [--format json]",
    .flags = k_flags,
    .run = run_checkpoint,
};

} // namespace cryo::cli
