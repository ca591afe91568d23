#include "common/logging.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/details/log_msg.h>

namespace okami::common {
namespace {

std::string format(bool json, const std::string& text) {
  auto formatter = make_log_formatter(json);
  spdlog::details::log_msg msg("okami", spdlog::level::warn, text);
  spdlog::memory_buf_t out;
  formatter->format(msg, out);
  return std::string(out.data(), out.size());
}

TEST(Logging, JsonLinesStayValidJsonWhateverTheMessageHolds) {
  const std::string nasty = "quote \" backslash \\ newline \n tab \t bell \x07 done";
  auto parsed = nlohmann::json::parse(format(true, nasty));
  EXPECT_EQ(parsed["msg"], nasty);
  EXPECT_EQ(parsed["level"], "warning");
}

TEST(Logging, TextLinesCarryLevelAndMessage) {
  const std::string line = format(false, "hello");
  EXPECT_NE(line.find("warning"), std::string::npos);
  EXPECT_NE(line.find("hello"), std::string::npos);
}

TEST(Logging, UnknownLevelIsRefusedAndSetupCanRunTwice) {
  EXPECT_FALSE(setup_logging("loud", false).has_value());
  EXPECT_TRUE(setup_logging("info", true).has_value());
  EXPECT_TRUE(setup_logging("debug", false).has_value());
}

}  // namespace
}  // namespace okami::common
