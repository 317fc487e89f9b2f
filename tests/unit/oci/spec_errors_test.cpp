// Bad config.json inputs: each must fail with one exact line naming the JSON path and why.
#include <fstream>
#include <functional>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "oci/spec.h"

using namespace cryo;
using namespace cryo::oci;
using nlohmann::json;

namespace {

json base_config()
{
    std::ifstream in(std::string(CRYO_FIXTURES) + "/runc_spec.json");
    std::stringstream ss;
    ss << in.rdbuf();
    return json::parse(ss.str());
}

// The runc default config with one change applied must fail with exactly `message`.
void expect_error(std::function<void(json&)> const& change, std::string const& message)
{
    auto config = base_config();
    change(config);
    auto spec = parse_spec(config.dump());
    ASSERT_FALSE(spec) << "accepted: " << config.dump();
    EXPECT_EQ(spec.error().message(), message);
}

void expect_ok(std::function<void(json&)> const& change)
{
    auto config = base_config();
    change(config);
    auto spec = parse_spec(config.dump());
    EXPECT_TRUE(spec) << spec.error().message();
}

std::string message_of(std::string_view text)
{
    auto spec = parse_spec(text);
    return spec ? std::string("<accepted>") : spec.error().message();
}

} // namespace

TEST(SpecErrors, MalformedJson)
{
    EXPECT_EQ(message_of("{\n  \"ociVersion\": \"1.0.0\",\n  \"root\": {\n    \"path\": }\n}"),
              "config.json: invalid JSON at line 4 column 13: syntax error while parsing value - "
              "unexpected '}'; expected '[', '{', or a literal");
    EXPECT_EQ(message_of(""),
              "config.json: invalid JSON at line 1 column 1: syntax error while parsing value - "
              "unexpected end of input; expected '[', '{', or a literal");
    EXPECT_EQ(message_of("{\"ociVersion\": \"1.0.0\", \"root\": {\"path\": \"rootfs\"}} trailing"),
              "config.json: invalid JSON at line 1 column 55: syntax error while parsing value - "
              "invalid literal; last read: '\"rootfs\"}} tra'; expected end of input");
}

TEST(SpecErrors, TopLevelMustBeAnObject)
{
    EXPECT_EQ(message_of("[1, 2]"), "config.json: expected object, got array");
    EXPECT_EQ(message_of("null"), "config.json: expected object, got null");
}

TEST(SpecErrors, WrongTypesAtNestedPaths)
{
    expect_error([](json& c) { c["process"]["args"][0] = 42; },
                 "config.json: process.args[0]: expected string, got number");
    expect_error([](json& c) { c["process"]["args"] = "sh"; }, "config.json: process.args: expected array, got string");
    expect_error([](json& c) { c["process"]["terminal"] = "yes"; },
                 "config.json: process.terminal: expected boolean, got string");
    expect_error([](json& c) { c["process"]["user"]["uid"] = "root"; },
                 "config.json: process.user.uid: expected integer, got string");
    expect_error([](json& c) { c["process"]["rlimits"][0]["hard"] = 1.5; },
                 "config.json: process.rlimits[0].hard: expected integer, got number");
    expect_error([](json& c) { c["mounts"][2]["options"] = "ro"; },
                 "config.json: mounts[2].options: expected array, got string");
    expect_error(
        [](json& c) {
            c["linux"]["resources"]["memory"] = { { "limit", "1G" } };
        },
        "config.json: linux.resources.memory.limit: expected integer, got string");
    expect_error([](json& c) { c["linux"]["resources"]["devices"][0]["allow"] = 0; },
                 "config.json: linux.resources.devices[0].allow: expected boolean, got number");
    expect_error(
        [](json& c) {
            c["annotations"] = { { "io.example.count", 3 } };
        },
        "config.json: annotations[\"io.example.count\"]: expected string, got number");
    expect_error([](json& c) { c["linux"]["sysctl"] = json::array(); },
                 "config.json: linux.sysctl: expected object, got array");
    expect_error(
        [](json& c) {
            c["hooks"] = { { "prestart", { { { "path", true } } } } };
        },
        "config.json: hooks.prestart[0].path: expected string, got boolean");
}

TEST(SpecErrors, NumbersOutOfRange)
{
    expect_error([](json& c) { c["process"]["user"]["uid"] = -1; },
                 "config.json: process.user.uid: -1 out of range (0 to 4294967295)");
    expect_error([](json& c) { c["process"]["user"]["gid"] = 4294967296; },
                 "config.json: process.user.gid: 4294967296 out of range (0 to 4294967295)");
    expect_error([](json& c) { c["process"]["rlimits"][0]["soft"] = -1; },
                 "config.json: process.rlimits[0].soft: -1 out of range (0 to 18446744073709551615)");
    expect_error(
        [](json& c) {
            c["linux"]["resources"]["memory"] = { { "limit", 9223372036854775808ull } };
        },
        "config.json: linux.resources.memory.limit: 9223372036854775808 out of range "
        "(-9223372036854775808 to 9223372036854775807)");
    expect_error(
        [](json& c) {
            c["linux"]["resources"]["blockIO"] = { { "weight", 70000 } };
        },
        "config.json: linux.resources.blockIO.weight: 70000 out of range (0 to 65535)");
    // The full int64 / uint64 ranges are accepted.
    expect_ok([](json& c) {
        c["linux"]["resources"]["memory"] = { { "limit", -1 }, { "swap", 9223372036854775807ll } };
        c["linux"]["resources"]["cpu"] = { { "shares", 18446744073709551615ull }, { "quota", -1 } };
        c["process"]["rlimits"][0]["hard"] = 18446744073709551615ull;
    });
}

TEST(SpecErrors, RequiredFields)
{
    expect_error([](json& c) { c["root"].erase("path"); }, "config.json: root.path: required field missing");
    expect_error([](json& c) { c["root"]["path"] = nullptr; }, "config.json: root.path: required field missing");
    expect_error([](json& c) { c.erase("root"); }, "config.json: root: required field missing");
    expect_error([](json& c) { c["root"]["path"] = ""; }, "config.json: root.path: must not be empty");
    expect_error([](json& c) { c.erase("ociVersion"); }, "config.json: ociVersion: required field missing");
    expect_error([](json& c) { c["process"].erase("args"); }, "config.json: process.args: required field missing");
    expect_error([](json& c) { c["process"]["args"] = json::array(); }, "config.json: process.args: must not be empty");
    expect_error([](json& c) { c["process"].erase("cwd"); }, "config.json: process.cwd: required field missing");
    expect_error([](json& c) { c["process"]["cwd"] = "work"; },
                 "config.json: process.cwd: \"work\" is not an absolute path");
    expect_error([](json& c) { c["mounts"][1].erase("destination"); },
                 "config.json: mounts[1].destination: required field missing");
    expect_error([](json& c) { c["process"]["rlimits"][0].erase("soft"); },
                 "config.json: process.rlimits[0].soft: required field missing");
    // process itself is optional in the spec (create requires it, not the parser).
    expect_ok([](json& c) { c.erase("process"); });
}

TEST(SpecErrors, Version)
{
    expect_error([](json& c) { c["ociVersion"] = "2.0.0"; },
                 "config.json: ociVersion: unsupported version \"2.0.0\" (want 1.x)");
    expect_error([](json& c) { c["ociVersion"] = "10.0"; },
                 "config.json: ociVersion: unsupported version \"10.0\" (want 1.x)");
    for (auto v : { "1.0.0", "1.0.2-dev", "1.1.0", "1.2.0", "1.3.0-rc.1" })
        expect_ok([v](json& c) { c["ociVersion"] = v; });
}

TEST(SpecErrors, Namespaces)
{
    expect_error(
        [](json& c) {
            c["linux"]["namespaces"].push_back({ { "type", "pid" } });
        },
        "config.json: linux.namespaces[5].type: duplicate namespace type \"pid\"");
    expect_error([](json& c) { c["linux"]["namespaces"][2]["type"] = "net"; },
                 "config.json: linux.namespaces[2].type: unknown namespace type \"net\"");
    expect_error([](json& c) { c["linux"]["namespaces"][0].erase("type"); },
                 "config.json: linux.namespaces[0].type: required field missing");
}

TEST(SpecErrors, Capabilities)
{
    expect_error([](json& c) { c["process"]["capabilities"]["effective"][1] = "CAP_FLY"; },
                 "config.json: process.capabilities.effective[1]: unknown capability \"CAP_FLY\"");
    expect_error([](json& c) { c["process"]["capabilities"]["ambient"][0] = "KILL"; },
                 "config.json: process.capabilities.ambient[0]: unknown capability \"KILL\"");
    expect_error([](json& c) { c["process"]["capabilities"]["bounding"][0] = "cap_kill"; },
                 "config.json: process.capabilities.bounding[0]: unknown capability \"cap_kill\"");
    expect_ok([](json& c) { c["process"]["capabilities"]["inheritable"] = { "CAP_CHECKPOINT_RESTORE", "CAP_BPF" }; });
}

TEST(SpecErrors, Rlimits)
{
    expect_error([](json& c) { c["process"]["rlimits"][0]["type"] = "RLIMIT_FILES"; },
                 "config.json: process.rlimits[0].type: unknown rlimit \"RLIMIT_FILES\"");
    expect_error(
        [](json& c) {
            c["process"]["rlimits"].push_back({ { "type", "RLIMIT_NOFILE" }, { "hard", 1 }, { "soft", 1 } });
        },
        "config.json: process.rlimits[1].type: duplicate rlimit \"RLIMIT_NOFILE\"");
}

TEST(SpecErrors, IdMappings)
{
    auto with_userns = [](json& c) {
        c["linux"]["namespaces"].push_back({ { "type", "user" } });
        c["linux"]["uidMappings"] = { { { "containerID", 0 }, { "hostID", 100000 }, { "size", 65536 } } };
        c["linux"]["gidMappings"] = { { { "containerID", 0 }, { "hostID", 100000 }, { "size", 65536 } } };
    };
    expect_ok(with_userns);
    expect_error(
        [&](json& c) {
            with_userns(c);
            c["linux"]["uidMappings"][0]["size"] = 0;
        },
        "config.json: linux.uidMappings[0].size: must be greater than 0");
    expect_error(
        [&](json& c) {
            with_userns(c);
            c["linux"]["gidMappings"][0]["hostID"] = 4294967295u;
        },
        "config.json: linux.gidMappings[0]: hostID + size exceeds 2^32");
    expect_error(
        [&](json& c) {
            with_userns(c);
            c["linux"]["uidMappings"].push_back({ { "containerID", 1000 }, { "hostID", 1 }, { "size", 1 } });
        },
        "config.json: linux.uidMappings[1]: containerID range overlaps linux.uidMappings[0]");
    expect_error(
        [&](json& c) {
            with_userns(c);
            c["linux"]["uidMappings"].push_back({ { "containerID", 70000 }, { "hostID", 165535 }, { "size", 2 } });
        },
        "config.json: linux.uidMappings[1]: hostID range overlaps linux.uidMappings[0]");
    expect_error(
        [&](json& c) {
            with_userns(c);
            c["linux"]["uidMappings"][0].erase("hostID");
        },
        "config.json: linux.uidMappings[0].hostID: required field missing");
    expect_error(
        [](json& c) {
            c["linux"]["uidMappings"] = { { { "containerID", 0 }, { "hostID", 1000 }, { "size", 1 } } };
        },
        "config.json: linux.uidMappings: requires a user namespace");
    expect_error(
        [](json& c) {
            c["linux"]["namespaces"].push_back({ { "type", "user" } });
        },
        "config.json: linux.uidMappings: required with a new user namespace");
    // Joining an existing user namespace needs no mappings.
    expect_ok([](json& c) {
        c["linux"]["namespaces"].push_back({ { "type", "user" }, { "path", "/proc/1/ns/user" } });
    });
    expect_error(
        [](json& c) {
            c["mounts"][0]["uidMappings"] = { { { "containerID", 0 }, { "hostID", 1000 }, { "size", 0 } } };
        },
        "config.json: mounts[0].uidMappings[0].size: must be greater than 0");
}

TEST(SpecErrors, Devices)
{
    auto device = [](std::string type) {
        return json { { "type", type }, { "path", "/dev/x" }, { "major", 1 }, { "minor", 3 } };
    };
    for (auto t : { "c", "b", "u", "p" })
        expect_ok([&](json& c) { c["linux"]["devices"] = { device(t) }; });
    expect_error(
        [&](json& c) {
            c["linux"]["devices"] = { device("c"), device("x") };
        },
        "config.json: linux.devices[1].type: invalid device type \"x\" (want c, b, u or p)");
    expect_error(
        [&](json& c) {
            auto d = device("c");
            d["path"] = "dev/x";
            c["linux"]["devices"] = { d };
        },
        "config.json: linux.devices[0].path: \"dev/x\" is not an absolute path");
    expect_error(
        [&](json& c) {
            auto d = device("b");
            d.erase("minor");
            c["linux"]["devices"] = { d };
        },
        "config.json: linux.devices[0].minor: required for device type \"b\"");
    expect_ok([](json& c) { c["linux"]["devices"] = { { { "type", "p" }, { "path", "/dev/fifo" } } }; });
    expect_error([](json& c) { c["linux"]["resources"]["devices"][0]["type"] = "u"; },
                 "config.json: linux.resources.devices[0].type: invalid device type \"u\" (want a, b or c)");
    expect_error([](json& c) { c["linux"]["resources"]["devices"][0]["access"] = "rwx"; },
                 "config.json: linux.resources.devices[0].access: invalid access \"rwx\" (want letters of rwm)");
}

TEST(SpecErrors, HooksSeccompAndOthers)
{
    expect_error(
        [](json& c) {
            c["hooks"]["poststop"] = { { { "path", "cleanup.sh" } } };
        },
        "config.json: hooks.poststop[0].path: \"cleanup.sh\" is not an absolute path");
    expect_error(
        [](json& c) {
            c["hooks"]["createRuntime"] = { { { "path", "/bin/true" }, { "timeout", 0 } } };
        },
        "config.json: hooks.createRuntime[0].timeout: must be greater than 0");
    expect_error(
        [](json& c) {
            c["linux"]["seccomp"] = { { "defaultAction", "SCMP_ACT_DENY" } };
        },
        "config.json: linux.seccomp.defaultAction: unknown action \"SCMP_ACT_DENY\"");
    expect_error(
        [](json& c) {
            c["linux"]["seccomp"] = { { "architectures", { "SCMP_ARCH_X86_64" } } };
        },
        "config.json: linux.seccomp.defaultAction: required field missing");
    expect_error(
        [](json& c) {
            c["linux"]["seccomp"]
                = { { "defaultAction", "SCMP_ACT_ALLOW" },
                    { "syscalls", { { { "names", { "mount" } }, { "action", "SCMP_ACT_NOTIFY" } } } } };
        },
        "config.json: linux.seccomp.listenerPath: required when SCMP_ACT_NOTIFY is used");
    expect_error(
        [](json& c) {
            c["linux"]["seccomp"]
                = { { "defaultAction", "SCMP_ACT_ALLOW" },
                    { "syscalls",
                      { { { "names", { "kill" } },
                          { "action", "SCMP_ACT_ERRNO" },
                          { "args", { { { "index", 1 }, { "value", 9 }, { "op", "SCMP_CMP_EQUAL" } } } } } } } };
        },
        "config.json: linux.seccomp.syscalls[0].args[0].op: unknown operator \"SCMP_CMP_EQUAL\"");
    expect_error(
        [](json& c) {
            c["linux"]["seccomp"] = { { "defaultAction", "SCMP_ACT_ALLOW" }, { "architectures", { "x86_64" } } };
        },
        "config.json: linux.seccomp.architectures[0]: unknown architecture \"x86_64\"");
    expect_error([](json& c) { c["linux"]["rootfsPropagation"] = "recursive"; },
                 "config.json: linux.rootfsPropagation: unknown propagation \"recursive\"");
    expect_error(
        [](json& c) {
            c["linux"]["timeOffsets"] = { { "monotonic", { { "secs", 1 } } } };
        },
        "config.json: linux.timeOffsets: requires a time namespace");
    expect_error(
        [](json& c) {
            c["linux"]["namespaces"].push_back({ { "type", "time" } });
            c["linux"]["timeOffsets"] = { { "realtime", { { "secs", 1 } } } };
        },
        "config.json: linux.timeOffsets.realtime: unknown clock (want monotonic or boottime)");
    expect_error([](json& c) { c["process"]["oomScoreAdj"] = 1001; },
                 "config.json: process.oomScoreAdj: 1001 out of range (-1000 to 1000)");
    expect_error(
        [](json& c) {
            c["process"]["ioPriority"] = { { "class", "IOPRIO_CLASS_NONE" } };
        },
        "config.json: process.ioPriority.class: unknown class \"IOPRIO_CLASS_NONE\"");
    expect_error(
        [](json& c) {
            c["linux"]["personality"] = { { "domain", "LINUX64" } };
        },
        "config.json: linux.personality.domain: unknown domain \"LINUX64\" (want LINUX or LINUX32)");
}

TEST(SpecErrors, UnknownFieldsAreIgnored)
{
    expect_ok([](json& c) {
        c["vm"] = { { "hypervisor", { { "path", "/usr/bin/qemu" } } } };
        c["process"]["futureKnob"] = 7;
        c["linux"]["resources"]["memory"] = { { "limit", 1 << 20 }, { "futureLimit", "x" } };
        c["linux"]["netDevices"] = { { "eth1", json::object() } };
    });
}

TEST(ParseResources, UpdatePayload)
{
    auto r = parse_resources(R"({"memory": {"limit": -1, "swap": -1}, "pids": {"limit": 100}})");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->memory->limit, -1);
    EXPECT_EQ(r->memory->swap, -1);
    EXPECT_FALSE(r->memory->reservation);
    EXPECT_FALSE(r->cpu); // untouched by this update
    EXPECT_EQ(r->pids->limit, 100);
    EXPECT_TRUE(r->devices.empty());

    auto empty = parse_resources("{}");
    ASSERT_TRUE(empty);
    EXPECT_TRUE(empty->empty());

    auto back = parse_resources(to_json(*r));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, *r);
}

TEST(ParseResources, Errors)
{
    auto message = [](std::string_view text) {
        auto r = parse_resources(text);
        return r ? std::string("<accepted>") : r.error().message();
    };
    EXPECT_EQ(message(R"({"cpu": {"shares": "1024"}})"), "resources.cpu.shares: expected integer, got string");
    EXPECT_EQ(message(R"({"cpu": {"shares": -2}})"),
              "resources.cpu.shares: -2 out of range (0 to 18446744073709551615)");
    EXPECT_EQ(message(R"({"memory": 5})"), "resources.memory: expected object, got number");
    EXPECT_EQ(message(R"({"devices": [{"allow": true, "type": "q"}]})"),
              "resources.devices[0].type: invalid device type \"q\" (want a, b or c)");
    EXPECT_EQ(message(R"({"memory": {"swappiness": 101}})"),
              "resources.memory.swappiness: 101 out of range (0 to 100)");
    EXPECT_EQ(message("{"),
              "invalid JSON at line 1 column 2: syntax error while parsing object key - "
              "unexpected end of input; expected string literal");
}

TEST(ParseProcess, ExecPayload)
{
    auto p = parse_process(R"({"terminal": false, "user": {"uid": 1000, "gid": 1000}, "args": ["ps", "aux"],
        "env": ["PATH=/bin"], "cwd": "/tmp", "capabilities": {"bounding": ["CAP_KILL"]}})");
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_EQ(p->args, (std::vector<std::string> { "ps", "aux" }));
    EXPECT_EQ(p->user.uid, 1000u);
    EXPECT_EQ(p->capabilities->bounding, (std::vector<std::string> { "CAP_KILL" }));
    auto back = parse_process(to_json(*p));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, *p);

    auto bad = parse_process(R"({"args": [], "cwd": "/"})");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message(), "process.args: must not be empty");
    bad = parse_process(
        R"({"args": ["sh"], "cwd": "/", "capabilities": {"permitted": ["CAP_SYS_ADMIN", "CAP_NOPE"]}})");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message(), "process.capabilities.permitted[1]: unknown capability \"CAP_NOPE\"");
}

TEST(SpecErrors, HostileInputFailsCleanly)
{
    // Deep nesting must not exhaust the stack (nlohmann's parser is iterative).
    std::string deep(200000, '[');
    deep += std::string(200000, ']');
    EXPECT_EQ(message_of(deep), "config.json: expected object, got array");
    EXPECT_EQ(message_of(R"({"ociVersion": "1.0.0", "root": {"path": "r"}, "process": {"oomScoreAdj": 1e400}})"),
              "config.json: invalid JSON: number overflow parsing '1e400'");
    EXPECT_EQ(message_of("{\"ociVersion\": \"1.0\xff\"}"),
              "config.json: invalid JSON at line 1 column 20: syntax error while parsing value - "
              "invalid string: ill-formed UTF-8 byte; last read: '\"1.0\\xff'");
    EXPECT_EQ(
        message_of("{\n\"a\": \"x\ny\"}"),
        "config.json: invalid JSON at line 2 column 8: syntax error while parsing value - "
        "invalid string: control character U+000A (LF) must be escaped to \\u000A or \\n; last read: '\"x<U+000A>'");
    EXPECT_EQ(
        message_of(
            R"({"ociVersion": "1.0.0", "root": {"path": "r"}, "process": {"args": ["sh"], "cwd": "/", "oomScoreAdj": 1e3}})"),
        "config.json: process.oomScoreAdj: expected integer, got number");
}

TEST(Serialization, InvalidUtf8IsReplacedNotThrown)
{
    auto spec = default_spec(false);
    spec.root.path = "rootfs-\xff\xfe";
    spec.annotations["k"] = "caf\xe9";
    std::string text;
    EXPECT_NO_THROW(text = to_json(spec));
    EXPECT_NE(text.find("rootfs-\xef\xbf\xbd\xef\xbf\xbd"), std::string::npos) << text;
    auto back = parse_spec(text);
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(back->annotations.at("k"), "caf\xef\xbf\xbd");
}

TEST(ParseHooks, RoundTripAndErrors)
{
    Hooks hooks {
        .prestart = { { .path = "/usr/bin/netns-setup", .args = { "netns-setup", "up" } } },
        .poststop = { { .path = "/bin/cleanup", .env = { "A=1" }, .timeout = 9 } },
    };
    auto back = parse_hooks(to_json(hooks));
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(*back, hooks);
    auto empty = parse_hooks("{}");
    ASSERT_TRUE(empty);
    EXPECT_TRUE(empty->empty());
    auto bad = parse_hooks(R"({"poststop": [{"path": "/bin/x", "timeout": "5"}]})");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message(), "hooks.poststop[0].timeout: expected integer, got string");
    bad = parse_hooks(R"({"poststop": [{"args": ["x"]}]})");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message(), "hooks.poststop[0].path: required field missing");
}
