#include "okami/schedule/cron.h"

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <sstream>
#include <vector>

namespace okami::schedule {

using common::ErrorCode;
using std::chrono::hours;
using std::chrono::minutes;

namespace {

struct FieldSpec {
  const char* name;
  int min;
  int max;
  const std::array<const char*, 13>* names;  // index = value; null entries are not names
};

constexpr std::array<const char*, 13> kMonthNames = {nullptr, "jan", "feb", "mar", "apr", "may", "jun",
                                                     "jul",   "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<const char*, 13> kDayNames = {"sun", "mon", "tue", "wed", "thu", "fri", "sat",
                                                   nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  out.push_back(cur);
  return out;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// A number or a name of `field`; nullopt when it is neither.
std::optional<int> value_of(const std::string& text, const FieldSpec& field) {
  if (text.empty()) return std::nullopt;
  if (std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); })) {
    if (text.size() > 3) return std::nullopt;
    return std::stoi(text);
  }
  if (field.names == nullptr) return std::nullopt;
  const std::string l = lower(text);
  for (std::size_t i = 0; i < field.names->size(); ++i) {
    if ((*field.names)[i] != nullptr && l == (*field.names)[i]) return static_cast<int>(i);
  }
  return std::nullopt;
}

tl::unexpected<common::Error> field_error(const FieldSpec& field, const std::string& item,
                                         const std::string& why) {
  return common::fail(ErrorCode::kInvalidArgument,
                      std::string(field.name) + " field \"" + item + "\": " + why);
}

// Sets the bits of one comma-separated field; `star` is set when an item is `*` or `?`.
common::Status parse_field(const std::string& text, const FieldSpec& field, std::vector<bool>& bits,
                           bool& star) {
  bits.assign(static_cast<std::size_t>(field.max) + 1, false);
  for (const std::string& item : split(text, ',')) {
    if (item.empty()) return field_error(field, text, "empty list item");
    const auto parts = split(item, '/');
    if (parts.size() > 2) return field_error(field, item, "more than one '/'");
    int step = 1;
    if (parts.size() == 2) {
      const auto n = value_of(parts[1], FieldSpec{field.name, 0, 0, nullptr});
      if (!n || *n < 1) return field_error(field, item, "the step must be a positive number");
      step = *n;
    }
    int lo = 0;
    int hi = 0;
    const std::string& range = parts[0];
    if (range == "*" || range == "?") {
      lo = field.min;
      hi = field.max;
      star = true;
    } else {
      const auto bounds = split(range, '-');
      if (bounds.size() > 2) return field_error(field, item, "more than one '-'");
      const auto a = value_of(bounds[0], field);
      if (!a) return field_error(field, item, "not a number or name");
      lo = *a;
      hi = *a;
      if (bounds.size() == 2) {
        const auto b = value_of(bounds[1], field);
        if (!b) return field_error(field, item, "not a number or name");
        hi = *b;
      } else if (parts.size() == 2) {
        hi = field.max;  // "a/n": from a to the end of the range
      }
    }
    if (lo < field.min || hi > field.max) {
      return (field_error(field, item,
                                      "out of range " + std::to_string(field.min) + "-" +
                                          std::to_string(field.max)));
    }
    if (lo > hi) return field_error(field, item, "the range's start is after its end");
    for (int v = lo; v <= hi; v += step) bits[static_cast<std::size_t>(v)] = true;
  }
  return common::ok();
}

std::string expand_macro(const std::string& text) {
  const std::string l = lower(text);
  if (l == "@yearly" || l == "@annually") return "0 0 1 1 *";
  if (l == "@monthly") return "0 0 1 * *";
  if (l == "@weekly") return "0 0 * * 0";
  if (l == "@daily" || l == "@midnight") return "0 0 * * *";
  if (l == "@hourly") return "0 * * * *";
  return "";
}

}  // namespace

common::Result<TimeZone> TimeZone::locate(const std::string& name) {
  TimeZone tz;
  if (name.empty() || name == "UTC" || name == "Etc/UTC") return tz;
  try {
    tz.zone_ = date::locate_zone(name);
  } catch (const std::exception&) {
    return common::fail(ErrorCode::kInvalidArgument,
                        "unknown time zone \"" + name +
                            "\": not in the tz database (an IANA name such as Europe/Berlin or "
                            "America/New_York)");
  }
  tz.name_ = name;
  return tz;
}

common::Result<CronSchedule> CronSchedule::parse(const std::string& text) {
  CronSchedule s;
  s.text_ = text;
  std::string body = text;
  if (!text.empty() && text[0] == '@') {
    body = expand_macro(text);
    if (body.empty()) {
      return common::fail(ErrorCode::kInvalidArgument,
                          "unknown macro \"" + text +
                              "\" (one of @yearly @annually @monthly @weekly @daily @midnight @hourly)");
    }
  }
  std::istringstream in(body);
  std::vector<std::string> fields;
  for (std::string f; in >> f;) fields.push_back(f);
  if (fields.size() != 5) {
    return common::fail(ErrorCode::kInvalidArgument,
                        "a cron schedule has five fields (minute hour day-of-month month "
                        "day-of-week), \"" + text + "\" has " + std::to_string(fields.size()));
  }
  const std::array<FieldSpec, 5> specs = {FieldSpec{"minute", 0, 59, nullptr},
                                          FieldSpec{"hour", 0, 23, nullptr},
                                          FieldSpec{"day-of-month", 1, 31, nullptr},
                                          FieldSpec{"month", 1, 12, &kMonthNames},
                                          FieldSpec{"day-of-week", 0, 7, &kDayNames}};
  std::array<std::vector<bool>, 5> bits;
  std::array<bool, 5> star{};
  for (std::size_t i = 0; i < 5; ++i) {
    if (auto st = parse_field(fields[i], specs[i], bits[i], star[i]); !st) return common::fail(st.error());
  }
  for (std::size_t v = 0; v < 60; ++v) s.minutes_[v] = bits[0][v];
  for (std::size_t v = 0; v < 24; ++v) s.hours_[v] = bits[1][v];
  for (std::size_t v = 1; v < 32; ++v) s.days_[v] = bits[2][v];
  for (std::size_t v = 1; v < 13; ++v) s.months_[v] = bits[3][v];
  for (std::size_t v = 0; v < 7; ++v) s.weekdays_[v] = bits[4][v];
  if (bits[4][7]) s.weekdays_[0] = true;  // 7 is Sunday too
  s.day_star_ = star[2];
  s.weekday_star_ = star[4];
  return s;
}

bool CronSchedule::matches_day(int day_of_month, int month, int day_of_week) const {
  (void)month;
  const bool dom = days_[static_cast<std::size_t>(day_of_month)];
  const bool dow = weekdays_[static_cast<std::size_t>(day_of_week)];
  if (day_star_ || weekday_star_) return dom && dow;
  return dom || dow;
}

std::optional<Seconds> CronSchedule::next(Seconds after, const TimeZone& zone) const {
  using LocalMinutes = date::local_time<minutes>;
  const auto to_local = [&](Seconds t) -> date::local_seconds {
    if (zone.zone_ == nullptr) return date::local_seconds{t.time_since_epoch()};
    return zone.zone_->to_local(t);
  };
  const auto to_sys = [&](LocalMinutes l) -> Seconds {
    const date::local_seconds ls{l};
    if (zone.zone_ == nullptr) return Seconds{ls.time_since_epoch()};
    const date::local_info info = zone.zone_->get_info(ls);
    switch (info.result) {
      case date::local_info::nonexistent:
        return info.second.begin;  // the first instant after the jump
      case date::local_info::ambiguous:
      case date::local_info::unique:
      default:
        return Seconds{ls.time_since_epoch() - info.first.offset};  // the first occurrence
    }
  };

  LocalMinutes l = std::chrono::floor<minutes>(to_local(after)) + minutes(1);
  const auto limit = l + date::years(5);
  while (l < limit) {
    const auto day = std::chrono::floor<date::days>(l);
    const date::year_month_day ymd{day};
    const int month = static_cast<int>(static_cast<unsigned>(ymd.month()));
    if (!months_[static_cast<std::size_t>(month)]) {
      const auto first_of_next = date::year_month_day{ymd.year() / ymd.month() / 1} + date::months(1);
      l = LocalMinutes{date::local_days{first_of_next}};
      continue;
    }
    const int weekday = static_cast<int>(date::weekday{day}.c_encoding());
    if (!matches_day(static_cast<int>(static_cast<unsigned>(ymd.day())), month, weekday)) {
      l = LocalMinutes{day + date::days(1)};
      continue;
    }
    const auto since_midnight = l - LocalMinutes{day};
    const auto hour = std::chrono::duration_cast<hours>(since_midnight).count();
    if (!hours_[static_cast<std::size_t>(hour)]) {
      l = std::chrono::floor<hours>(l) + hours(1);
      continue;
    }
    const auto minute = (since_midnight - hours(hour)).count();
    if (!minutes_[static_cast<std::size_t>(minute)]) {
      l += minutes(1);
      continue;
    }
    const Seconds fire = to_sys(l);
    if (fire > after) return fire;
    l += minutes(1);  // a first occurrence already past, or a skipped time already fired
  }
  return std::nullopt;
}

std::optional<Seconds> CronSchedule::latest(Seconds after, Seconds until, const TimeZone& zone) const {
  if (until <= after) return std::nullopt;
  for (auto window = std::chrono::seconds(hours(1));; window *= 2) {
    const Seconds from = until - after > window ? until - window : after;
    std::optional<Seconds> last;
    for (auto t = next(from, zone); t && *t <= until; t = next(*t, zone)) last = t;
    if (last || from == after) return last;
  }
}

}  // namespace okami::schedule
