// The pure halves of checkpoint/seccomp.h: which filters threads share, the installation
// plan, the USER_NOTIF refusal; the image records' round trip and rejection
// (task_state_codec.cpp); and the /proc status parser of sys/seccomp_ptrace.h.
#include <gtest/gtest.h>

#include <linux/filter.h>
#include <nlohmann/json.hpp>

#include "checkpoint/codec.h"
#include "checkpoint/seccomp.h"
#include "sys/seccomp_ptrace.h"

using namespace cryo;
using namespace cryo::checkpoint;

namespace {

// A two-instruction filter: return `action` for everything; distinct actions, distinct filters.
SeccompFilter filter(uint32_t action, bool log = false)
{
    SeccompFilter f;
    f.program = { { BPF_LD | BPF_W | BPF_ABS, 0, 0, 0 }, { BPF_RET | BPF_K, 0, 0, action } };
    f.log = log;
    return f;
}

Process process_with(std::vector<std::vector<uint32_t>> chains, std::vector<SeccompFilter> filters)
{
    Process p;
    p.pid = 10;
    for (size_t i = 0; i < chains.size(); ++i) {
        Thread t;
        t.tid = 10 + static_cast<int>(i);
        t.state.seccomp_chain = chains[i];
        t.state.seccomp_mode = chains[i].empty() ? SeccompMode::Disabled : SeccompMode::Filter;
        p.threads.push_back(t);
    }
    p.state.seccomp_filters = std::move(filters);
    return p;
}

} // namespace

TEST(Seccomp, EqualPrefixesAreShared)
{
    auto a = filter(0x7fff0000), b = filter(0x00050001), c = filter(0x00050002);
    // leader [a], thread [a, b], thread [a, c], thread [b]: b alone is not the b after a.
    auto table = share_seccomp_chains({ { a }, { a, b }, { a, c }, { b } });
    ASSERT_EQ(table.filters.size(), 4u);
    EXPECT_EQ(table.filters[0], a);
    EXPECT_EQ(table.filters[1], b);
    EXPECT_EQ(table.filters[2], c);
    EXPECT_EQ(table.filters[3], b);
    EXPECT_EQ(table.chains, (std::vector<std::vector<uint32_t>> { { 0 }, { 0, 1 }, { 0, 2 }, { 3 } }));
}

TEST(Seccomp, SameContentAfterDifferentPrefixesIsNotShared)
{
    auto a = filter(1), b = filter(2), x = filter(3);
    auto table = share_seccomp_chains({ { a, x }, { b, x }, { a, x } });
    EXPECT_EQ(table.filters.size(), 4u);
    EXPECT_EQ(table.chains, (std::vector<std::vector<uint32_t>> { { 0, 1 }, { 2, 3 }, { 0, 1 } }));
}

TEST(Seccomp, PlanSyncsTheCommonPrefixFromTheLeader)
{
    auto p = process_with({ { 0, 1 }, { 0, 1, 2 }, { 0, 1, 3 } }, { filter(1), filter(2), filter(3), filter(4) });
    auto steps = MUST(plan_seccomp(p));
    ASSERT_EQ(steps.size(), 4u);
    EXPECT_EQ(steps[0].thread, 0u);
    EXPECT_EQ(steps[0].filter, 0u);
    EXPECT_TRUE(steps[0].tsync);
    EXPECT_EQ(steps[1].thread, 0u);
    EXPECT_EQ(steps[1].filter, 1u);
    EXPECT_TRUE(steps[1].tsync);
    EXPECT_EQ(steps[2].thread, 1u);
    EXPECT_EQ(steps[2].filter, 2u);
    EXPECT_FALSE(steps[2].tsync);
    EXPECT_EQ(steps[3].thread, 2u);
    EXPECT_EQ(steps[3].filter, 3u);
    EXPECT_FALSE(steps[3].tsync);
}

TEST(Seccomp, PlanWithoutCommonPrefixInstallsPerThread)
{
    // The leader has nothing; a thread alone has [0]: no TSYNC at all.
    auto p = process_with({ {}, { 0 } }, { filter(1) });
    auto steps = MUST(plan_seccomp(p));
    ASSERT_EQ(steps.size(), 1u);
    EXPECT_EQ(steps[0].thread, 1u);
    EXPECT_FALSE(steps[0].tsync);

    // A single thread needs no TSYNC either.
    auto single = MUST(plan_seccomp(process_with({ { 0 } }, { filter(1) })));
    ASSERT_EQ(single.size(), 1u);
    EXPECT_FALSE(single[0].tsync);

    EXPECT_TRUE(MUST(plan_seccomp(process_with({ {}, {} }, {}))).empty());
}

TEST(Seccomp, PlanPutsStrictModeLast)
{
    auto p = process_with({ { 0 }, {} }, { filter(1) });
    p.threads[1].state.seccomp_mode = SeccompMode::Strict;
    auto steps = MUST(plan_seccomp(p));
    ASSERT_EQ(steps.size(), 2u);
    EXPECT_EQ(steps[0].mode, SeccompMode::Filter);
    EXPECT_EQ(steps[1].mode, SeccompMode::Strict);
    EXPECT_EQ(steps[1].thread, 1u);
}

TEST(Seccomp, PlanRejectsInconsistentModels)
{
    EXPECT_FALSE(plan_seccomp(process_with({ { 5 } }, { filter(1) })).has_value());
    auto strict_with_filters = process_with({ { 0 } }, { filter(1) });
    strict_with_filters.threads[0].state.seccomp_mode = SeccompMode::Strict;
    EXPECT_FALSE(plan_seccomp(strict_with_filters).has_value());
    auto filter_mode_empty = process_with({ {} }, {});
    filter_mode_empty.threads[0].state.seccomp_mode = SeccompMode::Filter;
    EXPECT_FALSE(plan_seccomp(filter_mode_empty).has_value());
}

TEST(Seccomp, InstallPointFollowsTheFinalCredentials)
{
    Process p;
    EXPECT_EQ(seccomp_point(p), SeccompPoint::BeforeCredentials);
    p.credentials.no_new_privs = true;
    EXPECT_EQ(seccomp_point(p), SeccompPoint::AfterCredentials);
    p.credentials.no_new_privs = false;
    p.credentials.cap_effective = 1ULL << 21; // CAP_SYS_ADMIN
    EXPECT_EQ(seccomp_point(p), SeccompPoint::AfterCredentials);
}

TEST(Seccomp, UserNotifIsNamed)
{
    EXPECT_EQ(seccomp_filter_problem(filter(0x7fff0000)), "");
    EXPECT_EQ(seccomp_filter_problem(filter(0x00050001)), "");
    EXPECT_NE(seccomp_filter_problem(filter(0x7fc00000)).find("SECCOMP_RET_USER_NOTIF"), std::string::npos);
    // The same constant loaded into A (not returned) is no notifier.
    SeccompFilter loaded;
    loaded.program = { { BPF_LD | BPF_IMM, 0, 0, 0x7fc00000 }, { BPF_RET | BPF_K, 0, 0, 0x7fff0000 } };
    EXPECT_EQ(seccomp_filter_problem(loaded), "");
}

TEST(Seccomp, ImageRecordsRoundTrip)
{
    auto p = process_with({ { 0, 1 }, { 0 }, {} }, { filter(0x00050001, true), filter(0x7fff0000) });
    p.threads[2].state.seccomp_mode = SeccompMode::Strict;
    p.state.seccomp_filters[1].program.push_back({ 0x15, 3, 250, 0xdeadbeef });
    auto text = encode_process(p);
    auto back = MUST(decode_process(text));
    EXPECT_EQ(back.state.seccomp_filters, p.state.seccomp_filters);
    ASSERT_EQ(back.threads.size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(back.threads[i].state.seccomp_mode, p.threads[i].state.seccomp_mode) << i;
        EXPECT_EQ(back.threads[i].state.seccomp_chain, p.threads[i].state.seccomp_chain) << i;
    }
    // The program is the kernel's struct sock_filter array, little-endian, in hex.
    auto j = nlohmann::json::parse(text);
    EXPECT_EQ(j["task"]["seccomp_filters"][1]["program"].get<std::string>(),
              "2000000000000000060000000000ff7f150003faefbeadde");
}

TEST(Seccomp, ImageRecordsAreChecked)
{
    auto p = process_with({ { 0 } }, { filter(1) });
    auto j = nlohmann::json::parse(encode_process(p));
    auto bad_index = j;
    bad_index["threads"][0]["task"]["seccomp"]["filters"] = { 1 };
    EXPECT_FALSE(decode_process(bad_index.dump()).has_value());
    auto bad_mode = j;
    bad_mode["threads"][0]["task"]["seccomp"]["mode"] = 3;
    EXPECT_FALSE(decode_process(bad_mode.dump()).has_value());
    auto bad_program = j;
    bad_program["task"]["seccomp_filters"][0]["program"] = "0600000000";
    EXPECT_FALSE(decode_process(bad_program.dump()).has_value());
    auto empty_program = j;
    empty_program["task"]["seccomp_filters"][0]["program"] = "";
    EXPECT_FALSE(decode_process(empty_program.dump()).has_value());
}

TEST(Seccomp, StatusLines)
{
    auto s = MUST(sys::parse_seccomp_status(
        "Name:\tx\nNoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t3\nSpeculation_Store_Bypass:\tx\n"));
    EXPECT_EQ(s.mode, 2);
    EXPECT_EQ(s.filters, 3);
    auto none = MUST(sys::parse_seccomp_status("Name:\tx\n"));
    EXPECT_EQ(none.mode, 0);
    EXPECT_EQ(none.filters, 0);
    EXPECT_FALSE(sys::parse_seccomp_status("Seccomp:\tx\n").has_value());
    EXPECT_FALSE(sys::parse_seccomp_status("Seccomp:\t7\n").has_value());
}

// The value is the rest of its line after blanks, a whole decimal int (pinned when the parser
// moved onto sys/text.h), and the error says which line.
TEST(Seccomp, StatusLineValues)
{
    EXPECT_EQ(MUST(sys::parse_seccomp_status("Seccomp:  \t1")).mode, 1); // no newline at the end
    EXPECT_EQ(MUST(sys::parse_seccomp_status("XSeccomp:\t5\nSeccomp:\t1\n")).mode, 1); // at a line start only
    EXPECT_EQ(sys::parse_seccomp_status("Seccomp:\t2 \n").error().message(), "bad Seccomp: line");
    EXPECT_EQ(sys::parse_seccomp_status("Seccomp:\t2\t\n").error().message(), "bad Seccomp: line");
    EXPECT_EQ(sys::parse_seccomp_status("Seccomp:\t+2\n").error().message(), "bad Seccomp: line");
    EXPECT_EQ(sys::parse_seccomp_status("Seccomp:\t99999999999\n").error().message(), "bad Seccomp: line");
    EXPECT_EQ(sys::parse_seccomp_status("Seccomp:\t\nSeccomp_filters:\t1\n").error().message(), "bad Seccomp: line");
    EXPECT_EQ(sys::parse_seccomp_status("Seccomp: \t").error().message(), "Seccomp: without a value");
    EXPECT_EQ(sys::parse_seccomp_status("Seccomp:\t1\nSeccomp_filters:\t-1\n").error().message(),
              "bad seccomp mode 1 or filter count -1");
}
