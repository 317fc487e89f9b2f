// Help and version texts, laid out like runc's (urfave/cli) so people and scripts that know
// runc find the same sections.
#include <algorithm>

#include <fmt/format.h>

#include "cli/verb.h"
#include "oci/spec.h"

#ifndef CRYO_VERSION
#define CRYO_VERSION "0.1.0"
#endif

namespace cryo::cli {

namespace {

std::string flag_label(FlagSpec const& flag)
{
    auto dashes = [](std::string_view name) { return name.size() == 1 ? "-" : "--"; };
    std::string_view value = flag.kind == FlagKind::Bool ? "" : " value";
    std::string label = fmt::format("{}{}{}", dashes(flag.name), flag.name, value);
    if (!flag.alias.empty())
        label += fmt::format(", {}{}{}", dashes(flag.alias), flag.alias, value);
    return label;
}

void append_flags(std::string& out, std::span<FlagSpec const> flags, bool with_help)
{
    size_t width = with_help ? std::string_view("--help, -h").size() : 0;
    for (auto const& flag : flags)
        width = std::max(width, flag_label(flag).size());
    for (auto const& flag : flags) {
        std::string help(flag.help);
        if (!flag.fallback.empty())
            help += fmt::format(" (default: {})", flag.fallback);
        out += fmt::format("   {:<{}}  {}\n", flag_label(flag), width, help);
    }
    if (with_help)
        out += fmt::format("   {:<{}}  {}\n", "--help, -h", width, "show help");
}

} // namespace

std::string verb_help(VerbSpec const& verb)
{
    std::string out = fmt::format("NAME:\n   cryo {} - {}\n\nUSAGE:\n   cryo {} {}\n", verb.name, verb.summary,
                                  verb.name, verb.usage);
    if (!verb.description.empty())
        out += fmt::format("\nDESCRIPTION:\n   {}\n", verb.description);
    out += "\nOPTIONS:\n";
    append_flags(out, verb.flags, true);
    return out;
}

std::string program_help()
{
    std::string out = "NAME:\n   cryo - OCI container runtime with built-in checkpoint/restore\n\n"
                      "USAGE:\n   cryo [global options] command [command options] [arguments...]\n\n"
                      "VERSION:\n   ";
    out += version_text();
    out += "\nCOMMANDS:\n";
    size_t width = 0;
    for (auto const* verb : all_verbs())
        width = std::max(width, verb->name.size());
    for (auto const* verb : all_verbs()) {
        if (!verb->hidden)
            out += fmt::format("   {:<{}}  {}\n", verb->name, width, verb->summary);
    }
    out += "\nGLOBAL OPTIONS:\n"
           "   --debug             enable debug logging\n"
           "   --log value         set the log file to write cryo logs to (default is stderr)\n"
           "   --log-format value  set the log format ('text' (default), or 'json')\n"
           "   --root value        root directory for storage of container state (default: \"/run/cryo\")\n"
           "   --systemd-cgroup    use systemd for cgroups (requires a running systemd)\n"
           "   --criu value        accepted for runc compatibility; cryo needs no criu binary\n"
           "   --rootless value    accepted for runc compatibility ('true', 'false' or 'auto')\n"
           "   --help, -h          show help\n"
           "   --version, -v       print the version\n";
    return out;
}

std::string version_text()
{
    return fmt::format("cryo version {}\nspec: {}\n", CRYO_VERSION, oci::k_oci_version);
}

} // namespace cryo::cli
