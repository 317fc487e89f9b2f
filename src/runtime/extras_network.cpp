// --network none|host|bridge[:options] and --publish: the spec's network namespace becomes
// the host's (host), or a namespace cryo made and recorded in network.json (none, bridge).
// network.json also travels in checkpoint images, so a restore sets the same network up again.
#include <algorithm>
#include <climits>
#include <cstdlib>

#include "base/log.h"
#include "checkpoint/image.h"
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

// The host's resolver configuration: /etc/resolv.conf, or, when that names only loopback
// servers (systemd-resolved's stub at 127.0.0.53), the upstream servers resolved keeps in
// /run/systemd/resolve/resolv.conf, as podman does.
Result<net::ResolvConf> container_resolv_conf(std::vector<net::Ipv4> const& servers)
{
    std::string host;
    if (auto text = sys::read_file("/etc/resolv.conf"))
        host = *text;
    else if (!text.error().is_errno(ENOENT))
        return text.release_error().add_context("read /etc/resolv.conf");
    auto conf = net::container_resolv_conf(host, servers);
    if (conf.nameservers == 0) {
        if (auto upstream = sys::read_file("/run/systemd/resolve/resolv.conf")) {
            auto other = net::container_resolv_conf(*upstream, servers);
            if (other.nameservers > 0)
                conf = other;
        }
    }
    return conf;
}

// A bridged container gets /etc/resolv.conf from <state_dir>/resolv.conf, bind-mounted,
// unless the spec mounts one itself (podman and containerd bundles do).
Result<void> add_resolv_conf(std::string const& state_dir, std::vector<net::Ipv4> const& servers, oci::Spec& spec)
{
    for (auto const& mount : spec.mounts)
        if (mount.destination == "/etc/resolv.conf")
            return {};
    auto conf = TRY(container_resolv_conf(servers));
    if (conf.nameservers == 0)
        log::warn("network: the host names no name server a container can reach: its /etc/resolv.conf has none "
                  "(--network bridge:dns=ADDRESS sets one)");
    // The mount source must not depend on cryo's cwd (a relative --root).
    char state_path[PATH_MAX];
    auto path
        = std::string(::realpath(state_dir.c_str(), state_path) ? state_path : state_dir.c_str()) + "/resolv.conf";
    TRY(sys::write_file_atomic(path, conf.text, 0644).context("write {}", path));
    spec.mounts.push_back(oci::Mount {
        .destination = "/etc/resolv.conf", .type = "bind", .source = path, .options = { "rbind", "rprivate" } });
    return {};
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
    net::SetupInput input { .mode = request.mode,
                            .state_dir = run.state_dir,
                            .config = {},
                            .address = request.address,
                            .publish = publish,
                            .dns = request.dns };
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
    if (request.mode == net::Mode::Bridge)
        TRY(add_resolv_conf(run.state_dir, request.dns, spec).context("network bridge: /etc/resolv.conf"));
    return {};
}

void network_release(std::string const& state_dir)
{
    net::release(state_dir);
}

namespace {

// The image file: the container's network.json as it was at checkpoint.
constexpr char const* k_network_image_file = "network.json";

} // namespace

Result<void> network_checkpoint(std::string const& state_dir, checkpoint::ImageWriter& writer)
{
    auto path = state_dir + "/network.json";
    auto text = sys::read_file(path);
    if (!text) {
        if (text.error().is_errno(ENOENT))
            return {}; // the spec's own namespaces: nothing of cryo's to carry
        return text.release_error().add_context("network");
    }
    // Checked here rather than at restore: an image that cannot be restored is better refused now.
    TRY(net::record_from_json(*text).context("network: {}", path));
    TRY(writer.write_file(k_network_image_file, *text).context("network"));
    return {};
}

Result<void> network_restore(checkpoint::ImageReader const& image, Extras const& asked, Extras& extras)
{
    std::optional<net::NetworkFlags> recorded;
    if (image.manifest().files.contains(k_network_image_file)) {
        auto text = TRY(image.read_file(k_network_image_file).context("network"));
        auto record = TRY(net::record_from_json(text).context("network: image {}", image.dir()));
        recorded = net::flags_to_recreate(record);
    }
    // What the restore asks for wins (`restore --network`, e.g. `bridge` for a new address
    // when the checkpointed one is taken); else the image's network again, with its bridge,
    // subnet and address pinned, so the container keeps its address, MAC and published ports.
    auto const& network = asked.network;
    if (!network.empty())
        extras.network = network;
    else if (recorded)
        extras.network = recorded->network;
    // The recorded published ports go with a bridge only (none/host refuse --publish).
    if (!asked.publish.empty())
        extras.publish = asked.publish;
    else if (recorded && (network.empty() || network.starts_with("bridge")))
        extras.publish = recorded->publish;
    return {};
}

} // namespace cryo::runtime
