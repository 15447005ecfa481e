#include "projections/calendar.h"

#include <fmt/format.h>

#include <charconv>

namespace casewatch {

// Days-from-civil and its inverse after Howard Hinnant's public-domain algorithms.
Date DateFromCivil(CivilDate civil) {
  int32_t y = civil.year - (civil.month <= 2 ? 1 : 0);
  const int32_t era = (y >= 0 ? y : y - 399) / 400;
  const uint32_t yoe = static_cast<uint32_t>(y - era * 400);
  const uint32_t mp = civil.month > 2 ? civil.month - 3 : civil.month + 9;
  const uint32_t doy = (153 * mp + 2) / 5 + civil.day - 1;
  const uint32_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return Date{era * 146097 + static_cast<int32_t>(doe) - 719468};
}

CivilDate CivilFromDate(Date date) {
  const int32_t z = date.days + 719468;
  const int32_t era = (z >= 0 ? z : z - 146096) / 146097;
  const uint32_t doe = static_cast<uint32_t>(z - era * 146097);
  const uint32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int32_t y = static_cast<int32_t>(yoe) + era * 400;
  const uint32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const uint32_t mp = (5 * doy + 2) / 153;
  const uint32_t d = doy - (153 * mp + 2) / 5 + 1;
  const uint32_t m = mp < 10 ? mp + 3 : mp - 9;
  return CivilDate{y + (m <= 2 ? 1 : 0), m, d};
}

namespace {

bool IsLeap(int32_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

uint32_t DaysInMonth(int32_t y, uint32_t m) {
  static constexpr uint32_t kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Reads exactly `width` decimal digits at text[pos].
bool Digits(std::string_view text, size_t pos, size_t width, int32_t& out) {
  if (pos + width > text.size()) return false;
  int32_t v = 0;
  for (size_t i = pos; i < pos + width; ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

bool ParseCivil(std::string_view text, CivilDate& civil) {
  int32_t y, m, d;
  if (!Digits(text, 0, 4, y) || text.size() < 10 || text[4] != '-' || !Digits(text, 5, 2, m) ||
      text[7] != '-' || !Digits(text, 8, 2, d)) {
    return false;
  }
  if (y < 1 || m < 1 || m > 12 || d < 1 || static_cast<uint32_t>(d) > DaysInMonth(y, m))
    return false;
  civil = CivilDate{y, static_cast<uint32_t>(m), static_cast<uint32_t>(d)};
  return true;
}

}  // namespace

Result<Date> ParseDate(std::string_view text) {
  CivilDate civil;
  if (text.size() != 10 || !ParseCivil(text, civil)) {
    return InvalidArgument(fmt::format("'{}' is not a date of the form YYYY-MM-DD", text));
  }
  return DateFromCivil(civil);
}

std::string FormatDate(Date date) {
  const CivilDate c = CivilFromDate(date);
  return fmt::format("{:04}-{:02}-{:02}", c.year, c.month, c.day);
}

Result<Instant> ParseInstant(std::string_view text) {
  auto bad = [&] {
    return InvalidArgument(fmt::format(
        "'{}' is not an RFC 3339 timestamp (e.g. 2013-04-02T09:30:00Z or with an offset +01:00)",
        text));
  };
  CivilDate civil;
  int32_t hh, mm, ss;
  if (text.size() < 20 || !ParseCivil(text, civil) || (text[10] != 'T' && text[10] != 't') ||
      !Digits(text, 11, 2, hh) || text[13] != ':' || !Digits(text, 14, 2, mm) || text[16] != ':' ||
      !Digits(text, 17, 2, ss) || hh > 23 || mm > 59 || ss > 59) {
    return bad();
  }
  size_t pos = 19;
  int32_t nanos = 0;
  if (text[pos] == '.') {
    ++pos;
    size_t digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (++digits > 9) return bad();
      nanos = nanos * 10 + (text[pos] - '0');
      ++pos;
    }
    if (digits == 0) return bad();
    for (size_t i = digits; i < 9; ++i) nanos *= 10;
  }
  if (pos >= text.size()) return bad();
  int64_t offset = 0;
  if (text[pos] == 'Z' || text[pos] == 'z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    int32_t oh, om;
    if (!Digits(text, pos + 1, 2, oh) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
        !Digits(text, pos + 4, 2, om) || oh > 23 || om > 59) {
      return bad();
    }
    offset = (oh * 3600 + om * 60) * (text[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return bad();
  }
  if (pos != text.size()) return bad();
  const int64_t seconds =
      static_cast<int64_t>(DateFromCivil(civil).days) * 86400 + hh * 3600 + mm * 60 + ss - offset;
  Instant t{seconds, nanos};
  if (!IsValidInstant(t)) {
    return InvalidArgument(fmt::format("'{}' is outside the years 0001-9999", text));
  }
  return t;
}

std::string FormatInstant(const Instant& t) {
  const Date date = DateOf(t);
  const int64_t secs = t.seconds - static_cast<int64_t>(date.days) * 86400;
  std::string out = fmt::format("{}T{:02}:{:02}:{:02}", FormatDate(date), secs / 3600,
                                (secs / 60) % 60, secs % 60);
  if (t.nanos != 0) {
    if (t.nanos % 1'000'000 == 0) {
      out += fmt::format(".{:03}", t.nanos / 1'000'000);
    } else if (t.nanos % 1000 == 0) {
      out += fmt::format(".{:06}", t.nanos / 1000);
    } else {
      out += fmt::format(".{:09}", t.nanos);
    }
  }
  out += 'Z';
  return out;
}

}  // namespace casewatch
