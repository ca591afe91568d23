#include "okami/schedule/cron.h"

#include <gtest/gtest.h>

#include "common/clock.h"

namespace okami::schedule {
namespace {

Seconds at(const std::string& rfc3339) {
  common::Clock::WallPoint t;
  EXPECT_TRUE(common::parse_rfc3339(rfc3339, &t)) << rfc3339;
  return std::chrono::floor<std::chrono::seconds>(t);
}

std::string text(std::optional<Seconds> t) {
  if (!t) return "none";
  return common::format_rfc3339(common::Clock::WallPoint(*t));
}

CronSchedule cron(const std::string& s) {
  auto c = CronSchedule::parse(s);
  EXPECT_TRUE(c) << s << ": " << (c ? "" : c.error().message);
  return c ? *c : CronSchedule{};
}

TimeZone zone(const std::string& name) {
  auto z = TimeZone::locate(name);
  EXPECT_TRUE(z) << name;
  return z ? *z : TimeZone{};
}

TEST(Cron, EveryMinuteFiresOnTheNextWholeMinute) {
  EXPECT_EQ(text(cron("* * * * *").next(at("2026-12-07T02:15:30Z"), {})), "2026-12-07T02:16:00Z");
  EXPECT_EQ(text(cron("* * * * *").next(at("2026-12-07T02:16:00Z"), {})), "2026-12-07T02:17:00Z");
}

TEST(Cron, FieldsListsRangesAndSteps) {
  EXPECT_EQ(text(cron("*/15 * * * *").next(at("2026-12-07T02:15:00Z"), {})), "2026-12-07T02:30:00Z");
  EXPECT_EQ(text(cron("5,40 3 * * *").next(at("2026-12-07T03:10:00Z"), {})), "2026-12-07T03:40:00Z");
  EXPECT_EQ(text(cron("0 9-17/4 * * *").next(at("2026-12-07T13:00:00Z"), {})), "2026-12-07T17:00:00Z");
  EXPECT_EQ(text(cron("0 9-17/4 * * *").next(at("2026-12-07T17:00:00Z"), {})), "2026-12-08T09:00:00Z");
  EXPECT_EQ(text(cron("30 2 1 * *").next(at("2026-12-07T00:00:00Z"), {})), "2027-01-01T02:30:00Z");
  EXPECT_EQ(text(cron("0 0 * FEB *").next(at("2026-12-07T00:00:00Z"), {})), "2027-02-01T00:00:00Z");
  EXPECT_EQ(text(cron("10/20 * * * *").next(at("2026-12-07T00:31:00Z"), {})), "2026-12-07T00:50:00Z");
}

TEST(Cron, DayOfWeekNamesAndSevenIsSunday) {
  // 2026-12-07 is a Monday.
  EXPECT_EQ(text(cron("0 4 * * sun").next(at("2026-12-07T00:00:00Z"), {})), "2026-12-13T04:00:00Z");
  EXPECT_EQ(text(cron("0 4 * * 7").next(at("2026-12-07T00:00:00Z"), {})), "2026-12-13T04:00:00Z");
  EXPECT_EQ(text(cron("0 4 * * MON-FRI").next(at("2026-12-11T05:00:00Z"), {})), "2026-12-14T04:00:00Z");
}

TEST(Cron, DayOfMonthAndDayOfWeekMatchEitherWhenBothAreRestricted) {
  // The 15th or any Friday (2026-12-11 is a Friday).
  EXPECT_EQ(text(cron("0 0 15 * 5").next(at("2026-12-07T00:00:00Z"), {})), "2026-12-11T00:00:00Z");
  EXPECT_EQ(text(cron("0 0 15 * 5").next(at("2026-12-11T00:00:00Z"), {})), "2026-12-15T00:00:00Z");
  // With a star in either, both must match: a Friday the 13th.
  EXPECT_EQ(text(cron("0 0 13 * */1").next(at("2026-12-07T00:00:00Z"), {})), "2026-12-13T00:00:00Z");
  EXPECT_EQ(text(cron("0 0 ? * 5").next(at("2026-12-07T00:00:00Z"), {})), "2026-12-11T00:00:00Z");
}

TEST(Cron, Macros) {
  const auto t = at("2026-12-07T02:15:00Z");
  EXPECT_EQ(text(cron("@hourly").next(t, {})), "2026-12-07T03:00:00Z");
  EXPECT_EQ(text(cron("@daily").next(t, {})), "2026-12-08T00:00:00Z");
  EXPECT_EQ(text(cron("@midnight").next(t, {})), "2026-12-08T00:00:00Z");
  EXPECT_EQ(text(cron("@weekly").next(t, {})), "2026-12-13T00:00:00Z");
  EXPECT_EQ(text(cron("@monthly").next(t, {})), "2027-01-01T00:00:00Z");
  EXPECT_EQ(text(cron("@yearly").next(t, {})), "2027-01-01T00:00:00Z");
  EXPECT_EQ(text(cron("@annually").next(t, {})), "2027-01-01T00:00:00Z");
}

TEST(Cron, LeapDayAndImpossibleDates) {
  EXPECT_EQ(text(cron("0 0 29 2 *").next(at("2026-12-07T00:00:00Z"), {})), "2028-02-29T00:00:00Z");
  EXPECT_EQ(text(cron("0 0 30 2 *").next(at("2026-12-07T00:00:00Z"), {})), "none");
  EXPECT_EQ(text(cron("0 0 31 4 *").next(at("2026-12-07T00:00:00Z"), {})), "none");
}

TEST(Cron, RejectsMalformedSchedulesNamingTheField) {
  for (const char* bad : {"", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *",
                          "* * 32 * *", "* * * 13 *", "* * * * 8", "5-1 * * * *", "*/0 * * * *",
                          "1,,2 * * * *", "a * * * *", "* * * foo *", "@every 5m", "@reboot",
                          "1-2-3 * * * *", "*/2/3 * * * *", "-1 * * * *"}) {
    auto c = CronSchedule::parse(bad);
    EXPECT_FALSE(c) << "accepted: \"" << bad << "\"";
  }
  auto c = CronSchedule::parse("0 25 * * *");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("hour"), std::string::npos) << c.error().message;
}

TEST(Cron, TimeZoneShiftsTheWallClock) {
  // 03:00 in Berlin is 02:00 UTC in winter (CET, +1) and 01:00 UTC in summer (CEST, +2).
  const auto berlin = zone("Europe/Berlin");
  EXPECT_EQ(text(cron("0 3 * * *").next(at("2026-12-07T00:00:00Z"), berlin)), "2026-12-07T02:00:00Z");
  EXPECT_EQ(text(cron("0 3 * * *").next(at("2026-07-01T00:00:00Z"), berlin)), "2026-07-01T01:00:00Z");
  const auto ny = zone("America/New_York");
  EXPECT_EQ(text(cron("@daily").next(at("2026-12-07T00:00:00Z"), ny)), "2026-12-07T05:00:00Z");
}

TEST(Cron, AWallClockTimeSkippedByDaylightSavingFiresRightAfterTheJump) {
  // Europe/Berlin springs forward on 2026-03-29: 02:00 CET becomes 03:00 CEST (01:00 UTC).
  const auto berlin = zone("Europe/Berlin");
  const auto s = cron("30 2 * * *");
  EXPECT_EQ(text(s.next(at("2026-03-28T12:00:00Z"), berlin)), "2026-03-29T01:00:00Z");
  // Once, and then 02:30 CEST the day after.
  EXPECT_EQ(text(s.next(at("2026-03-29T01:00:00Z"), berlin)), "2026-03-30T00:30:00Z");
  // Every minute across the jump: 01:59 CET is followed by 03:00 CEST, nothing in between twice.
  const auto every = cron("* * * * *");
  EXPECT_EQ(text(every.next(at("2026-03-29T00:59:00Z"), berlin)), "2026-03-29T01:00:00Z");
  EXPECT_EQ(text(every.next(at("2026-03-29T01:00:00Z"), berlin)), "2026-03-29T01:01:00Z");
}

TEST(Cron, AWallClockTimeThatRepeatsFiresOnlyOnItsFirstOccurrence) {
  // Europe/Berlin falls back on 2026-10-25: 03:00 CEST becomes 02:00 CET (01:00 UTC); 02:30
  // happens at 00:30 UTC and again at 01:30 UTC.
  const auto berlin = zone("Europe/Berlin");
  const auto s = cron("30 2 * * *");
  EXPECT_EQ(text(s.next(at("2026-10-24T12:00:00Z"), berlin)), "2026-10-25T00:30:00Z");
  EXPECT_EQ(text(s.next(at("2026-10-25T00:30:00Z"), berlin)), "2026-10-26T01:30:00Z");
  // Hourly through the repeated hour: 02:00 CEST, then 03:00 CET, not 02:00 CET in between.
  const auto hourly = cron("0 * * * *");
  EXPECT_EQ(text(hourly.next(at("2026-10-25T00:00:00Z"), berlin)), "2026-10-25T02:00:00Z");
}

TEST(Cron, UnknownTimeZonesAreRejected) {
  for (const char* bad : {"Mars/Olympus", "Europe/Berlinn", "../../etc/passwd", "CEST+2", "Local"}) {
    auto z = TimeZone::locate(bad);
    ASSERT_FALSE(z) << bad;
    EXPECT_NE(z.error().message.find("unknown time zone"), std::string::npos);
  }
  EXPECT_TRUE(TimeZone::locate("UTC"));
  EXPECT_TRUE(TimeZone::locate("Asia/Kolkata"));
}

TEST(Cron, HalfHourZones) {
  // Asia/Kolkata is +05:30: midnight there is 18:30 UTC the day before.
  EXPECT_EQ(text(cron("@daily").next(at("2026-12-07T00:00:00Z"), zone("Asia/Kolkata"))),
            "2026-12-07T18:30:00Z");
}

TEST(Cron, LatestFindsTheMostRecentFireWithoutWalkingAYear) {
  const auto s = cron("* * * * *");
  EXPECT_EQ(text(s.latest(at("2025-01-01T00:00:00Z"), at("2026-12-07T02:15:30Z"), {})),
            "2026-12-07T02:15:00Z");
  EXPECT_EQ(text(s.latest(at("2026-12-07T02:15:00Z"), at("2026-12-07T02:15:59Z"), {})), "none");
  EXPECT_EQ(text(cron("@monthly").latest(at("2020-01-01T00:00:00Z"), at("2026-12-07T00:00:00Z"), {})),
            "2026-12-01T00:00:00Z");
  EXPECT_EQ(text(cron("@monthly").latest(at("2026-12-01T00:00:00Z"), at("2026-12-07T00:00:00Z"), {})),
            "none");
}

}  // namespace
}  // namespace okami::schedule
