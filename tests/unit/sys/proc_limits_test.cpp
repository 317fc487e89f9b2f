#include <gtest/gtest.h>

#include <string>
#include <sys/resource.h>
#include <unistd.h>

#include "sys/file.h"
#include "sys/proc_limits.h"

using namespace cryo;

namespace {

std::string fixture(char const* name)
{
    return MUST(sys::read_file(std::string(CRYO_FIXTURES) + "/" + name));
}

} // namespace

// Written by `prlimit --nofile=100:200 --core=0:unlimited --cpu=7:unlimited
// --rttime=123456:unlimited --msgqueue=4096:819200 cat /proc/self/limits` on Linux 6.18.
TEST(ProcLimits, ParsesEveryLimitByName)
{
    auto limits = MUST(sys::parse_proc_limits(fixture("limits_set.txt")));
    ASSERT_EQ(limits.size(), static_cast<size_t>(RLIM_NLIMITS));
    for (int r = 0; r < RLIM_NLIMITS; ++r)
        EXPECT_EQ(limits[r].resource, r);
    EXPECT_EQ(limits[RLIMIT_CPU].soft, 7u);
    EXPECT_EQ(limits[RLIMIT_CPU].hard, RLIM64_INFINITY);
    EXPECT_EQ(limits[RLIMIT_STACK].soft, 8388608u);
    EXPECT_EQ(limits[RLIMIT_CORE].soft, 0u);
    EXPECT_EQ(limits[RLIMIT_NOFILE].soft, 100u);
    EXPECT_EQ(limits[RLIMIT_NOFILE].hard, 200u);
    EXPECT_EQ(limits[RLIMIT_MSGQUEUE].soft, 4096u);
    EXPECT_EQ(limits[RLIMIT_MSGQUEUE].hard, 819200u);
    EXPECT_EQ(limits[RLIMIT_NICE].soft, 0u); // a row without a unit
    EXPECT_EQ(limits[RLIMIT_RTPRIO].hard, 0u);
    EXPECT_EQ(limits[RLIMIT_RTTIME].soft, 123456u);
    EXPECT_EQ(limits[RLIMIT_RTTIME].hard, RLIM64_INFINITY);
}

TEST(ProcLimits, RejectsMissingUnknownOrMalformedRows)
{
    auto text = fixture("limits_set.txt");
    auto without = [&](std::string_view row) {
        auto at = text.find(row);
        auto copy = text;
        copy.erase(at, text.find('\n', at) + 1 - at);
        return copy;
    };
    auto missing = sys::parse_proc_limits(without("Max open files"));
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message().find("Max open files"), std::string::npos) << missing.error().message();

    auto unknown = text + "Max new thing              1                    2                    \n";
    EXPECT_FALSE(sys::parse_proc_limits(unknown));

    auto malformed = text;
    malformed.replace(malformed.find("100                  200"), 3, "1x0");
    EXPECT_FALSE(sys::parse_proc_limits(malformed));

    EXPECT_FALSE(sys::parse_proc_limits(""));
    EXPECT_FALSE(sys::parse_proc_limits(text.substr(text.find('\n') + 1))); // no header
}

// The live file agrees with getrlimit for every resource of this process.
TEST(ProcLimits, SameAsGetrlimit)
{
    auto limits = MUST(sys::read_proc_limits(::getpid()));
    for (int r = 0; r < RLIM_NLIMITS; ++r) {
        struct rlimit64 l { };
        ASSERT_EQ(::prlimit64(0, static_cast<__rlimit_resource>(r), nullptr, &l), 0);
        EXPECT_EQ(limits[r].soft, l.rlim_cur) << "resource " << r;
        EXPECT_EQ(limits[r].hard, l.rlim_max) << "resource " << r;
    }
}
