// The service-file parser and the restart policy (see services.h and docs/cryo-init.md).
#include "init/services.h"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <sys/wait.h>

namespace cryo::init {

namespace {

std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

std::string quoted(std::string_view s)
{
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\')
            out += '\\';
        if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
            out += buf;
            continue;
        }
        out += c;
    }
    return out + "\"";
}

std::string at_line(int line, std::string_view message)
{
    return "line " + std::to_string(line) + ": " + std::string(message);
}

std::optional<uint64_t> parse_number(std::string_view text, uint64_t max)
{
    if (text.empty() || text.size() > 19)
        return std::nullopt;
    uint64_t value = 0;
    for (char c : text) {
        if (c < '0' || c > '9')
            return std::nullopt;
        value = value * 10 + static_cast<uint64_t>(c - '0');
    }
    if (value > max)
        return std::nullopt;
    return value;
}

bool valid_name(std::string_view name)
{
    if (name.empty() || name.size() > 64)
        return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'
            || c == '.' || c == '@';
    });
}

struct SignalName {
    std::string_view name;
    int number;
};

constexpr SignalName k_signals[] = {
    { "HUP", SIGHUP },   { "INT", SIGINT },     { "QUIT", SIGQUIT }, { "KILL", SIGKILL },
    { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 },   { "TERM", SIGTERM }, { "CONT", SIGCONT },
    { "STOP", SIGSTOP }, { "WINCH", SIGWINCH }, { "PWR", SIGPWR },   { "ALRM", SIGALRM },
};

// Applies one `key = value` line to the service being read.
std::string apply_key(ServiceSpec& service, std::string_view key, std::string_view value, int line)
{
    auto bad = [&](std::string_view why) { return at_line(line, std::string(key) + ": " + std::string(why)); };
    if (key == "command") {
        auto words = split_command(value);
        if (!words)
            return bad(words.error);
        if (words.value->empty())
            return bad("empty command");
        service.command = std::move(*words.value);
    } else if (key == "restart") {
        if (value == "no")
            service.restart = RestartPolicy::No;
        else if (value == "always")
            service.restart = RestartPolicy::Always;
        else if (value == "on-failure")
            service.restart = RestartPolicy::OnFailure;
        else
            return bad(quoted(value) + " is not one of no, always, on-failure");
    } else if (key == "order") {
        bool negative = !value.empty() && value.front() == '-';
        auto number = parse_number(negative ? value.substr(1) : value, 1000000);
        if (!number)
            return bad(quoted(value) + " is not a number between -1000000 and 1000000");
        service.order = negative ? -static_cast<int>(*number) : static_cast<int>(*number);
    } else if (key == "stop_signal") {
        auto signal = parse_signal(value);
        if (!signal)
            return bad(signal.error);
        service.stop_signal = *signal.value;
    } else if (key == "stop_timeout" || key == "restart_delay" || key == "restart_delay_max") {
        auto duration = parse_duration(value);
        if (!duration)
            return bad(duration.error);
        if (key == "stop_timeout")
            service.stop_timeout = *duration.value;
        else if (key == "restart_delay")
            service.restart_delay = *duration.value;
        else
            service.restart_delay_max = *duration.value;
    } else if (key == "user") {
        auto colon = value.find(':');
        auto uid = parse_number(value.substr(0, colon), 0xFFFFFFFEu);
        if (!uid)
            return bad(quoted(value) + " is not UID[:GID] (numbers only)");
        service.uid = static_cast<uint32_t>(*uid);
        if (colon != std::string_view::npos) {
            auto gid = parse_number(value.substr(colon + 1), 0xFFFFFFFEu);
            if (!gid)
                return bad(quoted(value) + " is not UID[:GID] (numbers only)");
            service.gid = static_cast<uint32_t>(*gid);
        }
    } else if (key == "directory") {
        if (value.empty() || value.front() != '/')
            return bad(quoted(value) + " is not an absolute path");
        service.directory = value;
    } else if (key == "env") {
        auto eq = value.find('=');
        if (eq == 0 || eq == std::string_view::npos)
            return bad(quoted(value) + " is not NAME=VALUE");
        service.env.emplace_back(value);
    } else {
        return at_line(line, "unknown key " + quoted(key));
    }
    return {};
}

} // namespace

Parsed<std::vector<std::string>> split_command(std::string_view text)
{
    using Result = Parsed<std::vector<std::string>>;
    std::vector<std::string> words;
    std::string word;
    bool in_word = false;
    size_t i = 0;
    while (i < text.size()) {
        char c = text[i];
        if (c == ' ' || c == '\t') {
            if (in_word)
                words.push_back(std::move(word));
            word.clear();
            in_word = false;
            ++i;
            continue;
        }
        in_word = true;
        if (c == '\'') {
            auto end = text.find('\'', i + 1);
            if (end == std::string_view::npos)
                return Result::fail("unterminated ' quote");
            word.append(text.substr(i + 1, end - i - 1));
            i = end + 1;
        } else if (c == '"') {
            ++i;
            bool closed = false;
            while (i < text.size()) {
                char d = text[i];
                if (d == '"') {
                    closed = true;
                    ++i;
                    break;
                }
                // Inside double quotes a backslash only escapes what the shell lets it escape.
                if (d == '\\' && i + 1 < text.size()
                    && (text[i + 1] == '"' || text[i + 1] == '\\' || text[i + 1] == '$' || text[i + 1] == '`')) {
                    word += text[i + 1];
                    i += 2;
                    continue;
                }
                word += d;
                ++i;
            }
            if (!closed)
                return Result::fail("unterminated \" quote");
        } else if (c == '\\') {
            if (i + 1 >= text.size())
                return Result::fail("a backslash ends the command");
            word += text[i + 1];
            i += 2;
        } else {
            word += c;
            ++i;
        }
    }
    if (in_word)
        words.push_back(std::move(word));
    return Result { std::move(words), {} };
}

Parsed<Millis> parse_duration(std::string_view text)
{
    using Result = Parsed<Millis>;
    auto invalid = [&] { return Result::fail(quoted(text) + " is not a duration (5, 1.5s, 250ms, 2m)"); };
    size_t digits_end = 0;
    while (digits_end < text.size()
           && ((text[digits_end] >= '0' && text[digits_end] <= '9') || text[digits_end] == '.'))
        ++digits_end;
    std::string_view number = text.substr(0, digits_end);
    std::string_view unit = text.substr(digits_end);
    uint64_t scale = 0; // milliseconds per unit
    if (unit.empty() || unit == "s")
        scale = 1000;
    else if (unit == "ms")
        scale = 1;
    else if (unit == "m")
        scale = 60000;
    else
        return invalid();
    auto dot = number.find('.');
    std::string_view whole = number.substr(0, dot);
    std::string_view fraction = dot == std::string_view::npos ? std::string_view {} : number.substr(dot + 1);
    if (whole.empty() && fraction.empty())
        return invalid();
    auto whole_value = whole.empty() ? std::optional<uint64_t>(0) : parse_number(whole, 100000000);
    if (!whole_value || (dot != std::string_view::npos && fraction.empty()))
        return invalid();
    uint64_t millis = *whole_value * scale;
    // Fractions count down to the millisecond; finer digits are dropped.
    uint64_t place = scale;
    for (char c : fraction) {
        if (c < '0' || c > '9')
            return invalid();
        place /= 10;
        millis += static_cast<uint64_t>(c - '0') * place;
        if (place == 0)
            break;
    }
    if (millis > 24ull * 3600 * 1000)
        return Result::fail(quoted(text) + " is longer than a day");
    return Result { Millis(static_cast<int64_t>(millis)), {} };
}

Parsed<int> parse_signal(std::string_view text)
{
    if (auto number = parse_number(text, 64); number && *number >= 1)
        return Parsed<int> { static_cast<int>(*number), {} };
    std::string_view name = text.starts_with("SIG") ? text.substr(3) : text;
    for (auto const& signal : k_signals)
        if (signal.name == name)
            return Parsed<int> { signal.number, {} };
    return Parsed<int>::fail(quoted(text) + " is not a signal name or number");
}

Parsed<std::vector<ServiceSpec>> parse_services(std::string_view text)
{
    using Result = Parsed<std::vector<ServiceSpec>>;
    std::vector<ServiceSpec> services;
    std::vector<std::string> seen_keys; // keys of the current service (each once, env repeats)
    int line_number = 0;
    while (!text.empty()) {
        ++line_number;
        auto end = text.find('\n');
        std::string_view line = trim(text.substr(0, end));
        text = end == std::string_view::npos ? std::string_view {} : text.substr(end + 1);
        if (line.empty() || line.front() == '#' || line.front() == ';')
            continue;
        if (line.front() == '[') {
            if (line.back() != ']')
                return Result::fail(at_line(line_number, "a section header is [NAME]"));
            std::string_view name = trim(line.substr(1, line.size() - 2));
            if (!valid_name(name))
                return Result::fail(
                    at_line(line_number, "service name " + quoted(name) + " must be 1-64 of A-Z a-z 0-9 _ - . @"));
            for (auto const& other : services)
                if (other.name == name)
                    return Result::fail(at_line(line_number,
                                                "service " + quoted(name) + " is already defined on line "
                                                    + std::to_string(other.line)));
            services.push_back(ServiceSpec { .name = std::string(name), .line = line_number });
            seen_keys.clear();
            continue;
        }
        auto eq = line.find('=');
        if (eq == std::string_view::npos)
            return Result::fail(at_line(line_number, "expected KEY = VALUE or [NAME]"));
        std::string_view key = trim(line.substr(0, eq));
        std::string_view value = trim(line.substr(eq + 1));
        if (services.empty())
            return Result::fail(at_line(line_number, quoted(key) + " comes before any [NAME] section"));
        if (key != "env") {
            if (std::find(seen_keys.begin(), seen_keys.end(), key) != seen_keys.end())
                return Result::fail(at_line(line_number, quoted(key) + " is set twice"));
            seen_keys.emplace_back(key);
        }
        if (auto error = apply_key(services.back(), key, value, line_number); !error.empty())
            return Result::fail(std::move(error));
    }
    for (auto const& service : services) {
        if (service.command.empty())
            return Result::fail(at_line(service.line, "service " + quoted(service.name) + " has no command"));
        if (service.restart_delay_max < service.restart_delay)
            return Result::fail(at_line(
                service.line, "service " + quoted(service.name) + ": restart_delay_max is shorter than restart_delay"));
    }
    std::stable_sort(services.begin(), services.end(),
                     [](ServiceSpec const& a, ServiceSpec const& b) { return a.order < b.order; });
    return Result { std::move(services), {} };
}

bool should_restart(RestartPolicy policy, int wait_status)
{
    switch (policy) {
    case RestartPolicy::No:
        return false;
    case RestartPolicy::Always:
        return true;
    case RestartPolicy::OnFailure:
        return !(WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0);
    }
    return false;
}

Millis restart_backoff(ServiceSpec const& spec, unsigned consecutive_failures)
{
    Millis delay = spec.restart_delay;
    for (unsigned i = 1; i < consecutive_failures && delay < spec.restart_delay_max; ++i)
        delay *= 2;
    return std::min(delay, spec.restart_delay_max);
}

char const* policy_name(RestartPolicy policy)
{
    switch (policy) {
    case RestartPolicy::No:
        return "no";
    case RestartPolicy::Always:
        return "always";
    case RestartPolicy::OnFailure:
        return "on-failure";
    }
    return "?";
}

} // namespace cryo::init
