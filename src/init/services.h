// cryo-init's service list: the declarative file format (docs/cryo-init.md) parsed into plain
// data, and the restart policy as pure functions. Nothing here touches the system, so the
// parser and the backoff are unit-tested (tests/unit/init); the supervisor only applies them.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cryo::init {

using Millis = std::chrono::milliseconds;

enum class RestartPolicy {
    No, // run once
    Always, // restart whenever it exits (until shutdown)
    OnFailure, // restart on a non-zero exit status or a death by signal
};

struct ServiceSpec {
    std::string name {};
    std::vector<std::string> command {}; // argv; argv[0] is looked up in PATH
    RestartPolicy restart { RestartPolicy::No };
    int order { 0 }; // start ascending (ties: file order), stop in exact reverse
    int stop_signal { 15 }; // SIGTERM
    Millis stop_timeout { 10000 }; // then SIGKILL to the service's process group
    Millis restart_delay { 100 }; // first backoff; doubles on each quick failure
    Millis restart_delay_max { 30000 };
    std::optional<uint32_t> uid {}; // user = UID[:GID] (numbers: no NSS in a static init)
    std::optional<uint32_t> gid {};
    std::string directory {}; // working directory ("" = /)
    std::vector<std::string> env {}; // NAME=VALUE added to init's environment
    int line { 0 }; // line of the [name] header, for messages
};

// A value or a one-line error ("line 7: unknown key \"restrat\"").
template<typename T>
struct Parsed {
    std::optional<T> value;
    std::string error;

    static Parsed fail(std::string message) { return Parsed { std::nullopt, std::move(message) }; }
    explicit operator bool() const { return value.has_value(); }
};

// The whole file, services sorted into start order (by `order`, then file order).
Parsed<std::vector<ServiceSpec>> parse_services(std::string_view text);

// Splits a command line into words: blanks separate, '...' is literal, "..." allows \" \\ \$ \`,
// a backslash outside quotes escapes the next character. No expansion of any kind.
Parsed<std::vector<std::string>> split_command(std::string_view text);

// "5" (seconds), "1.5s", "250ms", "2m".
Parsed<Millis> parse_duration(std::string_view text);

// "TERM", "SIGTERM", "15".
Parsed<int> parse_signal(std::string_view text);

// Whether a service that ended with wait status `status` is started again under `policy`.
bool should_restart(RestartPolicy policy, int wait_status);

// The delay before the n-th consecutive quick restart (n >= 1): restart_delay * 2^(n-1),
// at most restart_delay_max.
Millis restart_backoff(ServiceSpec const& spec, unsigned consecutive_failures);

// A run at least this long resets the consecutive-failure count (the backoff starts over).
inline constexpr Millis k_stable_run { 10000 };

char const* policy_name(RestartPolicy policy);

} // namespace cryo::init
