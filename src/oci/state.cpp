// Container state JSON: runc's `state` shape, the hooks' stdin shape, and parsing of both.
#include <ctime>

#include "oci/json_schema.h"
#include "oci/state.h"

namespace cryo::oci {

namespace detail {

// clang-format off
template<> struct Schema<State> { static constexpr auto fields = std::tuple {
    field("ociVersion", &State::oci_version, k_required), field("id", &State::id, k_required),
    field("status", &State::status, k_required), field("pid", &State::pid),
    field("bundle", &State::bundle), field("annotations", &State::annotations),
    field("rootfs", &State::rootfs), field("created", &State::created), field("owner", &State::owner) }; };
// clang-format on

} // namespace detail

std::string state_to_json(State const& state)
{
    // The order of runc's containerState struct (runc/list.go), not the spec's.
    detail::OrderedJson out;
    out["ociVersion"] = state.oci_version;
    out["id"] = state.id;
    out["pid"] = state.pid;
    out["status"] = state.status;
    out["bundle"] = state.bundle;
    out["rootfs"] = state.rootfs;
    out["created"] = state.created;
    if (!state.annotations.empty())
        out["annotations"] = state.annotations;
    out["owner"] = state.owner;
    return detail::dump(out, 2);
}

std::string hook_state_to_json(State const& state)
{
    detail::OrderedJson out;
    out["ociVersion"] = state.oci_version;
    out["id"] = state.id;
    out["status"] = state.status;
    if (state.pid != 0)
        out["pid"] = state.pid;
    out["bundle"] = state.bundle;
    if (!state.annotations.empty())
        out["annotations"] = state.annotations;
    return detail::dump(out, -1);
}

Result<State> parse_state(std::string_view json)
{
    auto value = TRY(detail::parse_json_text(json).context("state"));
    State state;
    TRY(detail::read_value(value, "", state).context("state"));
    if (state.pid < 0)
        return Error::format("state: pid: {} is negative", state.pid);
    return state;
}

std::string format_rfc3339_nano(int64_t seconds, long nanoseconds)
{
    time_t t = static_cast<time_t>(seconds);
    struct tm tm { };
    gmtime_r(&t, &tm);
    char date[64];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    std::string out = date;
    // Go's time.RFC3339Nano (what runc writes) drops trailing zeros of the fraction, and the
    // dot with them when the fraction is zero.
    if (nanoseconds > 0) {
        auto fraction = fmt::format("{:09}", nanoseconds);
        while (fraction.back() == '0')
            fraction.pop_back();
        out += '.';
        out += fraction;
    }
    out += 'Z';
    return out;
}

} // namespace cryo::oci
