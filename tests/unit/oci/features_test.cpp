// `features` output compared with what `runc features` printed on this machine.
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "oci/features.h"
#include "oci/names.h"
#include "oci/spec.h"

using namespace cryo::oci;
using nlohmann::json;

namespace {

json runc_features()
{
    std::ifstream in(std::string(CRYO_FIXTURES) + "/runc_features.json");
    std::stringstream ss;
    ss << in.rdbuf();
    return json::parse(ss.str());
}

// Collects every key path of a document ("linux.seccomp.actions").
void key_paths(json const& j, std::string const& prefix, std::vector<std::string>& out)
{
    if (!j.is_object())
        return;
    for (auto const& [key, value] : j.items()) {
        auto path = prefix.empty() ? key : prefix + "." + key;
        out.push_back(path);
        key_paths(value, path, out);
    }
}

} // namespace

TEST(Features, SameShapeAndKeyOrderAsRunc)
{
    auto runc = runc_features();
    // The runc fixture describes runc's own build; ask for the same environment.
    FeaturesInput input {
        .oci_version_min = "1.0.0",
        .cgroup_v1 = true,
        .cgroup_v2 = true,
        .cgroup_systemd = true,
        .cgroup_systemd_user = true,
        .seccomp_enabled = true,
        .apparmor_enabled = true,
        .selinux_enabled = true,
        .annotations = { { "io.github.seccomp.libseccomp.version", "2.5.4" } },
    };
    auto text = features_json(input);
    auto ours = json::parse(text);
    std::vector<std::string> our_keys, runc_keys;
    key_paths(ours, "", our_keys);
    key_paths(runc, "", runc_keys);
    // ordered_json keeps the order in which we wrote keys; runc's file order is in the text.
    auto ordered = nlohmann::ordered_json::parse(text);
    std::vector<std::string> our_top, runc_top;
    for (auto const& [k, v] : ordered.items())
        our_top.push_back(k);
    EXPECT_EQ(our_top,
              (std::vector<std::string> { "ociVersionMin", "ociVersionMax", "hooks", "mountOptions", "linux",
                                          "annotations" }));
    std::vector<std::string> our_linux;
    for (auto const& [k, v] : ordered["linux"].items())
        our_linux.push_back(k);
    EXPECT_EQ(our_linux,
              (std::vector<std::string> { "namespaces", "capabilities", "cgroup", "seccomp", "apparmor", "selinux" }));
    // Annotations are free-form (runc adds its commit and version); compare the rest.
    auto not_annotation = [](std::vector<std::string>& keys) {
        std::erase_if(keys, [](std::string const& k) { return k.starts_with("annotations."); });
    };
    not_annotation(our_keys);
    not_annotation(runc_keys);
    std::sort(our_keys.begin(), our_keys.end());
    std::sort(runc_keys.begin(), runc_keys.end());
    EXPECT_EQ(our_keys, runc_keys);

    EXPECT_EQ(ours["ociVersionMax"], std::string(k_oci_version));
    EXPECT_EQ(ours["hooks"], runc["hooks"]);
    EXPECT_EQ(ours["mountOptions"], runc["mountOptions"]);
    EXPECT_EQ(ours["linux"]["capabilities"], runc["linux"]["capabilities"]);
    EXPECT_EQ(ours["linux"]["cgroup"], runc["linux"]["cgroup"]);
    EXPECT_EQ(ours["linux"]["seccomp"]["actions"], runc["linux"]["seccomp"]["actions"]);
    EXPECT_EQ(ours["linux"]["seccomp"]["operators"], runc["linux"]["seccomp"]["operators"]);
    // We list every arch the spec names (a superset of runc 1.1's), and the time namespace.
    for (auto const& arch : runc["linux"]["seccomp"]["archs"])
        EXPECT_NE(std::find(ours["linux"]["seccomp"]["archs"].begin(), ours["linux"]["seccomp"]["archs"].end(), arch),
                  ours["linux"]["seccomp"]["archs"].end())
            << arch;
    // ...but only those libseccomp 2.5 can build filters for.
    auto const& archs = ours["linux"]["seccomp"]["archs"];
    EXPECT_EQ(std::find(archs.begin(), archs.end(), "SCMP_ARCH_LOONGARCH64"), archs.end());
    EXPECT_NE(std::find(archs.begin(), archs.end(), "SCMP_ARCH_RISCV64"), archs.end());
    auto expected_ns = runc["linux"]["namespaces"];
    expected_ns.push_back("time");
    std::sort(expected_ns.begin(), expected_ns.end());
    EXPECT_EQ(ours["linux"]["namespaces"], expected_ns);
    EXPECT_EQ(ours["linux"]["apparmor"], runc["linux"]["apparmor"]);
    // 4-space indent like runc.
    EXPECT_TRUE(text.starts_with("{\n    \"ociVersionMin\": \"1.0.0\",")) << text.substr(0, 60);
}

TEST(Features, InputOverridesAndDisabledSeccomp)
{
    FeaturesInput input {
        .oci_version_max = "1.1.0",
        .mount_options = { "bind", "ro" },
        .namespaces = { "mount", "pid" },
        .cgroup_v1 = true,
        .cgroup_v2 = false,
        .seccomp_enabled = false,
    };
    auto ours = json::parse(features_json(input));
    EXPECT_EQ(ours["ociVersionMax"], "1.1.0");
    EXPECT_EQ(ours["mountOptions"], json({ "bind", "ro" }));
    EXPECT_EQ(ours["linux"]["namespaces"], json({ "mount", "pid" }));
    EXPECT_EQ(ours["linux"]["cgroup"]["v2"], false);
    EXPECT_EQ(ours["linux"]["seccomp"], json({ { "enabled", false } }));
    EXPECT_EQ(ours["linux"]["selinux"]["enabled"], false);
    EXPECT_FALSE(ours.contains("annotations"));
}
