// --image helpers that need no root: sizes, the image user against passwd/group texts, and
// the config.json a container from an image gets.
#include <gtest/gtest.h>

#include "runtime/extras_image.h"

using namespace cryo;
using namespace cryo::runtime;

TEST(ExtrasImage, ParseSizeReadsDockerUnits)
{
    EXPECT_EQ(MUST(parse_size("1048576")), 1048576u);
    EXPECT_EQ(MUST(parse_size("512k")), 512u * 1024);
    EXPECT_EQ(MUST(parse_size("64m")), 64u << 20);
    EXPECT_EQ(MUST(parse_size("64M")), 64u << 20);
    EXPECT_EQ(MUST(parse_size("64MB")), 64u << 20);
    EXPECT_EQ(MUST(parse_size("2GiB")), 2ull << 30);
    EXPECT_EQ(MUST(parse_size("1.5g")), 3ull << 29);
    EXPECT_EQ(MUST(parse_size("1t")), 1ull << 40);
    EXPECT_EQ(MUST(parse_size("10b")), 10u);
    for (auto bad : { "", "m", "12q", "1.2.3m", "-5m", "5 m", "5mbb" }) {
        auto result = parse_size(bad);
        ASSERT_TRUE(result.is_error()) << bad;
        EXPECT_NE(result.error().message().find("invalid size"), std::string::npos) << result.error().message();
    }
}

namespace {

constexpr std::string_view k_passwd = "root:x:0:0:root:/root:/bin/sh\n"
                                      "# a comment\n"
                                      "www:x:33:33:www:/var/www:/bin/false\n"
                                      "broken\n"
                                      "app:x:1000:1000::/home/app:/bin/sh\n";
constexpr std::string_view k_group = "root:x:0:\n"
                                     "www:x:33:\n"
                                     "staff:x:50:app,www\n"
                                     "video:x:44:app\n"
                                     "app:x:1000:\n";

} // namespace

TEST(ExtrasImage, ImageUserResolvesNamesAndNumbers)
{
    auto none = MUST(resolve_image_user("", k_passwd, k_group));
    EXPECT_EQ(none.uid, 0u);
    EXPECT_EQ(none.gid, 0u);

    auto www = MUST(resolve_image_user("www", k_passwd, k_group));
    EXPECT_EQ(www.uid, 33u);
    EXPECT_EQ(www.gid, 33u);
    EXPECT_EQ(www.additional_gids, std::vector<uint32_t> { 50 });

    auto app = MUST(resolve_image_user("app", k_passwd, k_group));
    EXPECT_EQ(app.uid, 1000u);
    EXPECT_EQ(app.gid, 1000u);
    EXPECT_EQ(app.additional_gids, (std::vector<uint32_t> { 50, 44 }));

    // A number that is in passwd takes its group; one that is not gets gid 0.
    auto numeric = MUST(resolve_image_user("1000", k_passwd, k_group));
    EXPECT_EQ(numeric.uid, 1000u);
    EXPECT_EQ(numeric.gid, 1000u);
    auto stranger = MUST(resolve_image_user("4242", k_passwd, k_group));
    EXPECT_EQ(stranger.uid, 4242u);
    EXPECT_EQ(stranger.gid, 0u);
    EXPECT_TRUE(stranger.additional_gids.empty());

    // An explicit group wins and adds no supplementary groups.
    auto explicit_group = MUST(resolve_image_user("app:staff", k_passwd, k_group));
    EXPECT_EQ(explicit_group.uid, 1000u);
    EXPECT_EQ(explicit_group.gid, 50u);
    EXPECT_TRUE(explicit_group.additional_gids.empty());
    auto numbers = MUST(resolve_image_user("5:7", "", ""));
    EXPECT_EQ(numbers.uid, 5u);
    EXPECT_EQ(numbers.gid, 7u);

    auto unknown = resolve_image_user("nobody", k_passwd, k_group);
    ASSERT_TRUE(unknown.is_error());
    EXPECT_NE(unknown.error().message().find("no user nobody"), std::string::npos) << unknown.error().message();
    auto unknown_group = resolve_image_user("app:wheel", k_passwd, k_group);
    ASSERT_TRUE(unknown_group.is_error());
    EXPECT_NE(unknown_group.error().message().find("no group wheel"), std::string::npos);
    EXPECT_TRUE(resolve_image_user(":0", k_passwd, k_group).is_error());
}

TEST(ExtrasImage, SpecRunsTheImageCommand)
{
    image::ImageConfig config;
    config.entrypoint = { "/bin/httpd", "-f" };
    config.cmd = { "-p", "8080" };
    config.env = { "PATH=/opt/bin:/bin", "GREETING=hi=there" };
    config.workdir = "/srv";
    oci::User user;
    user.uid = 33;
    user.gid = 33;
    auto spec = image_spec(config, user, "web");
    ASSERT_TRUE(spec.process);
    EXPECT_EQ(spec.process->args, (std::vector<std::string> { "/bin/httpd", "-f", "-p", "8080" }));
    EXPECT_FALSE(spec.process->terminal);
    EXPECT_EQ(spec.process->cwd, "/srv");
    EXPECT_EQ(spec.process->user.uid, 33u);
    EXPECT_EQ(spec.hostname, "web");
    EXPECT_EQ(spec.root.path, "rootfs");
    EXPECT_FALSE(spec.root.readonly);
    // The image's PATH replaces the default one; other defaults (TERM) stay.
    auto const& env = spec.process->env;
    EXPECT_EQ(std::count_if(env.begin(), env.end(), [](auto const& e) { return e.starts_with("PATH="); }), 1);
    EXPECT_NE(std::find(env.begin(), env.end(), "PATH=/opt/bin:/bin"), env.end());
    EXPECT_NE(std::find(env.begin(), env.end(), "GREETING=hi=there"), env.end());
    // The rest is cryo's default spec: namespaces and mounts are there.
    auto defaults = oci::default_spec(false);
    EXPECT_EQ(spec.mounts, defaults.mounts);
    EXPECT_EQ(spec.linux_config.namespaces, defaults.linux_config.namespaces);

    auto bare = image_spec({}, {}, "x");
    EXPECT_EQ(bare.process->args, std::vector<std::string> { "sh" });
    EXPECT_EQ(bare.process->cwd, "/");
}
