#pragma once
// Working days (docs/rules.md sections 3 and 4): Monday to Friday and not a policy holiday.

#include <vector>

#include "projections/calendar.h"

namespace casewatch {

class WorkingCalendar {
 public:
  // `holidays` need not be sorted; weekend holidays change nothing.
  explicit WorkingCalendar(const std::vector<Date>& holidays);

  bool IsWorkingDay(Date d) const;
  // add_wd(d, n), n >= 1: the date n working days after d (d itself is not counted).
  Date AddWorkingDays(Date d, int n) const;

 private:
  int CountHolidays(Date after, Date up_to) const;  // weekday holidays in (after, up_to]

  std::vector<Date> weekday_holidays_;  // sorted
};

// add_days(d, n): calendar arithmetic.
constexpr Date AddDays(Date d, int n) { return d + n; }

}  // namespace casewatch
