// Cron schedules for spec.backup.schedule: five fields (minute hour day-of-month month
// day-of-week) or an @ macro, evaluated in UTC or in an IANA time zone. Pure: parsing and "the
// next fire time after t" take values and return values; the zone rules come from the system's
// tz database (/usr/share/zoneinfo) through Howard Hinnant's date/tz, C++20 chrono's ancestor.
#pragma once

#include <bitset>
#include <chrono>
#include <optional>
#include <string>

#include "common/result.h"

namespace date {
class time_zone;
}  // namespace date

namespace okami::schedule {

using Seconds = std::chrono::sys_seconds;

// A time zone for schedules: UTC, or one zone of the system's tz database.
class TimeZone {
 public:
  TimeZone() = default;  // UTC
  // Errors: kInvalidArgument naming the zone when the tz database has no such zone (or when the
  // database itself is missing).
  static common::Result<TimeZone> locate(const std::string& name);
  const std::string& name() const { return name_; }
  bool is_utc() const { return zone_ == nullptr; }

 private:
  friend class CronSchedule;
  std::string name_ = "UTC";
  const date::time_zone* zone_ = nullptr;  // owned by the process-wide tz database
};

// A parsed schedule. Day-of-month and day-of-week combine as in cron and Kubernetes CronJob:
// when either field starts with `*` (or `?`) both must match; otherwise either may.
class CronSchedule {
 public:
  // Accepts `*`, `?`, numbers, ranges `a-b`, steps `*/n` `a-b/n` `a/n`, lists, month names
  // JAN..DEC and day names SUN..SAT (case-insensitive), day-of-week 0..7 (0 and 7 are Sunday),
  // and @yearly @annually @monthly @weekly @daily @midnight @hourly.
  // Errors: kInvalidArgument with a message naming the field that is wrong.
  static common::Result<CronSchedule> parse(const std::string& text);

  // The first fire time strictly after `after`, in `zone`, on whole minutes. A wall-clock time
  // that does not exist (skipped by a daylight-saving jump) fires at the first instant after the
  // jump; one that exists twice fires once, at its first occurrence. nullopt when nothing matches
  // within five years (for example `0 0 30 2 *`).
  std::optional<Seconds> next(Seconds after, const TimeZone& zone) const;

  // The latest fire time in (after, until], nullopt when none. Costs about as many steps as the
  // schedule has fire times in the last stretch it looks at, never a walk over all of them.
  std::optional<Seconds> latest(Seconds after, Seconds until, const TimeZone& zone) const;

  const std::string& text() const { return text_; }

 private:
  bool matches_day(int day_of_month, int month, int day_of_week) const;
  std::string text_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;     // 1..31
  std::bitset<13> months_;   // 1..12
  std::bitset<7> weekdays_;  // 0..6, Sunday = 0
  bool day_star_ = false;
  bool weekday_star_ = false;
};

}  // namespace okami::schedule
