#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unistd.h>

#include "base/log.h"

using namespace cryo;

namespace {

// The records written to a --log file, one JSON object per line; the logger goes back to
// stderr afterwards.
std::string log_to_file(log::Format format, log::Level min_level, auto&& body)
{
    char path[] = "/tmp/cryo-unit-log-XXXXXX";
    int fd = mkstemp(path);
    EXPECT_GE(fd, 0);
    ::close(fd);
    log::configure({ .path = path, .format = format, .min_level = min_level });
    body();
    log::configure({});
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    ::unlink(path);
    return text.str();
}

} // namespace

// A statistics record in JSON carries its figures as numbers in "stats" (counts as integers,
// times with three decimals) beside the message; it goes to a --log file even below the
// file's level, as runc's info records do.
TEST(Log, StatsRecordInJson)
{
    auto text = log_to_file(log::Format::Json, log::Level::Warning, [] {
        log::stats(log::Level::Info, "dump 7: \"done\"",
                   { { "pages", 2048 }, { "bytes", 8388608 }, { "frozen_ms", 12.3456 }, { "big", 4294967296.0 } });
    });
    auto record = nlohmann::json::parse(text);
    EXPECT_EQ(record["level"], "info");
    EXPECT_EQ(record["msg"], "dump 7: \"done\"");
    EXPECT_TRUE(record["stats"]["pages"].is_number_integer());
    EXPECT_EQ(record["stats"]["pages"], 2048);
    EXPECT_EQ(record["stats"]["bytes"], 8388608);
    EXPECT_EQ(record["stats"]["big"], 4294967296LL);
    EXPECT_TRUE(record["stats"]["frozen_ms"].is_number_float());
    EXPECT_DOUBLE_EQ(record["stats"]["frozen_ms"].get<double>(), 12.346);
    EXPECT_TRUE(record.contains("time"));
}

// In text the record is the message line alone; and with no --log file and the level off,
// nothing is written.
TEST(Log, StatsRecordInTextAndWhenOff)
{
    auto text = log_to_file(log::Format::Text, log::Level::Warning, [] {
        log::stats(log::Level::Info, "restore d: pid 9", { { "pid", 9 } });
    });
    EXPECT_NE(text.find("cryo info: restore d: pid 9\n"), std::string::npos) << text;
    EXPECT_EQ(text.find("stats"), std::string::npos);
    log::configure({ .path = {}, .format = log::Format::Json, .min_level = log::Level::Warning });
    testing::internal::CaptureStderr();
    log::stats(log::Level::Info, "quiet", { { "pid", 9 } });
    EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
    log::configure({});
}
