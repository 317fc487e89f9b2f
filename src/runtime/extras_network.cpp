// --network none|host|bridge[:options] and --publish: the spec's network namespace becomes
// the host's (host), or a namespace cryo made and recorded in network.json (none, bridge).
#include <algorithm>
#include <cstdlib>

#include "oci/spec.h"
#include "runtime/extras.h"
#include "runtime/network.h"
#include "sys/file.h"

namespace cryo::runtime {

namespace {

std::optional<std::string> env(char const* name)
{
    char const* value = ::getenv(name);
    if (!value || !*value)
        return std::nullopt;
    return std::string(value);
}

Result<net::NetworkConfig> load_config(net::NetworkRequest const& request)
{
    auto path = net::network_config_path();
    std::string text;
    if (auto read = sys::read_file(path))
        text = *read;
    else if (!read.error().is_errno(ENOENT))
        return read.release_error();
    return net::resolve_config({ .file_text = text,
                                 .file_name = path,
                                 .env_bridge = env("CRYO_NETWORK_BRIDGE"),
                                 .env_subnet = env("CRYO_NETWORK_SUBNET") },
                               request);
}

} // namespace

Result<void> network_amend_spec(Context const&, Extras const& extras, ExtrasRun const& run, oci::Spec& spec)
{
    if (extras.network.empty() && extras.publish.empty())
        return {};
    net::NetworkRequest request;
    if (!extras.network.empty())
        request = TRY(net::parse_network_option(extras.network));
    auto publish = TRY(net::parse_publish_list(extras.publish));
    if (!publish.empty()) {
        if (request.mode == net::Mode::Spec)
            request.mode = net::Mode::Bridge; // --publish alone implies a bridged container
        else if (request.mode != net::Mode::Bridge)
            return Error::format("--publish: needs --network bridge, not {}", net::mode_name(request.mode));
    }

    auto& namespaces = spec.linux_config.namespaces;
    auto network = std::find_if(namespaces.begin(), namespaces.end(),
                                [](oci::Namespace const& ns) { return ns.type == oci::NamespaceType::Network; });
    net::SetupInput input {
        .mode = request.mode, .state_dir = run.state_dir, .config = {}, .address = request.address, .publish = publish
    };
    if (request.mode == net::Mode::Bridge)
        input.config = TRY(load_config(request).context("--network"));
    auto path = TRY(net::setup(input).context("network {}", net::mode_name(request.mode)));
    if (request.mode == net::Mode::Host) {
        if (network != namespaces.end())
            namespaces.erase(network);
        return {};
    }
    if (network != namespaces.end())
        network->path = path;
    else
        namespaces.push_back(oci::Namespace { .type = oci::NamespaceType::Network, .path = path });
    return {};
}

void network_release(std::string const& state_dir)
{
    net::release(state_dir);
}

} // namespace cryo::runtime
