#include "projections/working_days.h"

#include <gtest/gtest.h>

namespace casewatch {
namespace {

Date D(const char* text) { return ParseDate(text).value(); }

TEST(WorkingDays, FridayPlusOneIsMonday) {
  WorkingCalendar calendar({});
  EXPECT_EQ(calendar.AddWorkingDays(D("2013-04-05"), 1), D("2013-04-08"));
  EXPECT_EQ(calendar.AddWorkingDays(D("2013-04-01"), 5), D("2013-04-08"));
  EXPECT_EQ(calendar.AddWorkingDays(D("2013-04-04"), 2), D("2013-04-08"));
}

TEST(WorkingDays, CountingFromAWeekendStartsMonday) {
  WorkingCalendar calendar({});
  EXPECT_EQ(calendar.AddWorkingDays(D("2013-04-06"), 1), D("2013-04-08"));
  EXPECT_EQ(calendar.AddWorkingDays(D("2013-04-07"), 5), D("2013-04-12"));
}

TEST(WorkingDays, HolidaysAreSkippedIncludingChainedOnes) {
  // Easter 2013: Good Friday 29 March, Easter Monday 1 April.
  WorkingCalendar calendar({D("2013-03-29"), D("2013-04-01"), D("2013-03-30")});
  EXPECT_EQ(calendar.AddWorkingDays(D("2013-03-28"), 1), D("2013-04-02"));
  EXPECT_EQ(calendar.AddWorkingDays(D("2013-03-27"), 2), D("2013-04-02"));
  EXPECT_FALSE(calendar.IsWorkingDay(D("2013-04-01")));
  EXPECT_TRUE(calendar.IsWorkingDay(D("2013-04-02")));
}

TEST(WorkingDays, MatchesAStepByStepCountEverywhere) {
  std::vector<Date> holidays;
  for (int d = 15000; d < 16000; d += 11) holidays.push_back(Date{d});
  WorkingCalendar calendar(holidays);
  for (int start = 14990; start < 15900; start += 3) {
    for (int n : {1, 2, 5, 10, 15, 37}) {
      Date d{start};
      for (int k = 0; k < n;) {
        d = d + 1;
        if (calendar.IsWorkingDay(d)) ++k;
      }
      ASSERT_EQ(calendar.AddWorkingDays(Date{start}, n), d) << start << " + " << n;
    }
  }
}

}  // namespace
}  // namespace casewatch
