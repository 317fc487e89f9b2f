// cryo commit ID NAME: a container's changes (its overlay upper dir) as a new image on top of
// the image it was created from (`run/create --image`). A running container is paused for the
// copy, as docker commit does, so the layer is one consistent moment.
#include <nlohmann/json.hpp>

#include "base/log.h"
#include "base/scope_guard.h"
#include "cli/options.h"
#include "runtime/extras_image.h"

namespace cryo::cli {

namespace {

constexpr FlagSpec k_flags[] = {
    { .name = "replace", .help = "replace an existing image of that name" },
    { .name = "no-pause", .help = "do not pause a running container while its changes are copied" },
};

// "running", "paused", ... from `state`; "" when unknown.
std::string container_status(runtime::Context const& context, std::string const& id)
{
    auto state = runtime::state_json(context, id);
    if (!state)
        return {};
    auto doc = nlohmann::json::parse(*state, nullptr, false);
    if (!doc.is_object() || !doc.contains("status") || !doc["status"].is_string())
        return {};
    return doc["status"].get<std::string>();
}

Result<int> run_commit(Invocation const& invocation)
{
    TRY(require_args(invocation, ArgCount::Exact, 2));
    auto id = TRY(container_id(invocation));
    auto const& name = invocation.args.positionals()[1];
    auto const& context = invocation.context;
    bool paused = false;
    if (!invocation.args.flag("no-pause") && container_status(context, id) == "running") {
        TRY(runtime::pause(context, id).context("commit {}: pause {}", name, id));
        paused = true;
    }
    ScopeGuard resume([&] {
        if (!paused)
            return;
        auto resumed = runtime::resume(context, id);
        if (resumed.is_error())
            log::warn("commit {}: resume {}: {}", name, id, resumed.error().message());
    });
    auto record = TRY(runtime::commit_container(context, id, name, invocation.args.flag("replace")));
    print_out(
        fmt::format("{} {} layer(s), top {}\n", record.name, record.layers.size(), record.layers.back().substr(0, 12)));
    return 0;
}

} // namespace

extern constinit VerbSpec const verb_commit {
    .name = "commit",
    .summary = "store a container's changes as a new image",
    .usage = "[command options] <container-id> <image-name>",
    .description = "Adds the changes the container made to its root file system (its overlay upper\n"
                   "   dir) as one layer on top of the image it was created from (--image) and names\n"
                   "   the result <image-name> in the same store. A running container is paused\n"
                   "   during the copy unless --no-pause.",
    .flags = k_flags,
    .run = run_commit,
};

} // namespace cryo::cli
