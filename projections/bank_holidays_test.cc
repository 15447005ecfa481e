// The default holidays are England and Wales's bank holidays as the statutory rules and the
// announced exceptions make them: the list is derived here again, independently, and compared.
#include "projections/bank_holidays.h"

#include <gtest/gtest.h>

#include <set>

namespace casewatch {
namespace {

Date D(int32_t y, uint32_t m, uint32_t d) { return DateFromCivil(CivilDate{y, m, d}); }

// Easter Sunday (the Gregorian computus, Meeus/Jones/Butcher).
Date Easter(int32_t y) {
  const int32_t a = y % 19, b = y / 100, c = y % 100, d = b / 4, e = b % 4, f = (b + 8) / 25;
  const int32_t g = (b - f + 1) / 3, h = (19 * a + b - d - g + 15) % 30, i = c / 4, k = c % 4;
  const int32_t l = (32 + 2 * e + 2 * i - h - k) % 7, m = (a + 11 * h + 22 * l) / 451;
  const int32_t month = (h + l - 7 * m + 114) / 31, day = (h + l - 7 * m + 114) % 31 + 1;
  return D(y, static_cast<uint32_t>(month), static_cast<uint32_t>(day));
}

Date FirstMonday(int32_t y, uint32_t m) {
  Date d = D(y, m, 1);
  while (WeekdayOf(d) != 0) d = d + 1;
  return d;
}

Date LastMonday(int32_t y, uint32_t m) {
  Date d = D(y, m + 1, 1) + -1;
  while (WeekdayOf(d) != 0) d = d + -1;
  return d;
}

std::set<Date> ByTheRules(int32_t y) {
  std::set<Date> days;
  Date new_year = D(y, 1, 1);
  while (IsWeekend(new_year)) new_year = new_year + 1;
  days.insert(new_year);
  days.insert(Easter(y) + -2);
  days.insert(Easter(y) + 1);
  days.insert(y == 2020 ? D(2020, 5, 8) : FirstMonday(y, 5));
  if (y == 2002) {
    days.insert(D(2002, 6, 4));
  } else if (y == 2012) {
    days.insert(D(2012, 6, 4));
  } else if (y == 2022) {
    days.insert(D(2022, 6, 2));
  } else {
    days.insert(LastMonday(y, 5));
  }
  days.insert(LastMonday(y, 8));
  // Christmas and Boxing Day: a weekend one moves to the next weekday not already taken.
  Date christmas = D(y, 12, 25);
  Date boxing = D(y, 12, 26);
  if (IsWeekend(christmas)) christmas = christmas + (WeekdayOf(christmas) == 5 ? 2 : 1);
  if (IsWeekend(boxing) || boxing == christmas) {
    boxing = boxing + 1;
    while (IsWeekend(boxing) || boxing == christmas) boxing = boxing + 1;
  }
  days.insert(christmas);
  days.insert(boxing);
  for (const Date extra : {D(2002, 6, 3), D(2011, 4, 29), D(2012, 6, 5), D(2022, 6, 3),
                           D(2022, 9, 19), D(2023, 5, 8)}) {
    if (CivilFromDate(extra).year == y) days.insert(extra);
  }
  return days;
}

TEST(BankHolidays, TheListIsWhatTheRulesAndExceptionsGiveForEveryYearFrom2000To2035) {
  std::set<Date> expected;
  for (int32_t y = 2000; y <= 2035; ++y) {
    const std::set<Date> year = ByTheRules(y);
    expected.insert(year.begin(), year.end());
  }
  const std::vector<Date>& list = EnglandAndWalesBankHolidays();
  EXPECT_EQ(std::set<Date>(list.begin(), list.end()), expected);
  EXPECT_TRUE(std::is_sorted(list.begin(), list.end()));
  EXPECT_EQ(list.size(), expected.size());
}

TEST(BankHolidays, KnownDays) {
  const std::vector<Date>& list = EnglandAndWalesBankHolidays();
  const std::set<Date> days(list.begin(), list.end());
  EXPECT_TRUE(days.count(D(2012, 12, 25)));
  EXPECT_TRUE(days.count(D(2013, 5, 27)));  // spring bank holiday
  EXPECT_TRUE(days.count(D(2020, 5, 8)));   // VE day, early May moved
  EXPECT_TRUE(days.count(D(2022, 9, 19)));  // the Queen's funeral
  EXPECT_FALSE(days.count(D(2020, 5, 4)));
  EXPECT_EQ(list.front(), D(2000, 1, 3));
  EXPECT_EQ(list.back(), D(2035, 12, 26));
}

}  // namespace
}  // namespace casewatch
