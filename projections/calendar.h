#pragma once
// Instants and calendar dates, and the text forms the contract uses for them (RFC 3339 instants,
// YYYY-MM-DD dates). Pure functions: no clock, no time zone database. Dates are UTC calendar
// dates, as docs/rules.md sections 3 and 4 defines them.

#include <chrono>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace casewatch {

// A point in time at nanosecond precision, in protobuf Timestamp's range (years 0001-9999).
struct Instant {
  int64_t seconds = 0;  // since 1970-01-01T00:00:00Z
  int32_t nanos = 0;    // [0, 999'999'999]

  friend constexpr auto operator<=>(const Instant&, const Instant&) = default;
};

// A point of the system clock as an Instant (a conversion: the clock is read by the caller).
inline Instant InstantOf(std::chrono::system_clock::time_point t) {
  const auto nanos =
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  const int64_t seconds = nanos / 1000000000 - (nanos % 1000000000 < 0 ? 1 : 0);
  return Instant{seconds, static_cast<int32_t>(nanos - seconds * 1000000000)};
}

inline constexpr int64_t kMinTimestampSeconds = -62135596800;  // 0001-01-01T00:00:00Z
inline constexpr int64_t kMaxTimestampSeconds = 253402300799;  // 9999-12-31T23:59:59Z

constexpr bool IsValidInstant(const Instant& t) {
  return t.seconds >= kMinTimestampSeconds && t.seconds <= kMaxTimestampSeconds && t.nanos >= 0 &&
         t.nanos <= 999'999'999;
}

// A UTC calendar date, counted in days since 1970-01-01.
struct Date {
  int32_t days = 0;

  friend constexpr auto operator<=>(const Date&, const Date&) = default;
  constexpr Date operator+(int32_t n) const { return Date{days + n}; }
  constexpr int32_t operator-(Date other) const { return days - other.days; }
};

struct CivilDate {
  int32_t year;
  uint32_t month;  // 1-12
  uint32_t day;    // 1-31
};

Date DateFromCivil(CivilDate civil);
CivilDate CivilFromDate(Date date);

// The UTC date of an instant.
constexpr Date DateOf(const Instant& t) {
  int64_t days = t.seconds / 86400;
  if (t.seconds % 86400 < 0) --days;
  return Date{static_cast<int32_t>(days)};
}

// Monday = 0 ... Sunday = 6.
constexpr int WeekdayOf(Date date) {
  // 1970-01-01 was a Thursday (3).
  int w = (date.days + 3) % 7;
  return w < 0 ? w + 7 : w;
}

constexpr bool IsWeekend(Date date) { return WeekdayOf(date) >= 5; }

// The last instant of a date (23:59:59.999999999Z).
constexpr Instant EndOfDay(Date date) {
  return Instant{static_cast<int64_t>(date.days) * 86400 + 86399, 999'999'999};
}

// "YYYY-MM-DD", a real calendar date.
[[nodiscard]] Result<Date> ParseDate(std::string_view text);
std::string FormatDate(Date date);

// RFC 3339: "YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+HH:MM|-HH:MM)"; 'T' and 'Z' in either case.
[[nodiscard]] Result<Instant> ParseInstant(std::string_view text);
// UTC with 'Z' and 0, 3, 6 or 9 fractional digits (protobuf's JSON form).
std::string FormatInstant(const Instant& t);

}  // namespace casewatch
