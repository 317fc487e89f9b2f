#include <gtest/gtest.h>

#include "base/error.h"
#include "base/scope_guard.h"

using namespace cryo;

namespace {

Result<int> parse_positive(int value)
{
    if (value <= 0)
        return Error::format("{} is not positive", value);
    return value;
}

Result<int> doubled(int value)
{
    auto v = TRY(parse_positive(value).context("parse {}", "x"));
    return v * 2;
}

Result<void> fails_with_errno()
{
    return Error::from_errno(ENOENT, "open /nope");
}

Result<void> wraps()
{
    TRY(fails_with_errno().context("prepare rootfs"));
    return {};
}

} // namespace

TEST(Result, ValuePropagates)
{
    auto r = doubled(21);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, 42);
}

TEST(Result, ErrorCarriesContextOutermostFirst)
{
    auto r = doubled(-1);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "parse x: -1 is not positive");
    EXPECT_EQ(r.error().code(), 0);
}

TEST(Result, ErrnoMessageEndsWithStrerror)
{
    auto r = wraps().context("create web");
    ASSERT_TRUE(r.is_error());
    EXPECT_EQ(r.error().message(), "create web: prepare rootfs: open /nope: No such file or directory");
    EXPECT_TRUE(r.error().is_errno(ENOENT));
}

TEST(Result, MoveOnlyValues)
{
    Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
    ASSERT_TRUE(r);
    auto p = r.release_value();
    EXPECT_EQ(*p, 7);
}

TEST(ScopeGuard, ArmedGuardRunsUnlessDisarmed)
{
    int ran = 0;
    {
        ArmedScopeGuard g([&] { ++ran; });
    }
    {
        ArmedScopeGuard g([&] { ++ran; });
        g.disarm();
    }
    EXPECT_EQ(ran, 1);
}
