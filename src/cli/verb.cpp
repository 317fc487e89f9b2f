#include "cli/verb.h"

#include <cerrno>
#include <unistd.h>

#include "oci/names.h"

namespace cryo::cli {

#define CRYO_VERB(name) extern VerbSpec const verb_##name;
#include "cli/verbs.def"
#undef CRYO_VERB

namespace {

// Addresses of constant objects: a constant-initialised array, so no startup cost.
constexpr VerbSpec const* k_verbs[] = {
#define CRYO_VERB(name) &verb_##name,
#include "cli/verbs.def"
#undef CRYO_VERB
};

} // namespace

std::span<VerbSpec const* const> all_verbs()
{
    return k_verbs;
}

VerbSpec const* find_verb(std::string_view name)
{
    for (auto const* verb : k_verbs) {
        if (verb->name == name)
            return verb;
    }
    return nullptr;
}

Result<void> require_args(Invocation const& invocation, ArgCount kind, size_t count)
{
    size_t have = invocation.args.positionals().size();
    std::string_view name = invocation.verb ? invocation.verb->name : "command";
    switch (kind) {
    case ArgCount::Exact:
        if (have != count)
            return Error::format("\"{}\" requires exactly {} argument(s)", name, count);
        break;
    case ArgCount::Min:
        if (have < count)
            return Error::format("\"{}\" requires a minimum of {} argument(s)", name, count);
        break;
    case ArgCount::Max:
        if (have > count)
            return Error::format("\"{}\" requires a maximum of {} argument(s)", name, count);
        break;
    }
    return {};
}

Result<std::string> container_id(Invocation const& invocation)
{
    auto const& positionals = invocation.args.positionals();
    if (positionals.empty() || positionals[0].empty())
        return Error::make("container id cannot be empty");
    TRY(oci::validate_container_id(positionals[0]));
    return positionals[0];
}

void print_out(std::string_view text)
{
    while (!text.empty()) {
        ssize_t written = ::write(STDOUT_FILENO, text.data(), text.size());
        if (written < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        text.remove_prefix(static_cast<size_t>(written));
    }
}

} // namespace cryo::cli
