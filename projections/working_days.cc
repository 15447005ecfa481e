#include "projections/working_days.h"

#include <algorithm>

namespace casewatch {
namespace {

// The date n weekdays after d, ignoring holidays. Counting from a weekend day gives the same
// answer as counting from the Friday before it, so start there.
Date AddWeekdays(Date d, int n) {
  int w = WeekdayOf(d);
  if (w >= 5) {
    d = d + (4 - w);
    w = 4;
  }
  d = d + (n / 5) * 7;
  const int rem = n % 5;
  return d + (w + rem >= 5 ? rem + 2 : rem);
}

}  // namespace

WorkingCalendar::WorkingCalendar(const std::vector<Date>& holidays) {
  for (Date h : holidays) {
    if (!IsWeekend(h)) weekday_holidays_.push_back(h);
  }
  std::sort(weekday_holidays_.begin(), weekday_holidays_.end());
  weekday_holidays_.erase(std::unique(weekday_holidays_.begin(), weekday_holidays_.end()),
                          weekday_holidays_.end());
}

bool WorkingCalendar::IsWorkingDay(Date d) const {
  return !IsWeekend(d) &&
         !std::binary_search(weekday_holidays_.begin(), weekday_holidays_.end(), d);
}

int WorkingCalendar::CountHolidays(Date after, Date up_to) const {
  auto lo = std::upper_bound(weekday_holidays_.begin(), weekday_holidays_.end(), after);
  auto hi = std::upper_bound(lo, weekday_holidays_.end(), up_to);
  return static_cast<int>(hi - lo);
}

Date WorkingCalendar::AddWorkingDays(Date d, int n) const {
  // (d, result] holds n weekdays; each holiday among them needs one more weekday after result.
  Date result = AddWeekdays(d, n);
  int extra = weekday_holidays_.empty() ? 0 : CountHolidays(d, result);
  while (extra > 0) {
    const Date from = result;
    result = AddWeekdays(from, extra);
    extra = CountHolidays(from, result);
  }
  return result;
}

}  // namespace casewatch
