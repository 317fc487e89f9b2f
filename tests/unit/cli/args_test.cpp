// The generic parser against Go flag / urfave/cli rules.
#include <gtest/gtest.h>

#include "cli/args.h"

using namespace cryo;
using namespace cryo::cli;

namespace {

constexpr FlagSpec k_flags[] = {
    { .name = "bundle", .alias = "b", .kind = FlagKind::Value },
    { .name = "detach", .alias = "d", .kind = FlagKind::Bool },
    { .name = "no-subreaper", .kind = FlagKind::Bool },
    { .name = "env", .alias = "e", .kind = FlagKind::List },
    { .name = "leave-running", .kind = FlagKind::Bool },
    { .name = "resources", .alias = "r", .kind = FlagKind::Value },
};

ParsedArgs parse(std::vector<std::string> args, ArgOrder order = ArgOrder::Interleaved)
{
    auto result = parse_args(k_flags, args, order);
    EXPECT_TRUE(result) << result.error().message();
    return result ? result.release_value() : ParsedArgs {};
}

std::string parse_error(std::vector<std::string> args, ArgOrder order = ArgOrder::Interleaved)
{
    auto result = parse_args(k_flags, args, order);
    EXPECT_FALSE(result);
    return result ? std::string() : result.error().message();
}

} // namespace

TEST(CliArgs, OneOrTwoDashesAreTheSameFlag)
{
    auto single = parse({ "-no-subreaper", "id" });
    auto dual = parse({ "--no-subreaper", "id" });
    EXPECT_TRUE(single.flag("no-subreaper"));
    EXPECT_TRUE(dual.flag("no-subreaper"));
    EXPECT_EQ(single.positionals(), std::vector<std::string> { "id" });
    // Short aliases take two dashes too, as in Go.
    EXPECT_TRUE(parse({ "--d" }).flag("detach"));
    EXPECT_TRUE(parse({ "-detach" }).flag("detach"));
}

TEST(CliArgs, ValueWithEqualsOrSeparate)
{
    EXPECT_EQ(parse({ "--bundle=/b" }).value("bundle"), "/b");
    EXPECT_EQ(parse({ "--bundle", "/b" }).value("bundle"), "/b");
    EXPECT_EQ(parse({ "-b", "/b" }).value("bundle"), "/b");
    EXPECT_EQ(parse({ "-b=/b" }).value("bundle"), "/b");
    // An empty value after '=' is a value.
    EXPECT_EQ(parse({ "--bundle=" }).value("bundle"), "");
    // '=' inside the value stays.
    EXPECT_EQ(parse({ "--env=A=B" }).values("env"), std::vector<std::string> { "A=B" });
}

TEST(CliArgs, NextArgumentIsTheValueEvenIfItLooksLikeAFlag)
{
    // docker: `update --resources - ID` (stdin); Go's flag package takes "-" and "-x" alike.
    auto args = parse({ "--resources", "-", "id" });
    EXPECT_EQ(args.value("resources"), "-");
    EXPECT_EQ(args.positionals(), std::vector<std::string> { "id" });
    EXPECT_EQ(parse({ "-b", "--weird" }).value("bundle"), "--weird");
}

TEST(CliArgs, BooleanValues)
{
    EXPECT_TRUE(parse({ "--detach=true" }).flag("detach"));
    EXPECT_FALSE(parse({ "--detach=false" }).flag("detach"));
    EXPECT_FALSE(parse({ "--detach", "--detach=0" }).flag("detach"));
    EXPECT_FALSE(parse({}).flag("detach"));
    EXPECT_FALSE(parse({}).has("detach"));
    // A boolean never takes the next argument: it stays positional.
    auto args = parse({ "--detach", "false" });
    EXPECT_TRUE(args.flag("detach"));
    EXPECT_EQ(args.positionals(), std::vector<std::string> { "false" });
    EXPECT_EQ(parse_error({ "--detach=maybe" }), "invalid boolean value \"maybe\" for -detach");
}

TEST(CliArgs, RepeatedFlags)
{
    // podman passes --leave-running twice.
    auto twice = parse({ "--leave-running", "--leave-running", "id" });
    EXPECT_TRUE(twice.flag("leave-running"));
    EXPECT_EQ(twice.positionals(), std::vector<std::string> { "id" });
    auto env = parse({ "--env", "A=1", "-e", "B=2", "--env=C=3" });
    EXPECT_EQ(env.values("env"), (std::vector<std::string> { "A=1", "B=2", "C=3" }));
    // A value flag given twice: the last wins (Go flag).
    EXPECT_EQ(parse({ "-b", "one", "--bundle", "two" }).value("bundle"), "two");
}

TEST(CliArgs, InterleavedFlagsAfterPositionals)
{
    // urfave/cli reorders: `delete ID --force` works.
    auto args = parse({ "id", "--detach", "-b", "/b", "extra" });
    EXPECT_TRUE(args.flag("detach"));
    EXPECT_EQ(args.value("bundle"), "/b");
    EXPECT_EQ(args.positionals(), (std::vector<std::string> { "id", "extra" }));
}

TEST(CliArgs, DoubleDashEndsFlags)
{
    auto args = parse({ "--detach", "--", "--bundle", "x" });
    EXPECT_TRUE(args.flag("detach"));
    EXPECT_FALSE(args.has("bundle"));
    EXPECT_EQ(args.positionals(), (std::vector<std::string> { "--bundle", "x" }));
}

TEST(CliArgs, FlagsFirstStopsAtFirstPositional)
{
    // exec: `exec -e A=1 ID sh -c 'echo -e x'`: everything after the id belongs to the command.
    auto args = parse({ "-e", "A=1", "id", "sh", "-c", "--detach", "-e" }, ArgOrder::FlagsFirst);
    EXPECT_EQ(args.values("env"), std::vector<std::string> { "A=1" });
    EXPECT_FALSE(args.flag("detach"));
    EXPECT_EQ(args.positionals(), (std::vector<std::string> { "id", "sh", "-c", "--detach", "-e" }));
}

TEST(CliArgs, SingleDashAloneIsPositional)
{
    EXPECT_EQ(parse({ "-" }).positionals(), std::vector<std::string> { "-" });
}

TEST(CliArgs, ErrorsReadLikeGoFlag)
{
    EXPECT_EQ(parse_error({ "--foo" }), "flag provided but not defined: -foo");
    EXPECT_EQ(parse_error({ "id", "-foo=1" }), "flag provided but not defined: -foo");
    EXPECT_EQ(parse_error({ "--bundle" }), "flag needs an argument: -bundle");
    EXPECT_EQ(parse_error({ "---x" }), "bad flag syntax: ---x");
    EXPECT_EQ(parse_error({ "-=x" }), "bad flag syntax: -=x");
}

TEST(CliArgs, HelpIsRecognisedInEverySpelling)
{
    for (std::string help : { "-h", "--h", "-help", "--help" }) {
        auto args = parse({ "id", help });
        EXPECT_TRUE(args.help_requested()) << help;
    }
    EXPECT_FALSE(parse({ "id" }).help_requested());
}

TEST(CliArgs, GlobalParseStopsAtTheVerb)
{
    constexpr FlagSpec globals[] = {
        { .name = "root", .kind = FlagKind::Value },
        { .name = "debug", .kind = FlagKind::Bool },
    };
    std::vector<std::string> args { "--root", "/r", "--debug", "create", "--bundle", "b", "id" };
    auto global = parse_global_args(globals, args);
    ASSERT_TRUE(global) << global.error().message();
    EXPECT_EQ(global->consumed, 3u);
    EXPECT_EQ(global->args.value("root"), "/r");
    EXPECT_TRUE(global->args.flag("debug"));
    EXPECT_TRUE(global->args.positionals().empty());
}

TEST(CliArgs, ParseBoolMatchesGo)
{
    for (std::string_view yes : { "1", "t", "T", "TRUE", "true", "True" })
        EXPECT_EQ(parse_bool(yes), true) << yes;
    for (std::string_view no : { "0", "f", "F", "FALSE", "false", "False" })
        EXPECT_EQ(parse_bool(no), false) << no;
    for (std::string_view bad : { "", "yes", "tRuE", "2" })
        EXPECT_EQ(parse_bool(bad), std::nullopt) << bad;
}
