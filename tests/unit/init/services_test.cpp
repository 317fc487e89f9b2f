// cryo-init's service-file parser and restart policy (src/init/services.h).
#include <csignal>
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>
#include <sys/wait.h>

#include "init/services.h"

using namespace cryo::init;
using namespace std::chrono_literals;

namespace {

std::string fixture(char const* name)
{
    std::ifstream in(std::string(CRYO_FIXTURES) + "/" + name);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string error_of(std::string_view text)
{
    auto parsed = parse_services(text);
    EXPECT_FALSE(parsed) << "expected an error for: " << text;
    return parsed.error;
}

} // namespace

TEST(InitServices, ParsesTheDocumentedExample)
{
    auto parsed = parse_services(fixture("services.example"));
    ASSERT_TRUE(parsed) << parsed.error;
    auto const& s = *parsed.value;
    ASSERT_EQ(s.size(), 3u);
    // order = -1 moves setup first; logger and web keep their file order.
    EXPECT_EQ(s[0].name, "setup");
    EXPECT_EQ(s[1].name, "logger");
    EXPECT_EQ(s[2].name, "web");

    EXPECT_EQ(s[0].command, (std::vector<std::string> { "mkdir", "-p", "/srv/www" }));
    EXPECT_EQ(s[0].restart, RestartPolicy::No);
    EXPECT_EQ(s[0].stop_timeout, 10s);

    EXPECT_EQ(s[1].command, (std::vector<std::string> { "/bin/sh", "-c", "exec syslogd -n -O /var/log/messages" }));
    EXPECT_EQ(s[1].restart, RestartPolicy::Always);
    EXPECT_EQ(s[1].stop_timeout, 2s);
    EXPECT_EQ(s[1].stop_signal, SIGTERM);
    EXPECT_EQ(s[1].line, 3); // the [logger] header

    auto const& web = s[2];
    EXPECT_EQ(web.command, (std::vector<std::string> { "httpd", "-f", "-p", "8080", "-h", "/srv/www root" }));
    EXPECT_EQ(web.restart, RestartPolicy::OnFailure);
    EXPECT_EQ(web.restart_delay, 250ms);
    EXPECT_EQ(web.restart_delay_max, 5s);
    EXPECT_EQ(web.stop_signal, SIGINT);
    EXPECT_EQ(web.stop_timeout, 1500ms);
    EXPECT_EQ(web.uid, 33u);
    EXPECT_EQ(web.gid, 33u);
    EXPECT_EQ(web.directory, "/srv/www");
    EXPECT_EQ(web.env, (std::vector<std::string> { "LANG=C.UTF-8", "MODE=prod" }));
}

TEST(InitServices, EmptyFileHasNoServices)
{
    auto parsed = parse_services("# nothing here\n\n   \n");
    ASSERT_TRUE(parsed);
    EXPECT_TRUE(parsed.value->empty());
}

TEST(InitServices, ErrorsNameTheLineAndTheProblem)
{
    EXPECT_EQ(error_of("command = x\n"), "line 1: \"command\" comes before any [NAME] section");
    EXPECT_EQ(error_of("[a]\ncommand = x\nrestrat = always\n"), "line 3: unknown key \"restrat\"");
    EXPECT_EQ(error_of("[a]\ncommand = x\nrestart = sometimes\n"),
              "line 3: restart: \"sometimes\" is not one of no, always, on-failure");
    EXPECT_EQ(error_of("[a]\ncommand = x\n[a]\ncommand = y\n"), "line 3: service \"a\" is already defined on line 1");
    EXPECT_EQ(error_of("[a]\nrestart = always\n"), "line 1: service \"a\" has no command");
    EXPECT_EQ(error_of("[a]\ncommand = x\ncommand = y\n"), "line 3: \"command\" is set twice");
    EXPECT_EQ(error_of("[a b]\n"), "line 1: service name \"a b\" must be 1-64 of A-Z a-z 0-9 _ - . @");
    EXPECT_EQ(error_of("[a\n"), "line 1: a section header is [NAME]");
    EXPECT_EQ(error_of("[a]\njust words\n"), "line 2: expected KEY = VALUE or [NAME]");
    EXPECT_EQ(error_of("[a]\ncommand = sh -c 'oops\n"), "line 2: command: unterminated ' quote");
    EXPECT_EQ(error_of("[a]\ncommand =   \n"), "line 2: command: empty command");
    EXPECT_EQ(error_of("[a]\ncommand = x\nstop_timeout = soon\n"),
              "line 3: stop_timeout: \"soon\" is not a duration (5, 1.5s, 250ms, 2m)");
    EXPECT_EQ(error_of("[a]\ncommand = x\nstop_signal = TERMINATE\n"),
              "line 3: stop_signal: \"TERMINATE\" is not a signal name or number");
    EXPECT_EQ(error_of("[a]\ncommand = x\nuser = www-data\n"),
              "line 3: user: \"www-data\" is not UID[:GID] (numbers only)");
    EXPECT_EQ(error_of("[a]\ncommand = x\ndirectory = srv\n"), "line 3: directory: \"srv\" is not an absolute path");
    EXPECT_EQ(error_of("[a]\ncommand = x\nenv = NOVALUE\n"), "line 3: env: \"NOVALUE\" is not NAME=VALUE");
    EXPECT_EQ(error_of("[a]\ncommand = x\nrestart_delay = 10\nrestart_delay_max = 1\n"),
              "line 1: service \"a\": restart_delay_max is shorter than restart_delay");
    // A control character in a name is shown escaped, so the message stays one line.
    EXPECT_EQ(error_of("[a]\ncommand = x\nbad\x01key = 1\n"), "line 3: unknown key \"bad\\x01key\"");
}

TEST(InitServices, OrderIsStableAndNegativeAllowed)
{
    auto parsed = parse_services("[c]\ncommand=c\norder=5\n[a]\ncommand=a\n[b]\ncommand=b\norder=-2\n[d]\ncommand=d\n");
    ASSERT_TRUE(parsed) << parsed.error;
    std::vector<std::string> names;
    for (auto const& s : *parsed.value)
        names.push_back(s.name);
    EXPECT_EQ(names, (std::vector<std::string> { "b", "a", "d", "c" }));
}

TEST(InitServices, SplitCommandQuoting)
{
    auto words = [](std::string_view text) {
        auto parsed = split_command(text);
        EXPECT_TRUE(parsed) << parsed.error;
        return parsed.value.value_or(std::vector<std::string> {});
    };
    using V = std::vector<std::string>;
    EXPECT_EQ(words("  a\tb   c "), (V { "a", "b", "c" }));
    EXPECT_EQ(words("'a b' \"c d\" e\\ f"), (V { "a b", "c d", "e f" }));
    EXPECT_EQ(words("x'y'\"z\""), (V { "xyz" }));
    EXPECT_EQ(words("\"a\\\"b\\\\c\\n\""), (V { "a\"b\\c\\n" }));
    EXPECT_EQ(words("'$HOME' \"$HOME\""), (V { "$HOME", "$HOME" }));
    EXPECT_EQ(words("''"), (V { "" }));
    EXPECT_EQ(words(""), V {});
    EXPECT_FALSE(split_command("\"open"));
    EXPECT_FALSE(split_command("trailing\\"));
}

TEST(InitServices, Durations)
{
    EXPECT_EQ(*parse_duration("5").value, 5s);
    EXPECT_EQ(*parse_duration("5s").value, 5s);
    EXPECT_EQ(*parse_duration("1.25").value, 1250ms);
    EXPECT_EQ(*parse_duration(".5s").value, 500ms);
    EXPECT_EQ(*parse_duration("250ms").value, 250ms);
    EXPECT_EQ(*parse_duration("2m").value, 120s);
    EXPECT_EQ(*parse_duration("0").value, 0ms);
    EXPECT_FALSE(parse_duration(""));
    EXPECT_FALSE(parse_duration("s"));
    EXPECT_FALSE(parse_duration("1."));
    EXPECT_FALSE(parse_duration("1h"));
    EXPECT_FALSE(parse_duration("-1"));
    EXPECT_FALSE(parse_duration("1.2.3"));
    EXPECT_EQ(parse_duration("25h").error, "\"25h\" is not a duration (5, 1.5s, 250ms, 2m)");
    EXPECT_EQ(parse_duration("1441m").error, "\"1441m\" is longer than a day");
}

TEST(InitServices, Signals)
{
    EXPECT_EQ(*parse_signal("TERM").value, SIGTERM);
    EXPECT_EQ(*parse_signal("SIGHUP").value, SIGHUP);
    EXPECT_EQ(*parse_signal("9").value, SIGKILL);
    EXPECT_FALSE(parse_signal("0"));
    EXPECT_FALSE(parse_signal("65"));
    EXPECT_FALSE(parse_signal("sigterm"));
}

TEST(InitServices, RestartPolicy)
{
    int ok = 0; // exited 0
    int failed = 1 << 8; // exited 1
    int killed = SIGKILL;
    ASSERT_TRUE(WIFEXITED(ok) && WIFEXITED(failed) && WIFSIGNALED(killed));
    EXPECT_FALSE(should_restart(RestartPolicy::No, failed));
    EXPECT_FALSE(should_restart(RestartPolicy::No, killed));
    EXPECT_TRUE(should_restart(RestartPolicy::Always, ok));
    EXPECT_TRUE(should_restart(RestartPolicy::Always, killed));
    EXPECT_FALSE(should_restart(RestartPolicy::OnFailure, ok));
    EXPECT_TRUE(should_restart(RestartPolicy::OnFailure, failed));
    EXPECT_TRUE(should_restart(RestartPolicy::OnFailure, killed));
}

TEST(InitServices, BackoffDoublesUpToTheMaximum)
{
    ServiceSpec spec { .restart_delay = 100ms, .restart_delay_max = 1000ms };
    EXPECT_EQ(restart_backoff(spec, 1), 100ms);
    EXPECT_EQ(restart_backoff(spec, 2), 200ms);
    EXPECT_EQ(restart_backoff(spec, 3), 400ms);
    EXPECT_EQ(restart_backoff(spec, 4), 800ms);
    EXPECT_EQ(restart_backoff(spec, 5), 1000ms);
    EXPECT_EQ(restart_backoff(spec, 1000), 1000ms); // no overflow however many failures
    ServiceSpec immediate { .restart_delay = 0ms, .restart_delay_max = 0ms };
    EXPECT_EQ(restart_backoff(immediate, 7), 0ms);
}
